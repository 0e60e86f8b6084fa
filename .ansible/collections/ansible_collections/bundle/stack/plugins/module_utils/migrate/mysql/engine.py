# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The MySQL/MariaDB engine of schema_migrate and schema_rollback: connection, ledger, snapshots, mysqldump.

DDL is not transactional in MySQL: every CREATE/ALTER/DROP commits on its own. The
flows know this (transactional_ddl = False): a failing statement leaves the ones
before it applied, and a rollback verifies after every statement and says what stays
applied when one fails. Connects through db/mysql.py.
"""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.bundle.stack.plugins.module_utils.db import mysql as driver
from ansible_collections.bundle.stack.plugins.module_utils.migrate.engine import Engine
from ansible_collections.bundle.stack.plugins.module_utils.migrate.errors import MigrationError
from ansible_collections.bundle.stack.plugins.module_utils.migrate.mysql.catalog import MysqlCatalog
from ansible_collections.bundle.stack.plugins.module_utils.migrate.mysql.reverse import (
    HAS_SQLGLOT,
    non_transactional,
    qi,
    refs_of,
    reverse_migration,
    split_statements,
)


class MysqlEngine(Engine):
    """What schema_migrate and schema_rollback need from MySQL/MariaDB."""

    name = 'mysql'
    transactional_ddl = False
    default_port = 3306
    default_user = 'root'
    driver_errors = driver.DRIVER_ERRORS
    now_sql = 'CURRENT_TIMESTAMP(6)'
    json_param = '%s'

    def __init__(self, params):
        super().__init__(params)
        self.ledger = qi(self.ledger_name)

    @classmethod
    def require_libraries(cls, module):
        driver.require_driver(module)
        if not HAS_SQLGLOT:
            module.fail_json(msg=missing_required_lib('sqlglot'))

    # --- the SQL: sqlglot's MySQL grammar and tokenizer ---

    def split_statements(self, sql):
        return split_statements(sql)

    def non_transactional(self, node):
        return non_transactional(node)

    def refs_of(self, node):
        return refs_of(node)

    def reverse_migration(self, up_sql, snapshot, force):
        return reverse_migration(up_sql, snapshot, force)

    # --- connection ---

    def connect(self):
        params = self.params
        kwargs = dict(user=params['login_user'], password=params.get('login_password') or '',
                      database=params['database'], connect_timeout=params['connect_timeout'], autocommit=True,
                      charset='utf8mb4')
        if params.get('login_unix_socket'):
            kwargs['unix_socket'] = params['login_unix_socket']
        else:
            kwargs.update(host=params['login_host'], port=params['port'])
        try:
            self.connection = driver.connect(**kwargs)
        except driver.DRIVER_ERRORS as exc:
            raise MigrationError(f"Cannot connect to MySQL database {params['database']} at "
                                 f"{params.get('login_unix_socket') or params['login_host']}:{params['port']} as "
                                 f"{params['login_user']}: {exc}") from exc
        self.cursor = self.connection.cursor()
        timeout = str(params.get('lock_timeout') or '').rstrip('s')
        if timeout.isdigit() and int(timeout) > 0:
            self.execute(f'SET SESSION lock_wait_timeout = {int(timeout)}')
        self.catalog = MysqlCatalog(self.cursor, params['database'], exclude={self.ledger_name})

    def lock_name(self):
        return f"bundle_migrate.{self.params['database']}.{self.ledger_name}"

    def set_autocommit(self, value):
        pass  # always autocommit: DDL commits anyway

    def reset_session(self):
        pass

    def server_version(self):
        row = self.rows('SELECT VERSION() AS version, CURRENT_USER() AS user')[0]
        return dict(version=row['version'], version_num=0, user=row['user'])

    def ledger_exists(self):
        return bool(self.rows('SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() '
                              'AND table_name = %s', (self.ledger_name,)))

    def ensure_ledger(self):
        self.execute(f"""
            CREATE TABLE IF NOT EXISTS {self.ledger} (
                id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
                name VARCHAR(255) NOT NULL,
                checksum CHAR(64) NOT NULL,
                applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
                applied_by VARCHAR(255) NOT NULL,
                duration_ms INT NOT NULL,
                up_sql LONGTEXT NOT NULL,
                down_sql LONGTEXT,
                snapshot LONGTEXT NOT NULL,
                backup TEXT,
                rolled_back_at DATETIME(6),
                rolled_back_by VARCHAR(255),
                rollback_duration_ms INT,
                rollback_source VARCHAR(16),
                rollback_sql LONGTEXT,
                rollback_backup TEXT,
                KEY {qi(self.ledger_name + '_name')} (name)
            ) COMMENT = 'Schema migrations applied and rolled back by the bundle'""")

    def try_lock(self):
        return self.rows('SELECT GET_LOCK(%s, 0) AS locked', (self.lock_name(),))[0]['locked'] == 1

    def unlock(self):
        self.execute('SELECT RELEASE_LOCK(%s)', (self.lock_name(),))

    def backup(self, module, backup_dir, label, statements):
        mysqldump = module.get_bin_path('mysqldump') or module.get_bin_path('mariadb-dump')
        if not mysqldump:
            raise MigrationError('Cannot back up before changing the schema: no mysqldump (or mariadb-dump) on the '
                                 "controller. Install mariadb-client, or take the backup with the bundle's backup "
                                 'module and pass its path as backup_file. Nothing was changed.')
        path = self.backup_path(backup_dir, label, '.sql')
        argv = [mysqldump, '--single-transaction', '--routines', '--triggers', f'--result-file={path}',
                f"--user={self.params['login_user']}"]
        if self.params.get('login_unix_socket'):
            argv.append(f"--socket={self.params['login_unix_socket']}")
        else:
            argv += [f"--host={self.params['login_host']}", f"--port={self.params['port']}"]
        argv.append(self.params['database'])
        self.run_dump(module, argv, {'MYSQL_PWD': self.params.get('login_password') or ''})
        return {'path': path, 'schemas': [self.params['database']], 'tool': mysqldump,
                'restore': f"mysql {self.params['database']} < {path}"}
