#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

# Ansible modules keep their documentation ahead of the imports.

DOCUMENTATION = r'''
---
module: db_restore
short_description: Restore or verify a backup made by db_backup, proving it with checksums and row counts
description:
  - Runs on the database host. Picks a backup of O(backup_dir) by name or the latest one,
    checks the manifest's own checksum and the SHA-256 of every file listed in it
    B(before touching anything), and refuses a damaged backup, naming the file.
  - O(mode=restore) restores into O(target) (by default the database the backup was taken
    of). When the target exists the restore is refused unless O(replace=true); with it,
    a safety backup of the target is taken first (in O(safety_backup_dir)).
  - After the restore every table's row count is compared with the manifest, and any
    table that differs is reported and fails the task.
  - V(postgresql) restores into a new scratch database with C(pg_restore --exit-on-error
    --jobs), compares the counts there, and only then renames it to the target (with
    O(replace), swaps it with the target and drops the replaced database; its data is in
    the safety backup). Any failure drops the scratch database, so the target stays as it was.
    Roles of the backup's globals that do not exist are created first (O(globals)).
  - V(mysql) loads into the new target database, or with O(replace) into the emptied
    target; on any failure a new target is dropped and a replaced one is reloaded from
    the safety backup.
  - V(redis) replaces the dataset (the server is stopped, the RDB put in place and, with
    AOF on, the append-only base rebuilt from it, then started); a non-empty server needs
    O(replace). On failure the previous files are put back.
  - O(mode=verify) restores into a scratch database, compares, drops it and reports; the
    target is never touched (V(postgresql) and V(mysql)).
  - A target already restored from the same backup (the module marks it) is left alone and
    the task reports no change, unless O(replace=true) (V(postgresql)).
version_added: "1.0.0"
author:
  - Bundle maintainers (@bundle-maintainers)
options:
  engine:
    description:
      - Database engine.
      - V(postgres) is the old name of V(postgresql); it is still accepted, with a deprecation
        warning, and will be removed in version 2.0.0 of the collection. Backups whose manifest
        names the engine V(postgres) belong to V(postgresql).
    type: str
    required: true
    choices: [mysql, postgres, postgresql, redis]
  backup_dir:
    description: Absolute directory on the host that holds the backups.
    type: path
    required: true
  backup:
    description:
      - Name of the backup directory, or V(latest) for the newest regular backup of O(engine)
        (and of O(database) when set). Safety backups are never picked as V(latest).
    type: str
    default: latest
  database:
    description:
      - With O(backup=latest), only backups of this database are considered.
      - Default of O(target).
    type: str
  target:
    description:
      - Database to restore into. Defaults to O(database), then to the database of the backup.
    type: str
  replace:
    description:
      - Replace an existing target. A safety backup of it is taken first.
    type: bool
    default: false
  mode:
    description:
      - V(restore) restores into O(target). V(verify) restores into a scratch database,
        compares the row counts and drops it.
    type: str
    choices: [restore, verify]
    default: restore
  safety_backup_dir:
    description:
      - Where the safety backup of a replaced target goes. Defaults to O(backup_dir).
    type: path
  jobs:
    description: Parallel jobs of C(pg_restore), and threads that hash files and count rows.
    type: int
    default: 2
  globals:
    description:
      - V(postgresql) only. V(missing) creates the roles of the backup's C(globals.sql) that do
        not exist yet (with their attributes, password verifiers and memberships) before the
        restore, and drops them again if the restore fails. V(skip) creates none.
        Defaults to V(missing).
    type: str
    choices: [missing, skip]
  maintenance_database:
    description: V(postgresql) only. Database to connect to for administration. Defaults to V(postgres).
    type: str
  unit:
    description: V(redis) only. Systemd unit of the server. Defaults to V(redis-server).
    type: str
  timeout:
    description: V(redis) only. Seconds to wait for the server to load the data. Defaults to V(300).
    type: int
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - bundle.stack.backup
attributes:
  check_mode:
    support: full
    details:
      - Verifies every checksum (read-only) and reports what would be done (RV(plan));
        nothing is created, replaced or dropped.
  diff_mode:
    support: full
    details: The target before (absent, present, or restored from which backup) and after.
  platform:
    platforms: posix
notes:
  - Run it as root (become) on the database host.
  - V(postgresql) restores owners and privileges; database-level settings (C(ALTER DATABASE ...
    SET)) and database grants are not part of a C(pg_dump) without C(--create) and are not restored.
requirements:
  - V(postgresql) pg_restore, and psycopg2 (Debian C(python3-psycopg2)) or psycopg 3.
  - V(mysql) the mariadb or mysql client.
  - V(redis) redis-cli and systemctl.
seealso:
  - module: bundle.stack.db_backup
'''

EXAMPLES = r'''
- name: Restore the latest backup of app (refused if app exists)
  bundle.stack.db_restore:
    engine: postgresql
    backup_dir: /var/backups/bundle
    database: app
    bin_dir: /usr/lib/postgresql/15/bin

- name: Replace app with a named backup (a safety backup of app is taken first)
  bundle.stack.db_restore:
    engine: postgresql
    backup_dir: /var/backups/bundle
    backup: postgresql-app-20250101T020000Z
    replace: true

- name: Prove the latest backup restores, without touching app
  bundle.stack.db_restore:
    engine: postgresql
    backup_dir: /var/backups/bundle
    database: app
    mode: verify
'''

RETURN = r'''
engine:
  description: The engine.
  returned: always
  type: str
  sample: postgresql
mode:
  description: The mode, V(restore) or V(verify).
  returned: always
  type: str
backup:
  description: Name of the backup used.
  returned: when a backup was found
  type: str
  sample: postgresql-app-20250101T020000Z
backup_path:
  description: Its path on the host.
  returned: when a backup was found
  type: str
target:
  description: The database restored into (for O(mode=verify), the one that was checked against).
  returned: when a backup was found
  type: str
  sample: app
files_verified:
  description: Number of files whose SHA-256 matched the manifest.
  returned: when the checksums were verified
  type: int
  sample: 7
damaged:
  description: Files that did not match, with the reason.
  returned: when the backup is damaged
  type: list
  elements: str
  sample: ["data/3342.dat.gz has SHA-256 0c1d..., the manifest says 9f3a..."]
row_counts:
  description: Rows per table after the restore (equal to the manifest's when the task passed).
  returned: after a restore or verification
  type: dict
  sample: {"public.pgbench_accounts": 100000}
tables_verified:
  description: Number of tables whose row counts matched.
  returned: after a restore or verification
  type: int
safety_backup:
  description: Path of the safety backup of the replaced target.
  returned: when a target was replaced
  type: str
plan:
  description: What the restore does (in check mode, would do), step by step.
  returned: when a backup was found
  type: list
  elements: str
steps:
  description: Seconds per step (checksums, safety backup, engine steps).
  returned: after a restore or verification
  type: dict
duration_seconds:
  description: Seconds the module spent, checksum verification included.
  returned: always
  type: float
summary:
  description: One line for reports.
  returned: always
  type: str
  sample: "postgresql app: restored from postgresql-app-20250101T020000Z, 4 tables verified, 3.2 s"
'''

import dataclasses
import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bundle.stack.plugins.module_utils.backup.catalog import check_backup_dir, choose_backup
from ansible_collections.bundle.stack.plugins.module_utils.backup.checksums import describe_problems, verify_tree
from ansible_collections.bundle.stack.plugins.module_utils.backup.engine import (
    BackupError,
    BackupRequest,
    RestoreRequest,
    Steps,
)
from ansible_collections.bundle.stack.plugins.module_utils.backup.manifest import (
    manifest_digest,
    read_manifest,
    restore_marker,
)
from ansible_collections.bundle.stack.plugins.module_utils.backup.registry import (
    engine_for,
    engine_params,
    module_argument_spec,
    unused_options,
)
from ansible_collections.bundle.stack.plugins.module_utils.backup.take import take_backup
from ansible_collections.bundle.stack.plugins.module_utils.engine_word import canonical_engine_name

COMMON_SPEC = dict(
    backup_dir=dict(type='path', required=True),
    backup=dict(type='str', default='latest'),
    database=dict(type='str'),
    target=dict(type='str'),
    replace=dict(type='bool', default=False),
    mode=dict(type='str', default='restore', choices=['restore', 'verify']),
    safety_backup_dir=dict(type='path'),
    jobs=dict(type='int', default=2),
)


def restore(module, engine, params, result, steps):
    root = params['backup_dir']
    verify_only = params['mode'] == 'verify'
    path = choose_backup(root, params['backup'], engine.name, params['database'])
    manifest = read_manifest(path)
    if canonical_engine_name(manifest['engine']) != engine.name:
        raise BackupError(f"{path} is a {manifest['engine']} backup, not {engine.name}")
    target = params['target'] or params['database'] or manifest['database']
    result.update(backup=manifest['name'], backup_path=path, target=target)

    # Every file is checked before anything is touched.
    problems = verify_tree(path, manifest['files'], params['jobs'])
    steps.mark('checksums')
    if problems:
        result['damaged'] = [f'{relative} {reason}' for relative, reason in problems]
        raise BackupError(describe_problems(path, problems) + '; nothing was changed')
    result['files_verified'] = len(manifest['files'])

    marker = restore_marker(manifest, manifest_digest(path))
    exists = engine.target_exists(module, params, target)
    if not verify_only and exists and not params['replace']:
        if engine.restored_from(module, params, target) == marker:
            result['msg'] = (f"{target} was already restored from {manifest['name']}; left as it is "
                             '(replace=true restores it again)')
            result['summary'] = f"{engine.name} {target}: already restored from {manifest['name']}"
            return
        raise BackupError(f'target {target} exists; set replace=true to replace it (a safety backup of it '
                          'is taken first), or choose another target')
    replacing = exists and params['replace'] and not verify_only
    request = RestoreRequest(path=path, manifest=manifest, target=target, replace=replacing, verify_only=verify_only,
                             marker=marker)
    plan = engine.restore_commands(module, params, request)
    if replacing:
        plan.insert(0, f"safety backup of {target} into {params['safety_backup_dir'] or root}")
    result['plan'] = plan
    before = 'absent' if not exists else (engine.restored_from(module, params, target) or 'present')
    if module._diff and not verify_only:
        result['diff'] = dict(before={'target': target, 'state': before},
                              after={'target': target, 'state': marker})
    if module.check_mode:
        result['changed'] = not verify_only
        what = 'verify' if verify_only else ('replace' if replacing else 'restore')
        result['msg'] = f"checksums of {manifest['name']} verified; would {what} {target}: " + '; '.join(plan)
        result['summary'] = f"{engine.name} {target}: would {what} from {manifest['name']}"
        return

    if replacing:
        safety = take_backup(module, engine, BackupRequest(dict(params, database=target),
                                                           params['safety_backup_dir'] or root, kind='safety'))
        result['safety_backup'] = safety['path']
        steps.mark('safety_backup')
        request = dataclasses.replace(request, safety=safety)
    info = engine.restore(module, params, request)
    steps.seconds.update(info['steps'])
    result.update(changed=not verify_only, row_counts=info['row_counts'], tables_verified=len(info['row_counts']),
                  commands=info.get('commands', []))
    done = 'verified' if verify_only else ('replaced' if replacing else 'restored')
    result['msg'] = (f"{done} {target} from {manifest['name']}: {len(manifest['files'])} files and "
                     f"{len(info['row_counts'])} tables match the manifest")
    result['summary'] = (f"{engine.name} {target}: {done} from {manifest['name']}, "
                         f"{len(info['row_counts'])} tables verified")


def main():
    module = AnsibleModule(argument_spec=module_argument_spec(COMMON_SPEC, 'restore'), supports_check_mode=True)
    clock = time.monotonic()
    engine = engine_for(module)
    params = engine_params(module.params, engine)
    for option in unused_options(module.params, engine, COMMON_SPEC):
        module.warn(f'Option {option} is not used by engine={engine.name} and is ignored.')
    result = dict(changed=False, engine=engine.name, mode=params['mode'], summary='')
    steps = Steps()
    try:
        check_backup_dir(params['backup_dir'])
        if params['safety_backup_dir']:
            check_backup_dir(params['safety_backup_dir'])
        if params['jobs'] < 1:
            raise BackupError(f"jobs must be 1 or more, got {params['jobs']}")
        if not os.path.isdir(params['backup_dir']):
            raise BackupError(f"backup_dir {params['backup_dir']} does not exist")
        engine.check(module, params)
        restore(module, engine, params, result, steps)
    except (BackupError, OSError) as exc:
        result.pop('msg', None)
        what = 'verify' if params['mode'] == 'verify' else 'restore'
        module.fail_json(msg=f"Cannot {what} {engine.name} {result.get('target') or params['database'] or ''}"
                             f': {exc}'.replace('  ', ' '),
                         steps=steps.seconds, duration_seconds=round(time.monotonic() - clock, 3), **result)
    result['steps'] = steps.seconds
    result['duration_seconds'] = round(time.monotonic() - clock, 3)
    result['summary'] += f", {result['duration_seconds']:.1f} s"
    module.exit_json(**result)


if __name__ == '__main__':
    main()
