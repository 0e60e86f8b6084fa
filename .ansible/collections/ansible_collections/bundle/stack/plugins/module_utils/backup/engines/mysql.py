# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""mysql engine (MariaDB and MySQL) of db_backup and db_restore.

Backup: mariadb-dump (or mysqldump) --single-transaction --routines --triggers
--events --hex-blob into dump.sql, without CREATE DATABASE/USE so that it loads
into any database name. The row counts are read from the dump itself (rows of
the INSERT statements of each table), so they are exactly what the backup holds.

Restore: MySQL cannot rename a database, so a new target is loaded in place and
dropped again on any failure; a replaced target is emptied and loaded, and on
any failure reloaded from the safety backup. Verify loads into a scratch
database and drops it.

The client's password never appears on a command line: it goes into a 0600
option file (--defaults-extra-file) in the module's private temporary directory.
"""

from __future__ import annotations

import os
import re
import secrets

from ansible_collections.bundle.stack.plugins.module_utils.backup.engine import BackupEngine, BackupError, Steps

BACKUP_SPEC = dict(
    dump_tool=dict(type='str', choices=['mariadb-dump', 'mysqldump']),
)
RESTORE_SPEC = {}
DEFAULTS = dict(login_user='root', login_unix_socket='/run/mysqld/mysqld.sock', port=3306)
OPTIONS = ('login_user', 'login_password', 'login_unix_socket', 'port', 'bin_dir', 'dump_tool')

DUMP_FILE = 'dump.sql'
DUMP_FLAGS = ['--single-transaction', '--routines', '--triggers', '--events', '--hex-blob',
              '--default-character-set=utf8mb4', '--skip-dump-date', '--quick']

CREATE_TABLE = re.compile(r'^CREATE TABLE `((?:[^`]|``)+)` \(')
INSERT_INTO = re.compile(r'^INSERT INTO `((?:[^`]|``)+)` (?:\([^)]*\) )?VALUES\s*')
# A quoted string of mysqldump's output: backslash escapes, doubled quotes.
QUOTED = re.compile(r"'(?:[^'\\]|\\.|'')*'", re.S)


def quote_ident(name):
    return '`' + name.replace('`', '``') + '`'


def quote_literal(text):
    return "'" + text.replace('\\', '\\\\').replace("'", "\\'") + "'"


def unquote_ident(text):
    return text.replace('``', '`')


def count_values(statement):
    """Rows of one extended INSERT: the tuples after VALUES, strings ignored."""
    values = statement[INSERT_INTO.match(statement).end():]
    bare = QUOTED.sub("''", values)
    return len(re.findall(r'\)\s*,\s*\(', bare)) + 1


def count_dump_rows(lines):
    """{table: rows} of a mysqldump or mariadb-dump file, given as an iterable of
    lines. Every table created in the dump appears, with 0 when it has no rows.

    An INSERT is one line (mysqldump) or one row per line (mariadb-dump 10.11+);
    strings never hold a raw newline (the dump escapes it), so a statement ends
    with the first line that ends with ';'."""
    counts = {}
    statement, table = None, None
    for line in lines:
        if statement is not None:
            statement.append(line)
            if line.rstrip().endswith(';'):
                text = ''.join(statement)
                counts[table] = counts.get(table, 0) + count_values(text)
                statement = None
            continue
        if line.startswith('CREATE TABLE `'):
            match = CREATE_TABLE.match(line)
            if match:
                counts.setdefault(unquote_ident(match.group(1)), 0)
        elif line.startswith('INSERT INTO `'):
            match = INSERT_INTO.match(line)
            if match:
                table = unquote_ident(match.group(1))
                if line.rstrip().endswith(';'):
                    counts[table] = counts.get(table, 0) + count_values(line)
                else:
                    statement = [line]
    return dict(sorted(counts.items()))


def option_file_text(params):
    """[client] section for --defaults-extra-file."""
    lines = ['[client]', f"user={params['login_user']}", f"socket={params['login_unix_socket']}",
             f"port={params['port']}"]
    if params.get('login_password'):
        escaped = params['login_password'].replace('\\', '\\\\').replace('"', '\\"')
        lines.append(f'password="{escaped}"')
    return '\n'.join(lines) + '\n'


def scratch_name(target, purpose, token=None):
    token = token or secrets.token_hex(4)
    suffix = f'__{purpose}_{token}'
    return target[:64 - len(suffix)] + suffix


class MysqlEngine(BackupEngine):
    name = 'mysql'
    backup_spec = BACKUP_SPEC
    restore_spec = RESTORE_SPEC
    defaults = DEFAULTS
    options = OPTIONS
    requires_database = True
    default_database = None

    def check(self, module, params):
        self.tools(module, params)

    def tools(self, module, params):
        """(dump tool, client) paths: MariaDB names first."""
        def find(names):
            for name in names:
                if params.get('bin_dir'):
                    path = os.path.join(params['bin_dir'], name)
                    if os.access(path, os.X_OK):
                        return path
                else:
                    path = module.get_bin_path(name)
                    if path:
                        return path
            where = f"bin_dir {params['bin_dir']}" if params.get('bin_dir') else 'PATH'
            raise BackupError(f"none of {', '.join(names)} found on {where}; install the MariaDB or MySQL client")
        dump_names = [params['dump_tool']] if params.get('dump_tool') else ['mariadb-dump', 'mysqldump']
        return find(dump_names), find(['mariadb', 'mysql'])

    def _option_file(self, module, params):
        path = os.path.join(module.tmpdir, f'client-{secrets.token_hex(4)}.cnf')
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'w') as handle:
            handle.write(option_file_text(params))
        return path

    def _run(self, module, params, argv_tail, tool, what, data=None):
        option_file = self._option_file(module, params)
        try:
            argv = [tool, f'--defaults-extra-file={option_file}', *argv_tail]
            rc, out, err = module.run_command(argv, data=data, umask=0o077, handle_exceptions=False)
        finally:
            os.unlink(option_file)
        if rc != 0:
            raise BackupError(f"{what} failed (rc={rc}): {' '.join((err or out).split())[-2000:]}")
        return out

    def sql(self, module, params, statement, database=None):
        """Rows (lists of strings) of one statement through the client, batch mode."""
        _, client = self.tools(module, params)
        tail = ['--batch', '--skip-column-names', '--raw', '--execute', statement]
        if database:
            tail.insert(0, f'--database={database}')
        out = self._run(module, params, tail, client, statement.split()[0])
        return [line.split('\t') for line in out.splitlines()]

    def schema(self, module, params, database):
        found = self.sql(module, params, 'SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME '
                                         'FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '
                                         f'{quote_literal(database)}')
        return dict(charset=found[0][0], collation=found[0][1]) if found else None

    # backup ------------------------------------------------------------------------

    def dump_argv(self, module, params, workdir):
        dump, _ = self.tools(module, params)
        return [dump, '--defaults-extra-file=<0600 option file>', *DUMP_FLAGS,
                f'--result-file={os.path.join(workdir, DUMP_FILE)}', params['database']]

    def backup_commands(self, module, params, workdir):
        return [' '.join(self.dump_argv(module, params, workdir))]

    def describe(self, module, params):
        if not self.schema(module, params, params['database']):
            raise BackupError(f"database {params['database']} does not exist")
        return dict(server_version=self.sql(module, params, 'SELECT VERSION()')[0][0])

    def backup(self, module, params, workdir):
        schema = self.schema(module, params, params['database'])
        if not schema:
            raise BackupError(f"database {params['database']} does not exist")
        server_version = self.sql(module, params, 'SELECT VERSION()')[0][0]
        dump, _ = self.tools(module, params)
        argv = self.dump_argv(module, params, workdir)
        self._run(module, params, argv[2:], dump, os.path.basename(dump))
        with open(os.path.join(workdir, DUMP_FILE), encoding='utf-8', errors='surrogateescape') as handle:
            counts = count_dump_rows(handle)
        tool_version = module.run_command([dump, '--version'])[1].strip()
        return dict(server_version=server_version, tool_version=tool_version, row_counts=counts,
                    row_count_method='rows of the INSERT statements of each table in the dump',
                    commands=[' '.join(argv)], details=dict(schema=schema, dump=DUMP_FILE))

    # restore -----------------------------------------------------------------------

    def target_exists(self, module, params, target):
        return self.schema(module, params, target) is not None

    def count_rows(self, module, params, database):
        tables = [row[0] for row in self.sql(
            module, params, 'SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = '
                            f"'BASE TABLE' AND TABLE_SCHEMA = {quote_literal(database)} ORDER BY 1")]
        if not tables:
            return {}
        union = ' UNION ALL '.join(f'SELECT {quote_literal(t)}, COUNT(*) FROM {quote_ident(database)}.'
                                   f'{quote_ident(t)}' for t in tables)
        return dict(sorted((name, int(count)) for name, count in self.sql(module, params, union)))

    def load(self, module, params, path, manifest, database):
        schema = manifest['details']['schema']
        self.sql(module, params, f"CREATE DATABASE {quote_ident(database)} CHARACTER SET {schema['charset']} "
                                 f"COLLATE {schema['collation']}")
        _, client = self.tools(module, params)
        dump = os.path.join(path, manifest['details']['dump'])
        self._run(module, params, [f'--database={database}', '--batch', '--execute', f'source {dump}'],
                  client, 'loading the dump')

    def drop(self, module, params, database):
        self.sql(module, params, f'DROP DATABASE IF EXISTS {quote_ident(database)}')

    def restore_commands(self, module, params, request):
        path, manifest, target, replace = request.path, request.manifest, request.target, request.replace
        into = scratch_name(target, 'verify', 'XXXXXXXX') if request.verify_only else target
        plan = []
        if replace:
            plan.append(f'DROP DATABASE {quote_ident(target)} (its data is in the safety backup)')
        plan += [f'CREATE DATABASE {quote_ident(into)}',
                 f"mariadb --database={into} --execute 'source {path}/{manifest['details']['dump']}'",
                 f"count the rows of {len(manifest['row_counts'])} tables and compare with the manifest"]
        if request.verify_only:
            plan.append(f'DROP DATABASE {quote_ident(into)}')
        elif replace:
            plan.append(f'on failure: reload {target} from the safety backup')
        else:
            plan.append(f'on failure: DROP DATABASE {quote_ident(target)}')
        return plan

    def restore(self, module, params, request):
        steps = Steps()
        target = request.target
        into = scratch_name(target, 'verify') if request.verify_only else target
        if request.replace:
            self.drop(module, params, target)
            steps.mark('drop_target')
        try:
            self.load(module, params, request.path, request.manifest, into)
            steps.mark('load')
            counts = self.count_rows(module, params, into)
            steps.mark('count_rows')
            request.compare(counts)
        except BaseException:
            self.drop(module, params, into)
            if request.replace and request.safety:
                # Put back what was there: the safety backup taken just before.
                self.load(module, params, request.safety['path'], request.safety, target)
            raise
        if request.verify_only:
            self.drop(module, params, into)
        steps.mark('finish')
        return dict(row_counts=counts, steps=steps.seconds, commands=[])


ENGINE = MysqlEngine()
