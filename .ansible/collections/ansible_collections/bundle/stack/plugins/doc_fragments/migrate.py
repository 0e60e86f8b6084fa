# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Options, requirements and notes that schema_migrate and schema_rollback share
(their argument spec is module_utils/migrate/spec.py's common_argument_spec)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r'''
options:
  engine:
    description:
      - Database engine; V(mysql) also means MariaDB.
      - V(postgres) is the old spelling of V(postgresql), still accepted with a deprecation warning.
    type: str
    choices: [postgresql, mysql, postgres]
    default: postgresql
  database:
    description: Database whose migrations are applied or rolled back (on MySQL it also holds the ledger).
    type: str
    required: true
  login_host:
    description: Host to connect to.
    type: str
    default: 127.0.0.1
  port:
    description: Port; V(5432) for PostgreSQL and V(3306) for MySQL when not set.
    type: int
  login_user:
    description: User to connect as; V(postgres) or V(root) when not set. It must be allowed to change the schema.
    type: str
  login_password:
    description: Password of O(login_user).
    type: str
  login_unix_socket:
    description: Directory (PostgreSQL) or file (MySQL) of the server's Unix socket, used instead of O(login_host).
    type: str
  connect_timeout:
    description: Seconds to wait for the connection.
    type: int
    default: 10
  lock_timeout:
    description:
      - PostgreSQL C(lock_timeout) (for example V(10s)) and MySQL C(lock_wait_timeout) (seconds) of the
        session, so that a statement waiting behind a long transaction fails instead of queueing every
        query behind it. V(0) waits forever.
    type: str
    default: 10s
  ledger_table:
    description: Name of the ledger table; created on first use.
    type: str
    default: bundle_migration_ledger
  ledger_schema:
    description: PostgreSQL schema of the ledger table (MySQL keeps it in O(database)).
    type: str
    default: public
  backup_dir:
    description:
      - Directory on the host running the module for the backup the module takes itself before the
        schema changes (C(pg_dump) or C(mysqldump); mode 0700, files 0600).
      - Required when a backup is taken and O(backup_file) is not set.
    type: path
  backup_file:
    description:
      - A backup already taken (for example by the bundle's backup module); it is recorded in the
        ledger instead of taking one here.
    type: str
  applied_by:
    description: Who runs the module, recorded in the ledger with the database user; by default C(user@host).
    type: str
  history_limit:
    description: How many ledger rows RV(history) returns, latest last.
    type: int
    default: 20
notes:
  - The reverse-SQL parser (pglast) is not packaged by Debian, so the bundle runs these modules on the
    control node (its venv has pglast, sqlglot, psycopg and PyMySQL) and connects over TCP;
    see docs/migrations.md.
requirements:
  - PostgreSQL, psycopg 3 or psycopg2, pglast, and pg_dump of the server's version for the backup.
  - MySQL/MariaDB, PyMySQL, sqlglot, and mysqldump for the backup.
'''
