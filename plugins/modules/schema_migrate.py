#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: schema_migrate
short_description: Apply SQL migrations in name order and record them in a ledger
description:
  - Applies the pending migrations of a directory of C(*.sql) files to a PostgreSQL or
    MySQL/MariaDB database, in name order (runs of digits compare as numbers, so C(10_x)
    comes after C(9_x)).
  - A file holds the up SQL, optionally followed by a line C(-- migrate:down) and the
    down SQL; or the down SQL sits in a sibling C(<name>.down.sql) (the up file is then
    C(<name>.sql) or C(<name>.up.sql)). An empty down section means none.
  - On PostgreSQL each migration runs in one transaction together with its ledger row;
    a failing statement leaves nothing of that migration behind. A migration whose first
    line is C(-- migrate:up transaction:false) runs statement by statement outside a
    transaction (needed for C(CREATE INDEX CONCURRENTLY)). C(-- migrate:up breaking:true)
    marks a migration the release before it cannot run on (it drops or renames what the old
    code uses); with O(allow_breaking=false) such a pending migration is refused.
  - The ledger table records for every migration its name, the SHA-256 checksum of its
    up SQL, when and by whom it was applied, how long it took, its up and down SQL, the
    backup taken before it, and a snapshot of the schema objects each statement touches,
    taken from the catalogs right before and after the statement. M(bundle.stack.schema_rollback)
    uses that snapshot to generate reverse SQL and to verify a rollback.
  - Refuses to run when the up SQL of an applied migration changed since it was applied,
    unless O(force=true).
  - Before applying anything, takes a backup of the schemas the pending migrations touch
    with C(pg_dump) (of the database with C(mysqldump)) into O(backup_dir), or records the
    backup named by O(backup_file) (taken by the bundle's backup module).
  - Runs where Python has the driver and the parser (the control node's venv); connect
    over TCP with O(login_host).
version_added: "1.0.0"
author:
  - Bundle maintainers (@bundle-maintainers)
options:
  path:
    description: Directory of the migration files.
    type: path
    required: true
  target:
    description:
      - Apply pending migrations up to and including this one (a name, the file name
        without C(.sql) or C(.up.sql)). Default is every pending migration.
    type: str
  force:
    description:
      - Apply pending migrations even though applied ones changed since (they are reported in
        RV(changed_files)).
    type: bool
    default: false
  allow_breaking:
    description:
      - Apply pending migrations marked C(breaking:true). A rolling deploy (C(playbooks/deploy.yml))
        sets V(false), because the hosts not switched yet run the release before, which must keep
        working on the new schema (expand first, contract in a later release). Check mode refuses too.
    type: bool
    default: true
  backup:
    description: Take a backup before applying. Leave on; the rollback of a migration that destroyed data points to it.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - bundle.stack.migrate
attributes:
  check_mode:
    support: full
    details: Lists the pending migrations and shows their SQL as a diff; nothing is executed and no ledger is created.
  diff_mode:
    support: full
    details: One diff per pending migration, its up SQL as the added text.
  platform:
    platforms: posix
seealso:
  - module: bundle.stack.schema_rollback
'''

EXAMPLES = r'''
- name: Apply pending migrations of the app database (from the control node)
  bundle.stack.schema_migrate:
    path: "{{ playbook_dir }}/../files/migrations/example"
    database: app
    login_host: 10.30.0.11
    login_user: app
    login_password: "{{ bundle_app_password }}"
    backup_dir: /var/backups/bundle/migrations
  delegate_to: localhost
  register: migrated

- name: Show what would be applied, with the SQL
  bundle.stack.schema_migrate:
    path: migrations
    database: app
    login_user: app
    login_password: "{{ bundle_app_password }}"
    backup_dir: /tmp/backups
  check_mode: true
  diff: true

- name: Apply up to 0004_orders only
  bundle.stack.schema_migrate:
    path: migrations
    database: app
    target: 0004_orders
    login_user: app
    login_password: "{{ bundle_app_password }}"
    backup_file: "{{ db_backup_result.path }}"
'''

RETURN = r'''
applied:
  description: Migrations applied by this run, in order.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "0001_users", "checksum": "9f2c...", "statements": 3, "duration_ms": 41, "transaction": true}]
pending:
  description: Migrations still pending (in check mode, the ones that would be applied).
  returned: always
  type: list
  elements: str
  sample: ["0005_orders_status"]
breaking:
  description: Pending migrations marked C(breaking:true) (refused with O(allow_breaking=false)).
  returned: always
  type: list
  elements: str
  sample: ["0006_drop_orders_legacy_status"]
changed_files:
  description: Applied migrations whose up SQL changed since (only without a refusal, that is with O(force=true)).
  returned: always
  type: list
  elements: dict
missing_files:
  description: Applied migrations that have no file in O(path) any more.
  returned: always
  type: list
  elements: str
backup:
  description: The backup taken (or recorded) before applying; V(null) when nothing was pending.
  returned: always
  type: dict
  sample: {"path": "/var/backups/bundle/migrations/app-20250101T120000Z-before-apply-0005_x.dump",
           "schemas": ["public"], "tool": "/usr/lib/postgresql/15/bin/pg_dump"}
history:
  description: The last O(history_limit) ledger rows, oldest first, applied and rolled back.
  returned: always
  type: list
  elements: dict
history_lines:
  description: RV(history) as one line of text per ledger row.
  returned: always
  type: list
  elements: str
  sample: ["#3 0003_orders: applied 2025-01-01T12:00:00+00:00 by ops@ctl as app in 41 ms"]
engine:
  description: The engine used.
  returned: always
  type: str
  sample: postgresql
msg:
  description: What happened, in one line.
  returned: always
  type: str
  sample: Applied 2 migration(s) to app in 0.21 s; 0 pending.
'''

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bundle.stack.plugins.module_utils.migrate.apply import apply_migrations
from ansible_collections.bundle.stack.plugins.module_utils.migrate.errors import MigrationError
from ansible_collections.bundle.stack.plugins.module_utils.migrate.registry import make_engine
from ansible_collections.bundle.stack.plugins.module_utils.migrate.spec import check_common_params, common_argument_spec


def main():
    argument_spec = common_argument_spec()
    argument_spec.update(
        path=dict(type='path', required=True),
        target=dict(type='str'),
        backup=dict(type='bool', default=True),
        allow_breaking=dict(type='bool', default=True),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    error = check_common_params(module.params, module.params['backup'] and not module.check_mode)
    if error:
        module.fail_json(msg=error)
    engine = make_engine(module)
    try:
        result = apply_migrations(module, engine, engine.params)
    except MigrationError as exc:
        module.fail_json(msg=exc.msg, **{k: v for k, v in exc.extra.items() if k != 'msg'})
    except Exception as exc:
        module.fail_json(msg=f"Cannot migrate {module.params['database']}: {exc}", exception=traceback.format_exc())
    applied = result['applied']
    if module.check_mode:
        result['msg'] = (f"{len(result['pending'])} migration(s) would be applied to {module.params['database']}: "
                         f"{', '.join(result['pending']) or 'none'}.")
    else:
        seconds = sum(a['duration_ms'] for a in applied) / 1000
        result['msg'] = (f"Applied {len(applied)} migration(s) to {module.params['database']} in {seconds:.2f} s"
                         f"{': ' + ', '.join(a['name'] for a in applied) if applied else ''}; "
                         f"{len(result['pending'])} pending.")
    module.exit_json(**result)


if __name__ == '__main__':
    main()
