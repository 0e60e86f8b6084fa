#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

# Ansible modules keep their documentation ahead of the imports.

DOCUMENTATION = r'''
---
module: app_release
short_description: Switch an app host to a release, record its gate verdict, roll it back, with a ledger
description:
  - Keeps the release ledger of an app host (O(ledger), JSON beside the releases), the
    history of every switch of O(install_dir)/current, and performs those switches.
  - O(state=current) points C(current) at the installed release O(version) in one rename and
    records a deploy with its artifact checksum, its migrations and its gate verdict pending.
    A version the ledger already holds with another checksum is refused (a rebuilt artifact
    needs a new version).
  - O(state=judged) records the verdict of the health gate of the current release, with the
    checks that decided it. A release whose gate passed is a rollback target.
  - O(state=rolled_back) points C(current) back at O(to), by default the newest release whose
    gate passed, marks the release it leaves as rolled back with O(reason), and records the
    rollback (its own gate pending). A target that never passed its gate is refused.
  - O(state=history) reads the ledger and changes nothing.
  - Restarting the services after a switch is the playbook's part (the units run
    C(current)).
version_added: "1.0.0"
author:
  - Bundle maintainers (@bundle-maintainers)
options:
  install_dir:
    description: The application's directory, holding C(releases/<version>) and the link C(current).
    type: path
    required: true
  ledger:
    description: The ledger file. Default C(<install_dir>/releases.json).
    type: path
  state:
    description: What to do (see the description).
    type: str
    choices: [current, judged, rolled_back, history]
    default: current
  version:
    description: The release to make current. Required with O(state=current).
    type: str
  checksum:
    description: SHA-256 of the release's artifact. Required with O(state=current).
    type: str
  migrations:
    description: The migrations this release brings (their names), recorded with the deploy.
    type: list
    elements: str
    default: []
  by:
    description: Who deploys or rolls back, recorded in the ledger.
    type: str
    default: ansible
  verdict:
    description: The gate's verdict. Required with O(state=judged).
    type: str
    choices: [passed, failed]
  checks:
    description: The checks that decided the verdict (each a dict, for example check, value, threshold, passed).
    type: list
    elements: dict
    default: []
  reason:
    description:
      - Why; required with O(state=rolled_back) (which check, which number, which threshold), and
        recorded with a failed verdict.
    type: str
  to:
    description: With O(state=rolled_back), the release to return to. Default the newest release whose gate passed.
    type: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads the ledger and the link and reports what would be switched and recorded. A release
        whose directory is not there yet (its install ran in check mode too) is taken as installed.
  diff_mode:
    support: full
    details: The current release before and after, and the ledger lines that change.
  platform:
    platforms: posix
seealso:
  - module: bundle.stack.release_gate
  - module: bundle.stack.schema_rollback
'''

EXAMPLES = r'''
- name: Switch to release 1.1.0
  bundle.stack.app_release:
    install_dir: /opt/refapp
    version: 1.1.0
    checksum: "{{ artifact_sha256 }}"
    migrations: [0003_add_orders]
    by: "{{ lookup('ansible.builtin.env', 'USER') }}"

- name: Record that its gate passed
  bundle.stack.app_release:
    install_dir: /opt/refapp
    state: judged
    verdict: passed
    checks: [{check: error_rate, value: 0.0, threshold: 5.0, passed: true}]

- name: Return to the last release whose gate passed
  bundle.stack.app_release:
    install_dir: /opt/refapp
    state: rolled_back
    reason: "error rate 12.5 % > 5 %"

- name: Read the history
  bundle.stack.app_release:
    install_dir: /opt/refapp
    state: history
  register: releases
'''

RETURN = r'''
current:
  description: The current release after the task (in check mode, would be).
  returned: always
  type: str
  sample: 1.1.0
previous:
  description: The current release before the task.
  returned: always
  type: str
  sample: 1.0.0
switched:
  description: Whether C(current) was (in check mode, would be) pointed at another release.
  returned: always
  type: bool
record:
  description: The ledger record written or updated (in check mode, would be).
  returned: when something changed
  type: dict
releases:
  description:
    - Every record of the ledger, oldest first (version, checksum, action, previous, at, by,
      migrations, gate, rolled_back).
  returned: always
  type: list
  elements: dict
passed:
  description: Every version whose gate passed on this host, sorted (the possible rollback targets).
  returned: always
  type: list
  elements: str
last_passed:
  description: The newest release other than the current one whose gate passed, the default rollback target.
  returned: always
  type: str
migrations:
  description:
    - The migrations each version brought, from its deploy record (a rollback record brings none),
      by version. The rollback of a release undoes those the release rolled back to does not have.
  returned: always
  type: dict
  sample: {"1.0.0": ["0001_items", "0002_job_results"], "1.2.0": ["0001_items", "0002_job_results", "0003_labels"]}
table:
  description: The history, one line per switch.
  returned: always
  type: list
  elements: str
'''

import copy
import functools
import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bundle.stack.plugins.module_utils.release.ledger import (
    Ledger,
    ReleaseError,
    check_installed,
    current_version,
    switch,
    table,
    utc_now,
)

SHA256 = re.compile(r'^[0-9a-f]{64}$')


def make_current(ledger, params, current, check_mode):
    version, checksum = params['version'], params['checksum']
    if not SHA256.match(checksum):
        raise ReleaseError(f'checksum must be 64 lowercase hex digits (a SHA-256), got {checksum!r}')
    known = ledger.checksum_of(version)
    if known and known != checksum:
        raise ReleaseError(f'release {version} was deployed from an artifact with SHA-256 {known}; this artifact '
                           f'has {checksum}: a rebuilt artifact must carry a new version. Nothing was switched')
    # In check mode the install before this task did not run: a release not there yet would be.
    if not (check_mode and not os.path.isdir(os.path.join(params['install_dir'], 'releases', version))):
        check_installed(params['install_dir'], version)
    if current == version and ledger.last and ledger.last['version'] == version:
        return None, False
    return ledger.add('deploy', version, checksum, current, params['by'], params['migrations']), current != version


def judge(ledger, params, current):
    record = ledger.last
    if record is None or record['version'] != current:
        raise ReleaseError(f'the ledger has no record of the current release {current}: switch to it with '
                           'state=current first')
    if record['gate']['verdict'] == params['verdict']:
        return None, False
    record['gate'] = dict(verdict=params['verdict'], at=utc_now(), checks=params['checks'], reason=params['reason'])
    return record, False


def roll_back(ledger, params, current):
    if not params['reason']:
        raise ReleaseError('reason is required with state=rolled_back: say which check failed, with its number '
                           'and threshold')
    target = params['to'] or (ledger.last_passed(other_than=current) or {}).get('version')
    if target is None:
        raise ReleaseError(f'no release other than {current} passed its gate: there is nothing to roll back to')
    if target == current:
        return None, False
    if target not in ledger.passed_versions():
        raise ReleaseError(f'the rollback target {target} never passed its gate: name a release that did '
                           f'(passed: {ledger.passed_versions()})')
    check_installed(params['install_dir'], target)
    if ledger.last and ledger.last['version'] == current:
        ledger.last['rolled_back'] = dict(at=utc_now(), to=target, reason=params['reason'])
    return ledger.add('rollback', target, ledger.checksum_of(target), current, params['by']), True


def main():
    module = AnsibleModule(argument_spec=dict(
        install_dir=dict(type='path', required=True),
        ledger=dict(type='path'),
        state=dict(type='str', default='current', choices=['current', 'judged', 'rolled_back', 'history']),
        version=dict(type='str'),
        checksum=dict(type='str'),
        migrations=dict(type='list', elements='str', default=[]),
        by=dict(type='str', default='ansible'),
        verdict=dict(type='str', choices=['passed', 'failed']),
        checks=dict(type='list', elements='dict', default=[]),
        reason=dict(type='str'),
        to=dict(type='str'),
    ), required_if=[('state', 'current', ('version', 'checksum')), ('state', 'judged', ('verdict',))],
        supports_check_mode=True)
    params = module.params
    actions = {'current': functools.partial(make_current, check_mode=module.check_mode), 'judged': judge,
               'rolled_back': roll_back}
    path = params['ledger'] or os.path.join(params['install_dir'], 'releases.json')
    current = current_version(params['install_dir'])
    result = dict(changed=False, previous=current, current=current, switched=False)
    try:
        ledger = Ledger(path)
        before = copy.deepcopy(ledger.records)
        record, switched = (None, False) if params['state'] == 'history' else \
            actions[params['state']](ledger, params, current)
        if record is not None:
            result.update(changed=True, record=record, switched=switched,
                          current=record['version'] if switched else current)
            if not module.check_mode:
                if switched:
                    switch(params['install_dir'], record['version'])
                ledger.save()
    except (ReleaseError, OSError) as exc:
        module.fail_json(msg=f"Release {params['state']} on {params['install_dir']}: {exc}", **result)
    result.update(releases=ledger.records, table=table(ledger.records), passed=ledger.passed_versions(),
                  last_passed=(ledger.last_passed(other_than=result['current']) or {}).get('version'),
                  migrations=ledger.migrations_by_version())
    if module._diff and result['changed']:
        result['diff'] = dict(before=f"current: {current}\n" + ''.join(f'{row}\n' for row in table(before)),
                              after=f"current: {result['current']}\n" + ''.join(f'{row}\n' for row in result['table']))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
