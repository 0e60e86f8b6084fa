# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The contract of a migration engine: what the apply and rollback flows need from a database.

Engine holds what every engine shares (the ledger queries, the snapshot bookkeeping,
the backup plumbing); a subclass (migrate/postgresql/engine.py, migrate/mysql/engine.py)
implements every abstract method and sets the class attributes below. The flows
(apply.py, rollback.py) call nothing else. An engine is found by name in registry.py.
"""

from __future__ import annotations

import datetime
import json
import os
from abc import ABC, abstractmethod

from ansible_collections.bundle.stack.plugins.module_utils.migrate.catalog import json_safe
from ansible_collections.bundle.stack.plugins.module_utils.migrate.errors import MigrationError
from ansible_collections.bundle.stack.plugins.module_utils.migrate.ledger import LEDGER_COLUMNS, ledger_row


class Engine(ABC):
    """One database connection as the migration flows use it.

    Class attributes every engine sets:
        name               the engine word of the modules' `engine` option
        transactional_ddl  whether DDL runs inside a transaction (PostgreSQL) or commits itself (MySQL)
        default_port, default_user
        driver_errors      the exception classes a failed statement raises
        now_sql            the ledger's current-time expression
        json_param         the placeholder of a JSON value in the ledger's INSERT
    """

    name: str
    transactional_ddl: bool
    default_port: int
    default_user: str
    driver_errors: tuple
    now_sql: str
    json_param: str

    def __init__(self, params):
        self.params = params
        self.connection = None
        self.cursor = None
        self.catalog = None
        self.ledger_name = params['ledger_table']
        self.ledger = None  # the ledger table's quoted name, set by the subclass
        self.locked = False

    # --- what each engine implements ---

    @classmethod
    @abstractmethod
    def require_libraries(cls, module):
        """Fail the module with an install hint when the driver or the SQL parser is missing."""

    @abstractmethod
    def connect(self):
        """Open the connection (no autocommit where DDL is transactional) and set self.cursor and self.catalog."""

    @abstractmethod
    def set_autocommit(self, value):
        """Leave or enter autocommit, for a migration that runs outside a transaction."""

    @abstractmethod
    def reset_session(self):
        """Undo the session settings a migration's SET statements left."""

    @abstractmethod
    def server_version(self):
        """{'version': text, 'version_num': int or 0, 'user': the database user connected as}."""

    @abstractmethod
    def ledger_exists(self):
        """Whether the ledger table is there."""

    @abstractmethod
    def ensure_ledger(self):
        """Create the ledger table when it is not there."""

    @abstractmethod
    def try_lock(self):
        """Take the ledger's advisory lock without waiting; whether it was taken."""

    @abstractmethod
    def unlock(self):
        """Release the ledger's advisory lock."""

    @abstractmethod
    def backup(self, module, backup_dir, label, statements):
        """Dump what the statements touch into backup_dir: {'path', 'schemas', 'tool', 'restore'}."""

    @abstractmethod
    def split_statements(self, sql):
        """The Statements of sql, parsed (may raise the parser's own errors)."""

    @abstractmethod
    def non_transactional(self, node):
        """Why a parsed statement cannot run inside a transaction, or None."""

    @abstractmethod
    def refs_of(self, node):
        """The Refs a parsed statement touches: what the snapshot describes around it."""

    @abstractmethod
    def reverse_migration(self, up_sql, snapshot, force):
        """The ReversePlan of a migration's up SQL, from the snapshot recorded when it was applied."""

    # --- connection ---

    def close(self):
        if self.connection is None:
            return
        try:
            if self.locked:
                self.unlock()
        except self.driver_errors:
            pass
        self.connection.close()
        self.connection = None

    def execute(self, sql, params=None):
        self.cursor.execute(sql, params)

    def rows(self, sql, params=None):
        return self.catalog.rows(sql, params)

    def commit(self):
        self.connection.commit()

    def rollback(self):
        self.connection.rollback()

    def error_text(self, exc):
        return str(exc)

    def is_driver_error(self, exc):
        return isinstance(exc, self.driver_errors)

    # --- ledger ---

    def lock(self):
        if not self.try_lock():
            raise MigrationError(f'Cannot lock the migration ledger {self.ledger}: another schema_migrate or '
                                 'schema_rollback run holds it. Wait for it to finish and run again.')
        self.locked = True

    def applied(self, full=False):
        columns = LEDGER_COLUMNS + (', up_sql, down_sql, snapshot' if full else '')
        return self.ledger_rows(f'SELECT {columns} FROM {self.ledger} WHERE rolled_back_at IS NULL ORDER BY id')

    def history(self, limit):
        rows = self.ledger_rows(f'SELECT {LEDGER_COLUMNS} FROM {self.ledger} ORDER BY id DESC LIMIT %s', (limit,))
        return list(reversed(rows))

    def ledger_rows(self, sql, params=None):
        rows = [ledger_row(r) for r in self.rows(sql, params)]
        self.commit()  # end the read's transaction (PostgreSQL): the lock and the flows start clean
        return rows

    def record_applied(self, entry):
        self.execute(
            f'INSERT INTO {self.ledger} (name, checksum, applied_by, duration_ms, up_sql, down_sql, snapshot, backup) '
            f'VALUES (%s, %s, %s, %s, %s, %s, {self.json_param}, %s)',
            (entry['name'], entry['checksum'], entry['applied_by'], entry['duration_ms'], entry['up_sql'],
             entry['down_sql'], json.dumps(entry['snapshot']), entry['backup']))

    def record_rolled_back(self, ledger_id, entry):
        self.execute(
            f'UPDATE {self.ledger} SET rolled_back_at = {self.now_sql}, rolled_back_by = %s, '
            'rollback_duration_ms = %s, rollback_source = %s, rollback_sql = %s, rollback_backup = %s '
            'WHERE id = %s AND rolled_back_at IS NULL',
            (entry['rolled_back_by'], entry['duration_ms'], entry['source'], entry['sql'], entry['backup'], ledger_id))

    # --- SQL and snapshots ---

    def split(self, sql, what):
        try:
            return self.split_statements(sql)
        except Exception as exc:  # each parser has its own error classes
            raise MigrationError(f'Cannot parse {what}: {exc}') from exc

    def statement_state(self, statement):
        """Resolve and describe what a statement touches, before it runs."""
        refs = {str(ref): self.catalog.resolve(ref) for ref in self.refs_of(statement.node)}
        keys = sorted({entry[0] for entry in refs.values()})
        return {'sql': statement.sql, 'refs': refs, 'before': self.describe_keys(keys), 'keys': keys}

    def finish_state(self, state):
        state['after'] = self.describe_keys(state.pop('keys'))
        return state

    def describe_keys(self, keys):
        return json_safe(self.catalog.describe(keys))

    def describe_all(self):
        return json_safe(self.catalog.describe_all())

    # --- backup (the modules' own, from the control node) ---

    def backup_before(self, module, label, statements):
        """The backup a change is recorded with: the one given as backup_file, a new one, or None."""
        if self.params.get('backup_file'):
            # Taken by someone else (the bundle's backup module, on the database host): recorded as given.
            return {'path': self.params['backup_file'], 'schemas': None, 'tool': 'given'}
        if not self.params.get('backup', True):
            return None
        return self.backup(module, self.params['backup_dir'], label, statements)

    def backup_path(self, backup_dir, label, extension):
        stamp = datetime.datetime.now(datetime.UTC).strftime('%Y%m%dT%H%M%SZ')
        os.makedirs(backup_dir, mode=0o700, exist_ok=True)
        return os.path.join(backup_dir, f"{self.params['database']}-{stamp}-{label}{extension}")

    def run_dump(self, module, argv, environ):
        """Run the dump tool argv[0], its files readable by their owner only."""
        old_umask = os.umask(0o077)
        try:
            rc, out, err = module.run_command(argv, environ_update=environ)
        finally:
            os.umask(old_umask)
        if rc != 0:
            raise MigrationError(f"Cannot back up {self.params['database']} with {argv[0]} before changing it: "
                                 f'{err.strip() or out.strip()}. Nothing was changed.')
