# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""mysql kind of health_probe: MariaDB or MySQL answers SELECT 1, has the
expected role, and on a replica both replication threads run with little lag.

A server is a replica when SHOW REPLICA STATUS returns a row, else a primary.
Column names differ between MariaDB (Slave_IO_Running, Seconds_Behind_Master,
Using_Gtid) and MySQL 8 (Replica_IO_Running, Seconds_Behind_Source,
Auto_Position); normalize_replica_status() maps both to one observed dict.
"""

from __future__ import annotations

from ansible_collections.bundle.stack.plugins.module_utils.db import mysql as db
from ansible_collections.bundle.stack.plugins.module_utils.health.probe import (
    Probe,
    ProbeError,
    describe_error,
    replication_expectations,
    shared_options,
    socket_or_host_endpoint,
)

ARGUMENT_SPEC = shared_options('login_user', 'login_password', 'login_unix_socket', 'database', 'expect_role',
                               'max_lag_seconds', 'warn_lag_seconds', 'min_streaming_replicas')

# MySQL server error codes worth a short label of their own.
ER_ACCESS_DENIED = 1045
ER_PARSE_ERROR = 1064
ER_SPECIFIC_ACCESS_DENIED = 1227

# Threads that stream the binary log to a replica, as the primary lists them.
CONNECTED_REPLICAS_QUERY = ("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST "
                            "WHERE COMMAND IN ('Binlog Dump', 'Binlog Dump GTID')")

# First name wins: MySQL 8.0.22+ and MariaDB 10.5.1+ say Replica/Source where
# older servers (and MariaDB still, for most columns) say Slave/Master.
STATUS_COLUMNS = dict(
    io_running=('Replica_IO_Running', 'Slave_IO_Running'),
    sql_running=('Replica_SQL_Running', 'Slave_SQL_Running'),
    lag_seconds=('Seconds_Behind_Source', 'Seconds_Behind_Master'),
    source_host=('Source_Host', 'Master_Host'),
    source_port=('Source_Port', 'Master_Port'),
    last_io_error=('Last_IO_Error',),
    last_sql_error=('Last_SQL_Error',),
)


def describe_mysql_error(exc):
    """describe_error() plus the MySQL error codes it has no words for."""
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    text = describe_error(exc)
    if code == ER_ACCESS_DENIED:
        return f'authentication failed ({text})'
    if code == ER_SPECIFIC_ACCESS_DENIED:
        return f'missing privilege ({text})'
    return text


def mysql_connect(params, attempt_timeout):
    """Autocommit connection through the socket when one is given, else TCP.
    No option file is read: what the task passes is what is used."""
    kwargs = dict(user=params['login_user'], password=params['login_password'] or '',
                  connect_timeout=attempt_timeout, read_timeout=attempt_timeout,
                  write_timeout=attempt_timeout, autocommit=True, charset='utf8mb4')
    if params['login_unix_socket']:
        kwargs['unix_socket'] = params['login_unix_socket']
    else:
        kwargs.update(host=params['host'], port=params['port'])
    if params.get('database'):
        kwargs['database'] = params['database']
    return db.connect(dict_rows=True, **kwargs)


def mysql_rows(connection, query):
    with connection.cursor() as cursor:
        cursor.execute(query)
        return list(cursor.fetchall())


def replica_status(connection):
    """SHOW REPLICA STATUS, or SHOW SLAVE STATUS on servers that predate it."""
    try:
        return mysql_rows(connection, 'SHOW REPLICA STATUS')
    except db.DRIVER_ERRORS as exc:
        if exc.args[:1] != (ER_PARSE_ERROR,):
            raise
        return mysql_rows(connection, 'SHOW SLAVE STATUS')


def observe_mysql(connection):
    mysql_rows(connection, 'SELECT 1')
    server = mysql_rows(connection, 'SELECT VERSION() AS version, @@global.read_only AS read_only')[0]
    status = replica_status(connection)
    if status:
        observed = dict(role='replica', **normalize_replica_status(status[0]))
    else:
        observed = dict(role='primary',
                        connected_replicas=int(mysql_rows(connection, CONNECTED_REPLICAS_QUERY)[0]['n']))
    observed.update(server_version=server['version'], read_only=bool(int(server['read_only'])))
    return observed


def normalize_replica_status(row):
    """One row of SHOW REPLICA STATUS, MariaDB's or MySQL's, as plain values."""
    observed = {}
    for key, columns in STATUS_COLUMNS.items():
        observed[key] = next((row[column] for column in columns if column in row), None)
    for key in ('last_io_error', 'last_sql_error'):
        observed[key] = observed[key] or None
    if observed['lag_seconds'] is not None:
        observed['lag_seconds'] = int(observed['lag_seconds'])
    if observed['source_port'] is not None:
        observed['source_port'] = int(observed['source_port'])
    # MariaDB: Using_Gtid is No, Slave_Pos or Current_Pos. MySQL: Auto_Position 0 or 1.
    if 'Using_Gtid' in row:
        observed['using_gtid'] = row['Using_Gtid']
    elif 'Auto_Position' in row:
        observed['using_gtid'] = 'Auto_Position' if int(row['Auto_Position']) else 'No'
    else:
        observed['using_gtid'] = None
    return observed


class MysqlProbe(Probe):
    kind = 'mysql'
    argument_spec = ARGUMENT_SPEC
    defaults = dict(port=3306, login_user='root')

    def preflight(self, module, params):
        db.require_driver(module)

    def endpoint(self, params):
        return socket_or_host_endpoint(params)

    def check(self, params, attempt_timeout):
        try:
            connection = mysql_connect(params, attempt_timeout)
            try:
                return observe_mysql(connection)
            finally:
                connection.close()
        except db.DRIVER_ERRORS as exc:
            raise ProbeError(describe_mysql_error(exc)) from exc

    def evaluate(self, observed, params):
        """Problems and warnings of an observed server against the expectations."""
        problems, warnings = [], []
        role = observed['role']
        expect_role = params.get('expect_role', 'any')
        if expect_role not in ('any', role):
            # The other checks assume the right role; their findings would only confuse.
            return [f'role={role}'], []
        if role == 'replica':
            for thread, key, error in (('IO', 'io_running', 'last_io_error'), ('SQL', 'sql_running', 'last_sql_error')):
                if observed.get(key) != 'Yes':
                    problem = f"replica {thread} thread {observed.get(key) or 'unknown'}"
                    if observed.get(error):
                        problem += f' (last error: {observed[error]})'
                    problems.append(problem)
            if expect_role == 'replica' and not observed.get('read_only'):
                problems.append('read_only=OFF on a replica (writes would diverge from the primary)')
            # Seconds behind is NULL exactly when a thread is down, which is reported above.
            lag = observed.get('lag_seconds')
            max_lag = params.get('max_lag_seconds')
            warn_lag = params.get('warn_lag_seconds')
            if lag is not None and max_lag is not None and lag > max_lag:
                problems.append(f'{lag:g} s behind the primary > {max_lag:g} s')
            elif lag is not None and warn_lag is not None and lag > warn_lag:
                warnings.append(f'{lag:g} s behind the primary, above warning threshold {warn_lag:g} s')
        else:
            if expect_role == 'primary' and observed.get('read_only'):
                problems.append('read_only=ON on the primary (applications cannot write)')
            wanted = params.get('min_streaming_replicas')
            count = observed.get('connected_replicas')
            if wanted is not None and count < wanted:
                problems.append(f"{count} connected replica{'' if count == 1 else 's'} (need >= {wanted})")
        return problems, warnings

    def expectations(self, params):
        return replication_expectations(params, {
            'replica': (dict(io_running='Yes', sql_running='Yes', read_only=True),
                        ['replica IO and SQL threads running', 'read_only=ON']),
            'primary': (dict(read_only=False), ['read_only=OFF']),
        }, 'connected replicas')

    def describe(self, observed):
        version = observed['server_version']
        if observed['role'] == 'primary':
            count = observed['connected_replicas']
            return f"primary {version}, {count} connected replica{'' if count == 1 else 's'}"
        return (f"replica {version} of {observed.get('source_host')}, IO {observed.get('io_running')}, "
                f"SQL {observed.get('sql_running')}, {observed.get('lag_seconds')} s behind, "
                f"gtid {observed.get('using_gtid')}")


PROBE = MysqlProbe()
