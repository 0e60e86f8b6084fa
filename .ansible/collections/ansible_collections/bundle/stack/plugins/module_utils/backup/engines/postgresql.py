# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""postgresql engine of db_backup and db_restore.

Backup: one REPEATABLE READ transaction exports its snapshot; pg_dump runs
with --snapshot (directory format with parallel jobs, or custom format) while
the same transaction counts the rows of every table, so the counts in the
manifest are exactly what the dump holds. The globals (roles) come from
pg_dumpall --globals-only.

Restore: into a new scratch database (pg_restore --exit-on-error), then every
table's rows are counted and compared with the manifest; only then is the
scratch database renamed to the target (or, with replace, swapped with it).
Any failure drops the scratch database, so the target is never half-restored.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time

from ansible_collections.bundle.stack.plugins.module_utils.backup.checksums import parallel_map
from ansible_collections.bundle.stack.plugins.module_utils.backup.engine import BackupEngine, BackupError, Steps
from ansible_collections.bundle.stack.plugins.module_utils.db import postgresql as db

# Options of this engine only; the modules document them. Defaults are applied
# by the engine (DEFAULTS) so that an option set for another engine is noticed.
BACKUP_SPEC = dict(
    format=dict(type='str', choices=['directory', 'custom']),
    compress=dict(type='int'),
)
RESTORE_SPEC = dict(
    globals=dict(type='str', choices=['missing', 'skip']),
    maintenance_database=dict(type='str'),
)
DEFAULTS = dict(login_user='postgres', login_unix_socket='/var/run/postgresql', port=5432, format='directory',
                globals='missing', maintenance_database='postgres')
OPTIONS = ('login_user', 'login_password', 'login_unix_socket', 'port', 'bin_dir', 'format', 'compress', 'globals',
           'maintenance_database')
# Tables counted per statement (count_tables).
COUNT_BATCH = 100

TABLES_QUERY = r"""
SELECT format('%I.%I', n.nspname, c.relname) AS name, pg_relation_size(c.oid) AS bytes
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1
"""

DATABASE_QUERY = """
SELECT pg_encoding_to_char(encoding) AS encoding, datcollate AS lc_collate, datctype AS lc_ctype,
       pg_get_userbyid(datdba) AS owner
FROM pg_database WHERE datname = current_database()
"""

# One statement per line in pg_dumpall --globals-only output.
IDENT = r'("(?:[^"]|"")+"|[^\s";]+)'
ROLE_LINE = re.compile(rf'^(?:CREATE|ALTER) ROLE {IDENT}[ ;]')
COMMENT_LINE = re.compile(rf'^COMMENT ON ROLE {IDENT} IS ')
GRANT_LINE = re.compile(rf'^GRANT {IDENT} TO {IDENT}[ ;]')


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text):
    return "'" + text.replace("'", "''") + "'"


def unquote_ident(text):
    return text[1:-1].replace('""', '"') if text.startswith('"') else text


def libpq_value(text):
    """A value for a libpq conninfo string."""
    return "'" + text.replace('\\', '\\\\').replace("'", "\\'") + "'"


def scratch_name(target, purpose, token=None):
    """A database name for a restore in progress: at most 63 bytes."""
    token = token or secrets.token_hex(4)
    suffix = f'__{purpose}_{token}'
    head = target.encode('utf-8')[:63 - len(suffix)].decode('utf-8', 'ignore')
    return head + suffix


def role_statements(text, missing):
    """The statements of a globals file that create the roles in `missing`
    (CREATE ROLE, ALTER ROLE, COMMENT ON ROLE) and grant memberships to them.
    Per-database role settings are left out: the database may not exist."""
    statements = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('--') or ' IN DATABASE ' in line:
            continue
        match = ROLE_LINE.match(line) or COMMENT_LINE.match(line)
        if match and unquote_ident(match.group(1)) in missing:
            statements.append(line)
            continue
        match = GRANT_LINE.match(line)
        if match and unquote_ident(match.group(2)) in missing:
            statements.append(line)
    return statements


def roles_in(text):
    """Role names created by a globals file, in order."""
    roles = []
    for line in text.splitlines():
        if line.startswith('CREATE ROLE '):
            match = ROLE_LINE.match(line)
            if match:
                roles.append(unquote_ident(match.group(1)))
    return roles


# --- connections and tools ------------------------------------------------------

def connect(params, database):
    """Autocommit connection as the local superuser through the socket."""
    conninfo = dict(host=params['login_unix_socket'], port=params['port'], user=params['login_user'],
                    dbname=database, application_name='db_backup', connect_timeout=10,
                    # Compiling count(*) costs more than it saves (about 25 ms on 10M rows).
                    options='-c jit=off', password=params.get('login_password') or None)
    try:
        return db.connect(conninfo)
    except db.DRIVER_ERRORS as exc:
        raise BackupError(f"cannot connect to database {database!r} through {params['login_unix_socket']} "
                          f"port {params['port']} as {params['login_user']}: {one_line(exc)}") from exc


def one_line(exc):
    return ' '.join(str(exc).split())


def execute(connection, statement):
    """Run a statement that returns no rows (BEGIN, CREATE DATABASE, ...)."""
    cursor = connection.cursor()
    try:
        cursor.execute(statement)
    except db.DRIVER_ERRORS as exc:
        raise BackupError(f'{statement.split(" PASSWORD ")[0][:200]}: {one_line(exc)}') from exc
    finally:
        cursor.close()


def tool(module, params, name):
    if params.get('bin_dir'):
        path = os.path.join(params['bin_dir'], name)
        if not os.access(path, os.X_OK):
            raise BackupError(f"{name} not found in bin_dir {params['bin_dir']}")
        return path
    path = module.get_bin_path(name)
    if not path:
        raise BackupError(f'{name} not found on PATH; install the PostgreSQL client or set bin_dir')
    return path


def connection_args(params):
    return ['--host', params['login_unix_socket'], '--port', str(params['port']),
            '--username', params['login_user'], '--no-password']


def environ(params):
    return {'PGPASSWORD': params['login_password']} if params.get('login_password') else {}


def run(module, argv, params, what):
    rc, out, err = module.run_command(argv, environ_update=environ(params), umask=0o077, handle_exceptions=False)
    if rc != 0:
        text = ' '.join((err or out).split())
        raise BackupError(f'{what} failed (rc={rc}): {text[-2000:]}')
    return out


def command_line(argv):
    return ' '.join(argv)


def database_exists(connection, name):
    return bool(db.rows(connection, f'SELECT 1 AS found FROM pg_database WHERE datname = {quote_literal(name)}'))


def list_tables(connection):
    return db.rows(connection, TABLES_QUERY)


def count_tables(connection, tables):
    """Exact count(*) of each table (quoted names), one statement per batch of
    COUNT_BATCH tables: few round trips, and few locks held at once."""
    counts = {}
    for start in range(0, len(tables), COUNT_BATCH):
        query = ' UNION ALL '.join(f'SELECT {quote_literal(table)} AS name, count(*) AS n FROM ONLY {table}'
                                   for table in tables[start:start + COUNT_BATCH])
        counts.update((row['name'], int(row['n'])) for row in db.rows(connection, query))
    return counts


def count_rows(params, database, jobs):
    """Exact count(*) of every table, on up to `jobs` connections (largest tables
    spread first)."""
    first = connect(params, database)
    try:
        tables = list_tables(first)
    finally:
        first.close()
    buckets = [[] for _ in range(max(1, min(jobs, len(tables))))]
    loads = [0] * len(buckets)
    for table in sorted(tables, key=lambda t: -int(t['bytes'])):
        index = loads.index(min(loads))
        buckets[index].append(table['name'])
        loads[index] += int(table['bytes']) + 1

    def count_bucket(names):
        connection = connect(params, database)
        try:
            return count_tables(connection, names)
        finally:
            connection.close()

    counts = {}
    for part in parallel_map(count_bucket, buckets, len(buckets)):
        counts.update(part)
    return dict(sorted(counts.items()))


class _Background:
    """run_command in a thread (pg_dump) while the main thread counts rows."""

    def __init__(self, function):
        self.error = None
        self.result = None
        self._thread = threading.Thread(target=self._run, args=(function,), daemon=True)

    def _run(self, function):
        try:
            self.result = function()
        except Exception as exc:  # re-raised in the main thread by join()
            self.error = exc

    def start(self):
        self._thread.start()
        return self

    def wait(self):
        self._thread.join()

    def join(self):
        self._thread.join()
        if self.error:
            raise self.error
        return self.result


# --- the engine ---------------------------------------------------------------------

class PostgresqlEngine(BackupEngine):
    name = 'postgresql'
    backup_spec = BACKUP_SPEC
    restore_spec = RESTORE_SPEC
    defaults = DEFAULTS
    options = OPTIONS
    requires_database = True
    default_database = None

    def check(self, module, params):
        db.require_driver(module)
        compress = params.get('compress')
        if compress is not None and not 0 <= compress <= 9:
            raise BackupError(f'compress must be a gzip level from 0 to 9, got {compress}')

    # backup ------------------------------------------------------------------------

    def describe(self, module, params):
        """Read-only look at the source (check mode): the server answers and the database exists."""
        connection = connect(params, params['database'])
        try:
            return dict(server_version=db.rows(connection, 'SHOW server_version')[0]['server_version'],
                        tables=len(list_tables(connection)))
        finally:
            connection.close()

    def dump_argv(self, module, params, workdir, snapshot='<snapshot>'):
        argv = [tool(module, params, 'pg_dump'), *connection_args(params)]
        if params['format'] == 'directory':
            argv += ['--format=directory', f"--jobs={params['jobs']}", '--file', os.path.join(workdir, 'data')]
        else:
            argv += ['--format=custom', '--file', os.path.join(workdir, 'data.dump')]
        if params.get('compress') is not None:
            argv.append(f"--compress={params['compress']}")
        argv += [f'--snapshot={snapshot}', '--dbname', f"dbname={libpq_value(params['database'])}"]
        return argv

    def globals_argv(self, module, params, workdir):
        return [tool(module, params, 'pg_dumpall'), *connection_args(params), '--globals-only',
                '--file', os.path.join(workdir, 'globals.sql')]

    def backup_commands(self, module, params, workdir):
        return [command_line(self.dump_argv(module, params, workdir)),
                command_line(self.globals_argv(module, params, workdir))]

    def backup(self, module, params, workdir):
        globals_argv = self.globals_argv(module, params, workdir)
        dump_argv = self.dump_argv(module, params, workdir)
        # The globals and the tool's version do not depend on the snapshot: they
        # run beside the dump instead of after it.
        side = [_Background(lambda: run(module, globals_argv, params, 'pg_dumpall --globals-only')).start(),
                _Background(lambda: run(module, [dump_argv[0], '--version'], params, 'pg_dump --version')).start()]
        try:
            connection = connect(params, params['database'])
            try:
                server_version = db.rows(connection, 'SHOW server_version')[0]['server_version']
                database = db.rows(connection, DATABASE_QUERY)[0]
                # Counting uses one core; the others stay with pg_dump.
                execute(connection, 'SET max_parallel_workers_per_gather = 0')
                # The dump and the row counts see one snapshot: the counts are exactly
                # what the dump holds, whatever is written meanwhile.
                execute(connection, 'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY')
                snapshot = db.rows(connection, 'SELECT pg_export_snapshot() AS snapshot')[0]['snapshot']
                dump_argv = self.dump_argv(module, params, workdir, snapshot)
                dump = _Background(lambda: run(module, dump_argv, params, 'pg_dump')).start()
                try:
                    counts = count_tables(connection, [table['name'] for table in list_tables(connection)])
                finally:
                    # The snapshot must live until every pg_dump worker imported it.
                    dump.join()
                execute(connection, 'COMMIT')
            except db.DRIVER_ERRORS as exc:
                raise BackupError(f"cannot back up database {params['database']!r}: {one_line(exc)}") from exc
            finally:
                connection.close()
        except BaseException:
            # Never leave a thread writing into a work directory that is being removed;
            # the first error is the one reported.
            for job in side:
                job.wait()
            raise
        outputs = [job.join() for job in side]
        return dict(
            server_version=server_version,
            tool_version=outputs[1].strip(),
            row_counts=dict(sorted(counts.items())),
            row_count_method="exact count(*) of every table in the dump's snapshot",
            commands=[command_line(dump_argv), command_line(globals_argv)],
            details=dict(format=params['format'], jobs=params['jobs'] if params['format'] == 'directory' else 1,
                         database=database, globals='globals.sql'),
        )

    # restore -----------------------------------------------------------------------

    def restored_from(self, module, params, target):
        """The marker db_restore left on the target database, or None."""
        connection = connect(params, params['maintenance_database'])
        try:
            found = db.rows(connection, "SELECT shobj_description(oid, 'pg_database') AS marker FROM pg_database "
                            f'WHERE datname = {quote_literal(target)}')
        finally:
            connection.close()
        return found[0]['marker'] if found else None

    def target_exists(self, module, params, target):
        connection = connect(params, params['maintenance_database'])
        try:
            return database_exists(connection, target)
        finally:
            connection.close()

    def restore_argv(self, module, params, path, manifest, database):
        source = os.path.join(path, 'data' if manifest['details']['format'] == 'directory' else 'data.dump')
        return [tool(module, params, 'pg_restore'), *connection_args(params), '--exit-on-error',
                f"--jobs={params['jobs']}", '--dbname', f'dbname={libpq_value(database)}', source]

    def missing_roles(self, connection, path, manifest):
        """(roles to create, statements) from the backup's globals file."""
        globals_path = globals_file(path, manifest)
        if globals_path is None:
            return [], []
        with open(globals_path, encoding='utf-8') as handle:
            text = handle.read()
        existing = {row['rolname'] for row in db.rows(connection, 'SELECT rolname FROM pg_roles')}
        missing = [role for role in roles_in(text) if role not in existing]
        return missing, role_statements(text, set(missing))

    def restore_commands(self, module, params, request):
        path, manifest, target, verify_only = request.path, request.manifest, request.target, request.verify_only
        connection = connect(params, params['maintenance_database'])
        try:
            missing, _ = self.missing_roles(connection, path, manifest) if params['globals'] == 'missing' \
                else ([], [])
        finally:
            connection.close()
        scratch = scratch_name(target, 'verify' if verify_only else 'restore', 'XXXXXXXX')
        plan = []
        if missing:
            plan.append(f"create missing roles from globals.sql: {', '.join(missing)}")
        plan.append(f'CREATE DATABASE {quote_ident(scratch)} (encoding and locale of the backup)')
        plan.append(command_line(self.restore_argv(module, params, path, manifest, scratch)))
        plan.append(f"count the rows of {len(manifest['row_counts'])} tables and compare with the manifest")
        if verify_only:
            plan.append(f'DROP DATABASE {quote_ident(scratch)}')
        elif request.replace:
            plan.append(f'swap: {quote_ident(target)} is renamed away and dropped, '
                        f'{quote_ident(scratch)} is renamed to {quote_ident(target)}')
        else:
            plan.append(f'ALTER DATABASE {quote_ident(scratch)} RENAME TO {quote_ident(target)}')
        return plan

    def restore(self, module, params, request):
        path, manifest, target, verify_only = request.path, request.manifest, request.target, request.verify_only
        steps = Steps()
        scratch = scratch_name(target, 'verify' if verify_only else 'restore')
        admin = connect(params, params['maintenance_database'])
        created_roles, scratch_created = [], False
        commands = []
        try:
            if params['globals'] == 'missing':
                created_roles, statements = self.missing_roles(admin, path, manifest)
                if statements:
                    execute(admin, 'BEGIN')
                    try:
                        for statement in statements:
                            execute(admin, statement)
                        execute(admin, 'COMMIT')
                    except BackupError:
                        execute(admin, 'ROLLBACK')
                        created_roles = []
                        raise
            steps.mark('roles')
            self._create_database(admin, scratch, manifest['details']['database'])
            scratch_created = True
            steps.mark('create_database')
            argv = self.restore_argv(module, params, path, manifest, scratch)
            commands.append(command_line(argv))
            run(module, argv, params, 'pg_restore')
            steps.mark('pg_restore')
            counts = count_rows(params, scratch, params['jobs'])
            steps.mark('count_rows')
            request.compare(counts)
            if verify_only:
                self._drop(admin, scratch)
                scratch_created = False
            else:
                # The marker goes on first: the database carries it from its first
                # moment under the target name.
                execute(admin, f'COMMENT ON DATABASE {quote_ident(scratch)} IS {quote_literal(request.marker)}')
                self._put_in_place(admin, scratch, target, request.replace)
                scratch_created = False
            steps.mark('finish')
        except BaseException:
            if scratch_created:
                try:
                    self._drop(admin, scratch)
                except BackupError as exc:
                    module.warn(f'could not drop the scratch database {scratch}: {exc}')
            for role in reversed(created_roles):
                try:
                    execute(admin, f'DROP ROLE IF EXISTS {quote_ident(role)}')
                except BackupError as exc:
                    module.warn(f'could not drop role {role} created for the failed restore: {exc}')
            raise
        finally:
            admin.close()
        return dict(row_counts=counts, steps=steps.seconds, commands=commands, scratch_database=scratch,
                    created_roles=created_roles)

    def _create_database(self, admin, name, database):
        owners = {row['rolname'] for row in db.rows(admin, 'SELECT rolname FROM pg_roles')}
        owner = database.get('owner') if database.get('owner') in owners else 'postgres'
        execute(admin, f"CREATE DATABASE {quote_ident(name)} TEMPLATE template0 "
                       f"ENCODING {quote_literal(database['encoding'])} "
                       f"LC_COLLATE {quote_literal(database['lc_collate'])} "
                       f"LC_CTYPE {quote_literal(database['lc_ctype'])} OWNER {quote_ident(owner)}")

    def _drop(self, admin, name):
        execute(admin, f'DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)')

    def _put_in_place(self, admin, scratch, target, replace):
        if not replace:
            self._disconnect(admin, scratch)
            execute(admin, f'ALTER DATABASE {quote_ident(scratch)} RENAME TO {quote_ident(target)}')
            return
        old = scratch_name(target, 'replaced')
        execute(admin, f'ALTER DATABASE {quote_ident(target)} ALLOW_CONNECTIONS false')
        try:
            self._disconnect(admin, target)
            self._disconnect(admin, scratch)
            execute(admin, f'ALTER DATABASE {quote_ident(target)} RENAME TO {quote_ident(old)}')
        except BackupError:
            execute(admin, f'ALTER DATABASE {quote_ident(target)} ALLOW_CONNECTIONS true')
            raise
        try:
            execute(admin, f'ALTER DATABASE {quote_ident(scratch)} RENAME TO {quote_ident(target)}')
        except BackupError:
            execute(admin, f'ALTER DATABASE {quote_ident(old)} RENAME TO {quote_ident(target)}')
            execute(admin, f'ALTER DATABASE {quote_ident(target)} ALLOW_CONNECTIONS true')
            raise
        # The replaced data is in the safety backup; its database goes.
        self._drop(admin, old)

    def _disconnect(self, admin, name, timeout=10.0):
        """Terminate every other session on a database and wait until they are gone."""
        query = (f'SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity '
                 f'WHERE datname = {quote_literal(name)} AND pid <> pg_backend_pid()')
        deadline = time.monotonic() + timeout
        while db.rows(admin, query) and time.monotonic() < deadline:
            time.sleep(0.1)


def globals_file(path, manifest):
    name = manifest.get('details', {}).get('globals')
    return os.path.join(path, name) if name and name in manifest['files'] else None


ENGINE = PostgresqlEngine()
