#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

# Ansible modules keep their documentation ahead of the imports.

DOCUMENTATION = r'''
---
module: db_backup_prune
short_description: Verify a copied backup, then apply retention to the copies beside it
description:
  - For copies of M(bundle.stack.db_backup) backups kept elsewhere (the control node, a backup host).
    Checks the copy just made, O(backup), against its manifest (the manifest's own checksum,
    then the size and SHA-256 of every file, no file missing or extra), and only when it is
    intact applies retention to the regular backups of the same engine and database in
    O(backup_dir), as M(bundle.stack.db_backup) does on the database host.
  - A damaged or incomplete copy fails the task and nothing is removed.
  - The copy just made is always kept. Safety backups, other series and hidden entries are
    never touched; a backup being removed is first renamed to a hidden name.
version_added: "1.0.0"
author:
  - Bundle maintainers (@bundle-maintainers)
options:
  backup_dir:
    description: Absolute directory that holds the copies, for example C(<backup_controller_dir>/<host>).
    type: path
    required: true
  backup:
    description: Name of the copy just made (a directory of O(backup_dir)); its engine and database name the series.
    type: str
    required: true
  keep_last:
    description:
      - Keep the newest O(keep_last) regular backups of the series. With O(keep_days) too, a
        backup is kept when either rule keeps it. Unset or V(0) means no count rule.
    type: int
  keep_days:
    description:
      - Keep regular backups that started less than O(keep_days) days ago. Unset or V(0) means
        no age rule. With neither rule set nothing is removed.
    type: int
  jobs:
    description: Threads that hash files.
    type: int
    default: 2
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Verifies the copy (read-only) and reports in RV(removed) what retention would remove.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: bundle.stack.db_backup
  - module: bundle.stack.db_restore
'''

EXAMPLES = r'''
- name: Verify the copy on the control node and keep the last 7 copies of its series
  bundle.stack.db_backup_prune:
    backup_dir: /srv/backups/pg1
    backup: postgresql-app-20250101T020000Z
    keep_last: 7
  delegate_to: localhost
'''

RETURN = r'''
backup_path:
  description: Path of the copy that was verified.
  returned: always
  type: str
  sample: /srv/backups/pg1/postgresql-app-20250101T020000Z
files_verified:
  description: Number of files of the copy whose size and SHA-256 matched its manifest.
  returned: when the copy is intact
  type: int
  sample: 7
damaged:
  description: Files of the copy that did not match, with the reason.
  returned: when the copy is damaged
  type: list
  elements: str
kept:
  description: Regular backups of the series that are kept, newest first.
  returned: when the copy is intact
  type: list
  elements: str
removed:
  description: Backups retention removed (in check mode, would remove).
  returned: when the copy is intact
  type: list
  elements: str
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bundle.stack.plugins.module_utils.backup.catalog import (
    apply_retention,
    check_backup_dir,
    check_name,
)
from ansible_collections.bundle.stack.plugins.module_utils.backup.checksums import describe_problems, verify_tree
from ansible_collections.bundle.stack.plugins.module_utils.backup.engine import BackupError
from ansible_collections.bundle.stack.plugins.module_utils.backup.manifest import read_manifest, utc_now


def main():
    module = AnsibleModule(argument_spec=dict(
        backup_dir=dict(type='path', required=True),
        backup=dict(type='str', required=True),
        keep_last=dict(type='int'),
        keep_days=dict(type='int'),
        jobs=dict(type='int', default=2),
    ), supports_check_mode=True)
    params = module.params
    path = os.path.join(params['backup_dir'], params['backup'])
    result = dict(changed=False, backup_path=path)
    try:
        check_backup_dir(params['backup_dir'])
        check_name(params['backup'])
        if params['jobs'] < 1:
            raise BackupError(f"jobs must be 1 or more, got {params['jobs']}")
        for option in ('keep_last', 'keep_days'):
            if params[option] is not None and params[option] < 0:
                raise BackupError(f'{option} must be 0 or more, got {params[option]}')
        manifest = read_manifest(path)
        problems = verify_tree(path, manifest['files'], params['jobs'])
        if problems:
            result['damaged'] = [f'{relative} {reason}' for relative, reason in problems]
            raise BackupError(describe_problems(path, problems) + '; no copy was removed')
        kept, removed = apply_retention(params['backup_dir'], manifest['engine'], manifest['database'],
                                        params['keep_last'], params['keep_days'], utc_now(),
                                        protect=params['backup'], check_mode=module.check_mode)
    except (BackupError, OSError) as exc:
        module.fail_json(msg=f"Cannot prune the copies of {params['backup']}: {exc}", **result)
    result.update(changed=bool(removed), files_verified=len(manifest['files']), kept=kept, removed=removed,
                  msg=f"copy {path} verified ({len(manifest['files'])} files)"
                      + (f"; {'would remove' if module.check_mode else 'removed'} {', '.join(removed)}"
                         if removed else ''))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
