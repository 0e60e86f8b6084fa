#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: schema_rollback
short_description: Roll back applied migrations for real, with verified reverse SQL
description:
  - Rolls back the last O(steps) migrations recorded in the ledger of M(bundle.stack.schema_migrate), or every
    migration applied after O(to). Migrations are rolled back latest first.
  - Uses a migration's own down SQL (its C(-- migrate:down) section or C(<name>.down.sql)) when it
    has one; otherwise generates the reverse SQL from the up SQL with a real SQL parser (pglast,
    PostgreSQL's own grammar; sqlglot for MySQL) and the catalog snapshot recorded when it was
    applied (old types, defaults, comments, definitions of what it dropped).
  - Refuses a migration that destroyed data (DROP TABLE, DROP COLUMN, a narrowing type change,
    DELETE, TRUNCATE, UPDATE of existing values), names the statement and points to the backup
    taken before it was applied. O(force=true) restores the structure without the data.
  - Takes a backup first (C(pg_dump) or C(mysqldump) into O(backup_dir), or the one named by O(backup_file)).
  - On PostgreSQL every reverse statement of every selected migration runs in one transaction. After
    the reverse of each up statement, the objects it touched must equal their snapshot; after each
    migration the whole schema must equal the snapshot taken before it was applied (object by
    object, from the catalogs). Any difference fails the run, names the differences, and rolls the
    transaction back, so the schema and the ledger stay as they were.
  - On MySQL/MariaDB, where DDL is not transactional, says so, verifies after every statement, and
    stops at the first difference.
  - Records each rollback in the ledger (when, who, how long, down or generated SQL, the backup).
version_added: "1.0.0"
author:
  - Bundle maintainers (@bundle-maintainers)
options:
  steps:
    description: How many of the last applied migrations to roll back. Default V(1). Not with O(to).
    type: int
  to:
    description: Roll back every migration applied after this one; it stays applied. Not with O(steps).
    type: str
  path:
    description:
      - Directory of the migration files. When set, a file's down SQL is used and a file whose up SQL
        changed since it was applied is refused (unless O(force=true)). Without it, the down SQL
        recorded in the ledger is used.
    type: path
  force:
    description:
      - Roll back migrations that destroyed data by restoring their structure only (the lost data is
        not restored; the backup is the way to get it back), and roll back migrations whose file
        changed, with what the ledger recorded.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - bundle.stack.migrate
attributes:
  check_mode:
    support: full
    details: Prints the reverse SQL of every migration it would roll back (and any refusal); executes nothing.
  diff_mode:
    support: full
    details: One diff per migration, the reverse SQL as the added text.
  platform:
    platforms: posix
seealso:
  - module: bundle.stack.schema_migrate
'''

EXAMPLES = r'''
- name: Roll back the last migration
  bundle.stack.schema_rollback:
    path: "{{ playbook_dir }}/../files/migrations/example"
    database: app
    login_host: 10.30.0.11
    login_user: app
    login_password: "{{ bundle_app_password }}"
    backup_dir: /var/backups/bundle/migrations
  delegate_to: localhost

- name: Show the reverse SQL of everything after 0002_orders, change nothing
  bundle.stack.schema_rollback:
    to: 0002_orders
    database: app
    login_user: app
    login_password: "{{ bundle_app_password }}"
    backup_dir: /tmp/backups
  check_mode: true
  diff: true
'''

RETURN = r'''
rolled_back:
  description: Migrations rolled back, latest first.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "0003_comments", "source": "generated", "statements": 4, "duration_ms": 35}]
plans:
  description: For every selected migration, the SQL that runs (or would run in check mode), its source
    (V(down) or V(generated)), findings (statements forced through) and notes.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "0003_comments", "source": "generated",
            "sql": ["COMMENT ON COLUMN public.users.email IS NULL", "DROP INDEX public.users_email_idx"]}]
verification:
  description: Per migration, whether the schema equals the snapshot taken before it was applied, and the differences.
  returned: always
  type: list
  elements: dict
backup:
  description: The backup taken (or recorded) before rolling back.
  returned: always
  type: dict
history:
  description: The last O(history_limit) ledger rows, oldest first.
  returned: always
  type: list
  elements: dict
refused:
  description: The statements that made the rollback refuse (irreversible or without a reverse rule).
  returned: on refusal
  type: list
  elements: dict
differences:
  description: What differs from the snapshot when the verification failed.
  returned: on a failed verification
  type: list
  elements: str
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
msg:
  description: What happened, in one line.
  returned: always
  type: str
  sample: Rolled back 1 migration(s) of app and verified the schema against the snapshot; 0003_comments (generated).
'''

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bundle.stack.plugins.module_utils.migrate.errors import MigrationError
from ansible_collections.bundle.stack.plugins.module_utils.migrate.registry import make_engine
from ansible_collections.bundle.stack.plugins.module_utils.migrate.rollback import rollback_migrations
from ansible_collections.bundle.stack.plugins.module_utils.migrate.spec import check_common_params, common_argument_spec


def main():
    argument_spec = common_argument_spec()
    argument_spec.update(
        steps=dict(type='int'),
        to=dict(type='str'),
        path=dict(type='path'),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=[('steps', 'to')])
    error = check_common_params(module.params, not module.check_mode)
    if error:
        module.fail_json(msg=error)
    if module.params['steps'] is not None and module.params['steps'] < 1:
        module.fail_json(msg=f"steps={module.params['steps']}: roll back at least one migration.")
    if module.params['steps'] is None and not module.params['to']:
        module.params['steps'] = 1
    engine = make_engine(module)
    try:
        result = rollback_migrations(module, engine, engine.params)
    except MigrationError as exc:
        module.fail_json(msg=exc.msg, **{k: v for k, v in exc.extra.items() if k != 'msg'})
    except Exception as exc:
        module.fail_json(msg=f"Cannot roll back {module.params['database']}: {exc}", exception=traceback.format_exc())
    names = ', '.join(f"{p['name']} ({p['source']})" for p in result['plans'])
    if module.check_mode:
        result['msg'] = f"Would roll back {len(result['plans'])} migration(s) of {module.params['database']}: {names}."
    else:
        result['msg'] = (f"Rolled back {len(result['rolled_back'])} migration(s) of {module.params['database']} and "
                         f"verified the schema against the snapshot; {names}.")
    module.exit_json(**result)


if __name__ == '__main__':
    main()
