#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

# Ansible modules keep their documentation ahead of the imports.

DOCUMENTATION = r'''
---
module: health_report
short_description: Summarise health_probe results as a table and a JUnit XML file
description:
  - Takes the registered results of M(bundle.stack.health_probe) tasks, builds a fixed-width
    table (host, service, kind, verdict, elapsed, detail) and counts the verdicts.
  - Optionally writes the results as a JUnit XML file, one test case per
    result, so CI shows failed health checks as failed tests.
  - Never fails because of V(fail) verdicts; the playbook decides what to do
    with RV(counts).
  - "Meant to run on the control node, for example with C(delegate_to: localhost)
    and C(run_once: true)."
version_added: "1.0.0"
author:
  - Bundle maintainers (@bundle-maintainers)
options:
  results:
    description:
      - Results of M(bundle.stack.health_probe), as registered (a loop's C(results) list works).
      - Each may carry an C(inventory_host) key, shown instead of the probed C(host).
      - A result without a verdict counts as V(fail), or as V(skip) when it was skipped.
    type: list
    elements: dict
    required: true
  junit_path:
    description:
      - Where to write the JUnit XML file. Missing parent directories are created.
      - The file is only rewritten when its content changes.
    type: path
  title:
    description:
      - Name of the report, used as the JUnit test suite name.
    type: str
    default: smoke
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: In check mode the JUnit file is not written; the result says whether it would change.
  diff_mode:
    support: none
  platform:
    platforms: posix
'''

EXAMPLES = r'''
- name: Probe every service
  bundle.stack.health_probe:
    kind: "{{ item.kind }}"
    port: "{{ item.port }}"
    service: "{{ item.name }}"
    timeout: 10
  loop: "{{ smoke_checks }}"
  register: smoke_probes
  ignore_errors: true

- name: Tag each result with the host it ran on
  ansible.builtin.set_fact:
    smoke_results: "{{ smoke_probes.results | map('combine', {'inventory_host': inventory_hostname}) | list }}"

- name: Report
  bundle.stack.health_report:
    title: smoke
    results: "{{ ansible_play_hosts | map('extract', hostvars, 'smoke_results') | flatten }}"
    junit_path: "{{ playbook_dir }}/../reports/smoke.xml"
  delegate_to: localhost
  run_once: true
  register: smoke_report

- name: Show the table
  ansible.builtin.debug:
    msg: "{{ smoke_report.table }}"
  run_once: true

- name: Fail the run when a check failed
  ansible.builtin.assert:
    that: smoke_report.counts.fail == 0
    fail_msg: "{{ smoke_report.msg }}"
  run_once: true
'''

RETURN = r'''
table:
  description: Header and one line per result, columns padded to a fixed width.
  returned: always
  type: list
  elements: str
  sample:
    - "HOST  SERVICE   KIND      VERDICT  ELAPSED  DETAIL"
    - "pg1   postgres  postgres  PASS     0.05 s   pg1 postgres: passed after 1 attempt in 0.1 s"
counts:
  description: Number of results per verdict, and in total.
  returned: always
  type: dict
  sample: {"pass": 3, "warn": 1, "fail": 0, "skip": 0, "total": 4}
junit_path:
  description: Path of the JUnit XML file, or null when O(junit_path) is not set.
  returned: always
  type: str
  sample: /srv/bundle/reports/smoke.xml
msg:
  description: One-line summary of the counts.
  returned: always
  type: str
  sample: "smoke: 3 pass, 1 warn, 0 fail, 0 skip (4 total)"
'''

import os
import tempfile
import xml.etree.ElementTree as ET

from ansible.module_utils.basic import AnsibleModule

VERDICTS = ('pass', 'warn', 'fail', 'skip')
COLUMNS = ('HOST', 'SERVICE', 'KIND', 'VERDICT', 'ELAPSED', 'DETAIL')


def first_line(text):
    return text.strip().splitlines()[0] if text.strip() else ''


def report_row(result):
    """One health_probe result as a flat row; tolerates results of failed or skipped tasks."""
    verdict = result.get('verdict')
    if verdict not in VERDICTS:
        verdict = 'skip' if result.get('skipped') else 'fail'
    message = result.get('msg') or ''
    if not message and verdict == 'fail':
        message = 'no health_probe verdict in this result'
    # health_probe returns probe_warnings; "warnings" is accepted for hand-made results.
    warnings = list(result.get('probe_warnings') or result.get('warnings') or [])
    if verdict == 'warn' and warnings:
        detail = '; '.join(warnings)
    else:
        detail = first_line(message) or verdict
    return dict(
        host=str(result.get('inventory_host') or result.get('host') or '-'),
        service=str(result.get('service') or result.get('kind') or '-'),
        kind=str(result.get('kind') or '-'),
        verdict=verdict,
        elapsed=float(result.get('elapsed') or 0),
        detail=detail,
        message=message,
        warnings=warnings,
    )


def count_verdicts(rows):
    counts = dict.fromkeys(VERDICTS, 0)
    for row in rows:
        counts[row['verdict']] += 1
    counts['total'] = len(rows)
    return counts


def format_table(rows):
    lines = [COLUMNS] + [
        (row['host'], row['service'], row['kind'], row['verdict'].upper(), f"{row['elapsed']:.2f} s", row['detail'])
        for row in rows]
    widths = [max(len(line[column]) for line in lines) for column in range(len(COLUMNS))]
    return ['  '.join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
            for line in lines]


def junit_xml(title, rows, counts):
    """JUnit XML text. No timestamp, so identical results give an identical file."""
    total_time = sum(row['elapsed'] for row in rows)
    suite = ET.Element('testsuite', name=title, tests=str(counts['total']), failures=str(counts['fail']),
                       errors='0', skipped=str(counts['skip']), time=f'{total_time:.2f}')
    for row in rows:
        # Dots in a classname read as packages in CI tools, so host IPs lose theirs.
        classname = f"{title}.{row['host'].replace('.', '_')}"
        name = f"{row['host']} {row['service']} ({row['kind']})"
        case = ET.SubElement(suite, 'testcase', classname=classname, name=name, time=f"{row['elapsed']:.2f}")
        if row['verdict'] == 'fail':
            failure = ET.SubElement(case, 'failure', message=row['detail'], type='fail')
            failure.text = row['message']
        elif row['verdict'] == 'skip':
            ET.SubElement(case, 'skipped', message=row['detail'])
        elif row['verdict'] == 'warn':
            output = ET.SubElement(case, 'system-out')
            output.text = '\n'.join(f'WARNING: {warning}' for warning in row['warnings'] or [row['detail']])
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding='unicode') + '\n'


def write_if_changed(module, path, content):
    """Write content to path atomically unless it is already there; True if it changed."""
    data = content.encode('utf-8')
    try:
        with open(path, 'rb') as current:
            if current.read() == data:
                return False
    except FileNotFoundError:
        pass
    if module.check_mode:
        return True
    directory = os.path.dirname(path) or '.'
    os.makedirs(directory, exist_ok=True)
    # Same directory as the target, so atomic_move is a rename.
    handle, temp_path = tempfile.mkstemp(prefix='.health_report-', dir=directory)
    with os.fdopen(handle, 'wb') as temp_file:
        temp_file.write(data)
    module.atomic_move(temp_path, path)
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            results=dict(type='list', elements='dict', required=True),
            junit_path=dict(type='path'),
            title=dict(type='str', default='smoke'),
        ),
        supports_check_mode=True,
    )
    title = module.params['title']
    junit_path = module.params['junit_path']

    rows = [report_row(result) for result in module.params['results']]
    counts = count_verdicts(rows)
    changed = False
    if junit_path:
        try:
            changed = write_if_changed(module, junit_path, junit_xml(title, rows, counts))
        except OSError as exc:
            module.fail_json(msg=f'Cannot write the JUnit report {junit_path}: {exc}. Check that the directory is '
                                 'writable by the user running Ansible.')

    module.exit_json(
        changed=changed,
        table=format_table(rows),
        counts=counts,
        junit_path=junit_path,
        msg=(f"{title}: {counts['pass']} pass, {counts['warn']} warn, {counts['fail']} fail, "
             f"{counts['skip']} skip ({counts['total']} total)"),
    )


if __name__ == '__main__':
    main()
