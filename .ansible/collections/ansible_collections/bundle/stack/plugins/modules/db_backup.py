#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

# Ansible modules keep their documentation ahead of the imports.

DOCUMENTATION = r'''
---
module: db_backup
short_description: Take a verifiable backup of a database, with a manifest of checksums and row counts
description:
  - Runs on the database host and writes one backup directory under O(backup_dir).
    The directory is written under a hidden temporary name (C(.<name>.<random>.partial))
    and renamed to its final name only when complete, so a backup that exists is whole.
    An existing backup is never overwritten.
  - Every backup holds C(manifest.json) (engine, server and tool versions, database,
    start and end time, duration, size, the SHA-256 and size of every file, and the row
    count of every table) and C(manifest.json.sha256), the checksum of the manifest itself.
    M(bundle.stack.db_restore) checks both before it touches anything.
  - V(postgresql) runs C(pg_dump) (directory format with O(jobs) parallel jobs, or custom
    format) and C(pg_dumpall --globals-only) for the roles. The row counts are exact
    C(count(*)) of every table, taken in the same snapshot as the dump (C(pg_dump --snapshot)),
    while the dump runs.
  - V(mysql) runs C(mysqldump) or C(mariadb-dump) with C(--single-transaction --routines
    --triggers --events); the row counts are counted in the dump itself.
  - V(redis) runs C(BGSAVE), waits for it to finish and copies the RDB file, and the
    append-only files when AOF is on; the key count is read from the copied RDB by
    C(redis-check-rdb). The user needs C(+bgsave +info) (ACL), nothing else; the files
    are found through O(data_dir), not C(CONFIG GET).
  - Retention (O(keep_last), O(keep_days)) runs only after a successful backup and only
    over regular backups of the same engine and database in O(backup_dir).
version_added: "1.0.0"
author:
  - Bundle maintainers (@bundle-maintainers)
options:
  engine:
    description:
      - Database engine.
      - V(postgres) is the old name of V(postgresql); it is still accepted, with a deprecation
        warning, and will be removed in version 2.0.0 of the collection.
    type: str
    required: true
    choices: [mysql, postgres, postgresql, redis]
  database:
    description:
      - Database to back up. Required for V(postgresql) and V(mysql).
      - Ignored by V(redis), which backs up the whole dataset (series name V(redis)).
    type: str
  backup_dir:
    description:
      - Absolute directory on the host that holds the backups; created with mode 0700
        when missing. Backup directories are 0700 and their files 0600 (the globals of
        V(postgresql) hold password verifiers).
    type: path
    required: true
  name:
    description:
      - Name of the backup directory. Defaults to C(<engine>-<database>-<UTC time>),
        for example V(postgresql-app-20250101T020000Z).
      - When a complete backup of that name exists it is kept as it is and the task
        reports no change; a backup is never overwritten.
    type: str
  jobs:
    description:
      - Parallel jobs of C(pg_dump --format=directory), and threads that hash files.
    type: int
    default: 2
  keep_last:
    description:
      - Retention. Keep the newest O(keep_last) regular backups of this engine and database.
      - With O(keep_days) too, a backup is kept when either rule keeps it.
      - Unset or V(0) means no count rule. The backup just taken is always kept.
    type: int
  keep_days:
    description:
      - Retention. Keep regular backups that started less than O(keep_days) days ago.
      - Unset or V(0) means no age rule. With neither rule set nothing is removed.
    type: int
  format:
    description:
      - V(postgresql) only. V(directory) (C(pg_dump -Fd), parallel) or V(custom) (C(pg_dump -Fc),
        one job). Defaults to V(directory).
    type: str
    choices: [custom, directory]
  compress:
    description:
      - V(postgresql) only. C(pg_dump --compress) level, 0 to 9. Defaults to pg_dump's own default.
    type: int
  dump_tool:
    description:
      - V(mysql) only. V(mariadb-dump) or V(mysqldump). Defaults to whichever is installed,
        V(mariadb-dump) first.
    type: str
    choices: [mariadb-dump, mysqldump]
  timeout:
    description:
      - V(redis) only. Seconds to wait for C(BGSAVE). Defaults to V(300).
    type: int
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - bundle.stack.backup
attributes:
  check_mode:
    support: full
    details:
      - Connects read-only to check that the server answers and the database exists, and
        reports the commands that would run and the directory the backup would get.
        Nothing is written and retention removes nothing; RV(removed) lists what it would remove.
  diff_mode:
    support: full
    details: The backups of the series before and after (new backup and retention).
  platform:
    platforms: posix
notes:
  - Run it as root (become) on the database host.
requirements:
  - V(postgresql) pg_dump and pg_dumpall, and psycopg2 (Debian C(python3-psycopg2)) or psycopg 3.
  - V(mysql) mariadb-dump or mysqldump, and the mysql client.
  - V(redis) redis-cli and redis-check-rdb (Debian C(redis-tools), C(redis-server)).
seealso:
  - module: bundle.stack.db_restore
'''

EXAMPLES = r'''
- name: Back up the app database, keep the last 7 backups or 14 days
  bundle.stack.db_backup:
    engine: postgresql
    database: app
    backup_dir: /var/backups/bundle
    bin_dir: /usr/lib/postgresql/15/bin
    jobs: 2
    keep_last: 7
    keep_days: 14
  register: app_backup

- name: A named backup before a migration (a second run keeps the first)
  bundle.stack.db_backup:
    engine: postgresql
    database: app
    backup_dir: /var/backups/bundle
    name: app-before-release-42
    format: custom

- name: Back up Redis
  bundle.stack.db_backup:
    engine: redis
    backup_dir: /var/backups/bundle
    login_password: "{{ redis_password }}"
'''

RETURN = r'''
engine:
  description: The engine.
  returned: always
  type: str
  sample: postgresql
database:
  description: The database backed up (V(redis) for Redis).
  returned: always
  type: str
  sample: app
files:
  description: Every file of the backup, relative to RV(backup_path), the manifest files last (what a copy must take).
  returned: always
  type: list
  elements: str
  sample: ["data/toc.dat", "data/3358.dat.gz", "globals.sql", "manifest.json", "manifest.json.sha256"]
backup:
  description: Name of the backup directory.
  returned: always
  type: str
  sample: postgresql-app-20250101T020000Z
backup_path:
  description: Its full path on the host.
  returned: always
  type: str
  sample: /var/backups/bundle/postgresql-app-20250101T020000Z
commands:
  description:
    - The commands the backup ran (or, in check mode, would run; the snapshot and the
      hidden work directory are shown as placeholders).
  returned: always
  type: list
  elements: str
manifest:
  description: The manifest written into the backup (see the module description).
  returned: when a backup was taken or found
  type: dict
  sample: {"engine": "postgresql", "database": "app", "size_bytes": 1048576,
           "row_counts": {"public.pgbench_accounts": 100000}, "duration_seconds": 2.4}
duration_seconds:
  description: Seconds the module spent, from start to end (checksums and retention included).
  returned: always
  type: float
  sample: 2.51
kept:
  description: Regular backups of the series that retention keeps, newest first.
  returned: always
  type: list
  elements: str
removed:
  description: Backups retention removed (in check mode, would remove).
  returned: always
  type: list
  elements: str
summary:
  description: One line for reports.
  returned: always
  type: str
  sample: "postgresql app: postgresql-app-20250101T020000Z, 1.0 MiB, 4 tables, 2.4 s"
'''

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bundle.stack.plugins.module_utils.backup.catalog import (
    apply_retention,
    check_backup_dir,
    check_name,
    default_name,
    list_backups,
    series_of,
)
from ansible_collections.bundle.stack.plugins.module_utils.backup.engine import BackupError, BackupRequest
from ansible_collections.bundle.stack.plugins.module_utils.backup.manifest import (
    MANIFEST,
    MANIFEST_SUM,
    read_manifest,
    summary,
    utc_now,
)
from ansible_collections.bundle.stack.plugins.module_utils.backup.registry import (
    engine_for,
    engine_params,
    module_argument_spec,
    unused_options,
)
from ansible_collections.bundle.stack.plugins.module_utils.backup.take import take_backup

COMMON_SPEC = dict(
    database=dict(type='str'),
    backup_dir=dict(type='path', required=True),
    name=dict(type='str'),
    jobs=dict(type='int', default=2),
    keep_last=dict(type='int'),
    keep_days=dict(type='int'),
)


def check_options(engine, params):
    check_backup_dir(params['backup_dir'])
    if params['name'] is not None:
        check_name(params['name'])
    if engine.requires_database and not params['database']:
        raise BackupError(f'database is required for engine={engine.name}')
    if params['jobs'] < 1:
        raise BackupError(f"jobs must be 1 or more, got {params['jobs']}")
    for option in ('keep_last', 'keep_days'):
        if params[option] is not None and params[option] < 0:
            raise BackupError(f'{option} must be 0 or more, got {params[option]}')


def main():
    module = AnsibleModule(argument_spec=module_argument_spec(COMMON_SPEC, 'backup'), supports_check_mode=True)
    clock = time.monotonic()
    engine = engine_for(module)
    params = engine_params(module.params, engine)
    for option in unused_options(module.params, engine, COMMON_SPEC):
        module.warn(f'Option {option} is not used by engine={engine.name} and is ignored.')
    database = params['database'] if engine.requires_database else engine.default_database
    params['database'] = database
    root = params['backup_dir']
    result = dict(changed=False, engine=engine.name, database=database, backup=None, backup_path=None, commands=[],
                  files=[], kept=[], removed=[], summary='')
    try:
        check_options(engine, params)
        engine.check(module, params)
        before = [b['name'] for b in series_of(list_backups(root)[0], engine.name, database)]

        # A named backup that exists is kept as it is: never overwritten.
        if params['name'] and params['name'] in before:
            manifest = read_manifest(f"{root}/{params['name']}")
            result.update(backup=params['name'], backup_path=f"{root}/{params['name']}", manifest=manifest,
                          files=list(manifest['files']) + [MANIFEST, MANIFEST_SUM],
                          kept=list(reversed(before)), summary=summary(manifest),
                          msg=f"backup {params['name']} exists and is kept as it is")
        elif module.check_mode:
            name = params['name'] or default_name(engine.name, database, utc_now())
            seen = engine.describe(module, params)
            kept, removed = apply_retention(root, engine.name, database, params['keep_last'],
                                            params['keep_days'], utc_now(), pending=name, check_mode=True)
            commands = engine.backup_commands(module, params, f'{root}/.{name}.<random>.partial')
            result.update(changed=True, backup=name, backup_path=f'{root}/{name}', kept=kept, removed=removed,
                          commands=commands, observed=seen,
                          summary=f'{engine.name} {database}: would write {root}/{name}',
                          msg=f'would back up {engine.name} {database} to {root}/{name}'
                              + (f" and remove {', '.join(removed)}" if removed else '')
                              + f" by running: {'; '.join(commands)}")
            if module._diff:
                result['diff'] = dict(before={'backups': before},
                                      after={'backups': [b for b in before if b not in removed] + [name]})
        else:
            manifest = take_backup(module, engine, BackupRequest(params, root, params['name']))
            # Retention only after a backup that is complete and in place.
            try:
                kept, removed = apply_retention(root, engine.name, database, params['keep_last'],
                                                params['keep_days'], utc_now(), protect=manifest['name'])
            except OSError as exc:
                raise BackupError(f"backup {manifest['path']} was taken, but retention failed: {exc}") from exc
            result.update(changed=True, backup=manifest['name'], backup_path=manifest['path'], manifest=manifest,
                          commands=manifest['commands'], kept=kept, removed=removed, summary=summary(manifest),
                          files=list(manifest['files']) + [MANIFEST, MANIFEST_SUM],
                          msg=f"backed up {engine.name} {database} to {manifest['path']}"
                              + (f" and removed {', '.join(removed)}" if removed else ''))
            if module._diff:
                result['diff'] = dict(before={'backups': before},
                                      after={'backups': [b for b in before if b not in removed]
                                             + [manifest['name']]})
    except BackupError as exc:
        result.pop('msg', None)
        module.fail_json(msg=f'Cannot back up {engine.name} {database or ""}: {exc}'.replace('  ', ' '),
                         duration_seconds=round(time.monotonic() - clock, 3), **result)
    except OSError as exc:
        result.pop('msg', None)
        module.fail_json(msg=f'Cannot back up {engine.name} {database or ""}: {exc}'.replace('  ', ' '),
                         duration_seconds=round(time.monotonic() - clock, 3), **result)
    result['duration_seconds'] = round(time.monotonic() - clock, 3)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
