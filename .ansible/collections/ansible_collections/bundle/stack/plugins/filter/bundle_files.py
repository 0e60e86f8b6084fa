# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""file_is_current: whether a host already holds a file exactly as a task would write it.

A `template` or `copy` task whose file is unchanged still runs two modules on the
host (`stat`, then `file`), about 0.2 s of CPU each there. A role that writes many
small files reads them all with one `find` (get_checksum: true) and skips each
write whose file already has the same content, mode and owner: what the write
would have reported as "ok" anyway. Anything else (a missing file, another
checksum, mode or owner, a file the find did not list) lets the write run, with
its diff and check mode as usual.
"""

from __future__ import annotations

import hashlib

DOCUMENTATION = r"""
name: file_is_current
short_description: Whether a file found on a host has this content, mode and owner
description:
  - Looks C(path) up in the result of M(ansible.builtin.find) run with O(ansible.builtin.find#module:get_checksum=true)
    and compares its SHA-1 checksum, mode, owner and group with what a task would write.
  - Returns false when the path was not found, so the write runs.
positional: path, content, mode, owner, group
options:
  _input:
    description: The registered result of M(ansible.builtin.find).
    type: dict
    required: true
  path:
    description: The file's absolute path on the host.
    type: str
    required: true
  content:
    description: The file's content as the task would write it (a rendered template, or a file's text).
    type: str
    required: true
  mode:
    description: The mode the task sets, as four octal digits.
    type: str
    required: true
  owner:
    description: The owner the task sets.
    type: str
    default: root
  group:
    description: The group the task sets.
    type: str
    default: root
"""

EXAMPLES = r"""
- name: Read the role's files on this host
  ansible.builtin.find:
    paths: /etc/default
    patterns: "prometheus-*"
    get_checksum: true
  register: found
  check_mode: false

- name: Write the exporter's settings
  ansible.builtin.copy:
    content: "{{ content }}"
    dest: /etc/default/prometheus-node-exporter
    owner: root
    group: root
    mode: "0644"
  vars:
    content: "{{ lookup('ansible.builtin.template', 'etc/default/prometheus-exporter.j2') }}"
  when: not found | bundle.stack.file_is_current('/etc/default/prometheus-node-exporter', content, '0644')
"""

RETURN = r"""
_value:
  description: True when the file exists with exactly this content, mode, owner and group.
  type: bool
"""


def file_is_current(found, path, content, mode, owner='root', group='root'):
    for entry in (found or {}).get('files') or []:
        if entry.get('path') == path:
            checksum = hashlib.sha1(str(content).encode('utf-8')).hexdigest()  # noqa: S324 - find's checksum is SHA-1
            return (entry.get('checksum') == checksum and entry.get('mode') == mode
                    and entry.get('pw_name') == owner and entry.get('gr_name') == group)
    return False


class FilterModule:
    def filters(self):
        return {'file_is_current': file_is_current}
