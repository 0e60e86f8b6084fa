# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The PostgreSQL engine of schema_migrate and schema_rollback: connection, ledger, snapshots, pg_dump.

Connects through db/postgresql.py (psycopg2 or psycopg 3, the same rules as every
subsystem), never in autocommit: a migration and its ledger row commit together.
"""

from __future__ import annotations

import os

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.bundle.stack.plugins.module_utils.db import postgresql as driver
from ansible_collections.bundle.stack.plugins.module_utils.migrate.engine import Engine
from ansible_collections.bundle.stack.plugins.module_utils.migrate.errors import MigrationError
from ansible_collections.bundle.stack.plugins.module_utils.migrate.files import sorted_dirs
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.catalog import PostgresqlCatalog
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.refs import refs_of
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.reverse import reverse_migration
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.sql import (
    HAS_PGLAST,
    ast,
    non_transactional,
    qi,
    qn,
    split_key,
    split_statements,
)

# Statements whose touched objects no parse tree names: the snapshot takes everything around them.
OPAQUE = (ast.DoStmt,) if ast is not None else ()


class PostgresqlEngine(Engine):
    """What schema_migrate and schema_rollback need from PostgreSQL."""

    name = 'postgresql'
    transactional_ddl = True
    default_port = 5432
    default_user = 'postgres'
    driver_errors = driver.DRIVER_ERRORS
    now_sql = 'clock_timestamp()'
    json_param = '%s::jsonb'

    def __init__(self, params):
        super().__init__(params)
        self.ledger_schema = params.get('ledger_schema') or 'public'
        self.ledger = qn(self.ledger_schema, self.ledger_name)

    @classmethod
    def require_libraries(cls, module):
        driver.require_driver(module)
        if not HAS_PGLAST:
            module.fail_json(msg=missing_required_lib('pglast'))

    # --- the SQL: PostgreSQL's own parser through pglast ---

    def split_statements(self, sql_text):
        return split_statements(sql_text)

    def non_transactional(self, node):
        return non_transactional(node)

    def refs_of(self, node):
        return refs_of(node)

    def reverse_migration(self, up_sql, snapshot, force):
        return reverse_migration(up_sql, snapshot, force)

    # --- connection ---

    def connect(self):
        params = self.params
        conninfo = dict(host=params.get('login_unix_socket') or params['login_host'], port=params['port'],
                        user=params['login_user'], password=params.get('login_password'),
                        dbname=params['database'], connect_timeout=driver.libpq_timeout(params['connect_timeout']),
                        application_name='schema_migrate')
        if params.get('lock_timeout'):
            conninfo['options'] = f"-c lock_timeout={params['lock_timeout']}"
        try:
            self.connection = driver.connect(conninfo, autocommit=False)
        except driver.DRIVER_ERRORS as exc:
            raise MigrationError(f"Cannot connect to PostgreSQL database {params['database']} at "
                                 f"{conninfo['host']}:{params['port']} as {params['login_user']}: "
                                 f"{first_line(exc)}") from exc
        self.cursor = self.connection.cursor()
        self.catalog = PostgresqlCatalog(self.cursor, exclude={(self.ledger_schema, self.ledger_name)})

    def set_autocommit(self, value):
        self.connection.commit()
        self.connection.autocommit = value

    def reset_session(self):
        self.execute('RESET ALL')

    def server_version(self):
        return self.catalog.one("SELECT current_setting('server_version') AS version, "
                                "current_setting('server_version_num')::int AS version_num, current_user AS user")

    def error_text(self, exc):
        return first_line(exc)

    # --- ledger ---

    def ledger_exists(self):
        row = self.catalog.one('SELECT to_regclass(%s) IS NOT NULL AS present', (self.ledger,))
        return row['present']

    def ensure_ledger(self):
        self.execute(f"""
            CREATE TABLE IF NOT EXISTS {self.ledger} (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                applied_by text NOT NULL,
                duration_ms integer NOT NULL,
                up_sql text NOT NULL,
                down_sql text,
                snapshot jsonb NOT NULL,
                backup text,
                rolled_back_at timestamptz,
                rolled_back_by text,
                rollback_duration_ms integer,
                rollback_source text,
                rollback_sql text,
                rollback_backup text)""")
        self.execute(f'CREATE UNIQUE INDEX IF NOT EXISTS {qi(self.ledger_name + "_applied")} '
                     f'ON {self.ledger} (name) WHERE rolled_back_at IS NULL')
        self.execute(f"COMMENT ON TABLE {self.ledger} IS "
                     "'Schema migrations applied and rolled back by the bundle (schema_migrate, schema_rollback).'")
        self.commit()

    def try_lock(self):
        row = self.catalog.one('SELECT pg_try_advisory_lock(hashtext(%s)) AS locked', (self.ledger,))
        self.commit()
        return row['locked']

    def unlock(self):
        self.rollback()
        self.execute('SELECT pg_advisory_unlock(hashtext(%s))', (self.ledger,))
        self.commit()

    # --- snapshots ---

    def statement_state(self, statement):
        if isinstance(statement.node, OPAQUE):
            # What a DO block touches is known only afterwards: everything, before and after.
            return {'sql': statement.sql, 'refs': {}, 'opaque': True, 'full': self.describe_all()}
        state = super().statement_state(statement)
        # The views an enum's columns feed: putting the enum back recreates them.
        extra = sorted({view for desc in state['before'].values() if desc for view in desc.get('dependent_views', [])}
                       - set(state['keys']))
        if extra:
            state['before'].update(self.describe_keys(extra))
            state['keys'] += extra
        return state

    def finish_state(self, state):
        if not state.get('opaque'):
            return super().finish_state(state)
        before, after = state.pop('full'), self.describe_all()
        keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        state['before'] = {k: before.get(k) for k in keys}
        state['after'] = {k: after.get(k) for k in keys}
        return state

    def touched_schemas(self, statements):
        """Existing schemas the statements name (resolved), for the backup."""
        schemas = set()
        for statement in statements:
            for ref in refs_of(statement.node):
                if ref.kind in ('rel', 'type', 'func'):
                    schemas.add(split_key(self.catalog.resolve(ref)[0])[0])
                elif ref.kind == 'schema':
                    schemas.add(ref.name)
        present = self.rows('SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)', (sorted(schemas),))
        self.commit()
        return sorted(r['nspname'] for r in present)

    # --- backup ---

    def backup(self, module, backup_dir, label, statements):
        """pg_dump -Fc of the schemas the statements touch into backup_dir; returns the file."""
        version = self.server_version()
        self.commit()
        schemas = self.touched_schemas(statements)
        pg_dump = find_pg_dump(module, version['version_num'] // 10000)
        path = self.backup_path(backup_dir, label, '.dump')
        argv = [pg_dump, '--format=custom', '--no-password', f'--file={path}',
                f"--host={self.params.get('login_unix_socket') or self.params['login_host']}",
                f"--port={self.params['port']}", f"--username={self.params['login_user']}",
                f"--dbname={self.params['database']}"]
        argv += [f'--schema={s}' for s in schemas]
        self.run_dump(module, argv, {'PGPASSWORD': self.params.get('login_password') or '', 'PGCONNECT_TIMEOUT': '10'})
        return {'path': path, 'schemas': schemas, 'tool': pg_dump,
                'restore': f'pg_restore --clean --if-exists --single-transaction --dbname={self.params["database"]} '
                           f'{path}'}


def first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def find_pg_dump(module, server_major):
    """A pg_dump for the server: the same major version first, else the newest newer one."""
    candidates = []
    for directory in sorted_dirs('/usr/lib/postgresql'):
        path = os.path.join(directory, 'bin', 'pg_dump')
        if os.access(path, os.X_OK):
            candidates.append(path)
    on_path = module.get_bin_path('pg_dump')
    if on_path:
        candidates.append(on_path)
    found = []
    for path in candidates:
        rc, out, _ = module.run_command([path, '--version'])
        # "pg_dump (PostgreSQL) 15.8 (Debian 15.8-0+deb12u1)": the third word.
        words = out.split() if rc == 0 else []
        major = int(words[2].split('.')[0]) if len(words) > 2 and words[2].split('.')[0].isdigit() else 0
        found.append((major, path))
    for major, path in found:
        if major == server_major:
            return path
    newer = sorted((m, p) for m, p in found if m > server_major)
    if newer:
        return newer[-1][1]
    seen = ', '.join(f'{p} ({m or "unknown version"})' for m, p in found) or 'none'
    raise MigrationError(f'Cannot back up before changing the schema: no pg_dump of version {server_major} or '
                         f'newer on the controller (found: {seen}). Install postgresql-client-{server_major}, '
                         "or take the backup with the bundle's backup module and pass its path as backup_file. "
                         'Nothing was changed.')
