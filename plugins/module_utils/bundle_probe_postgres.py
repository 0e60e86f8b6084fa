# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""postgres kind of health_probe, and the PostgreSQL driver helpers it shares
with the pgbouncer kind (both speak the PostgreSQL protocol)."""

from __future__ import annotations

import math
import traceback

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.bundle_health import (
    Probe,
    ProbeError,
    describe_error,
    json_safe_number,
    replication_expectations,
    socket_or_host_endpoint,
)

# Debian's python3-psycopg2 is what the target hosts have; psycopg 3 is the
# fallback (the control node's venv has it).
try:
    import psycopg2
except ImportError:
    psycopg2 = None
    PSYCOPG2_IMPORT_ERROR = traceback.format_exc()
else:
    PSYCOPG2_IMPORT_ERROR = None

try:
    import psycopg
except ImportError:
    psycopg = None

PG_DRIVER_ERRORS = tuple(driver.Error for driver in (psycopg2, psycopg) if driver is not None)

ARGUMENT_SPEC = dict(
    login_user=dict(type='str'),
    login_password=dict(type='str', no_log=True),
    login_unix_socket=dict(type='str'),
    database=dict(type='str'),
    expect_role=dict(type='str', default='any', choices=['primary', 'replica', 'any']),
    max_lag_seconds=dict(type='float'),
    max_lag_bytes=dict(type='int'),
    warn_lag_seconds=dict(type='float'),
    min_streaming_replicas=dict(type='int'),
)

DEFAULTS = dict(port=5432, login_user='postgres', database='postgres')

# A restarted replica's receiver starts at the beginning of the WAL segment that
# holds its replay point, so on an idle primary "received" stays behind
# "replayed" and no transaction has a replay time yet: that is lag 0, not unknown.
REPLICA_LAG_QUERY = """
SELECT greatest(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0) AS lag_bytes,
       CASE WHEN pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())
       END AS lag_seconds
"""


def require_pg_driver(module, params):
    """Fail early, with the install hint, when neither psycopg2 nor psycopg is there."""
    if not PG_DRIVER_ERRORS:
        module.fail_json(msg=missing_required_lib('psycopg2'), exception=PSYCOPG2_IMPORT_ERROR)


def libpq_timeout(seconds):
    # libpq takes whole seconds, treats 0 as "wait forever" and anything below 2 as 2.
    return max(2, int(math.ceil(seconds)))


def pg_connect(conninfo, attempt_timeout):
    """Autocommit connection using simple-protocol queries, which pgbouncer's
    admin console requires. conninfo keys are libpq's; None values are left out."""
    kwargs = {key: value for key, value in conninfo.items() if value is not None}
    kwargs['connect_timeout'] = libpq_timeout(attempt_timeout)
    kwargs['application_name'] = 'health_probe'
    if psycopg2 is not None:
        connection = psycopg2.connect(**kwargs)
        connection.autocommit = True
        return connection
    # psycopg 3: ClientCursor binds client side and, without parameters, sends
    # plain simple-protocol queries; never prepare statements.
    return psycopg.connect(autocommit=True, cursor_factory=psycopg.ClientCursor,
                           prepare_threshold=None, **kwargs)


def pg_rows(connection, query):
    """Rows of a query as a list of dicts keyed by column name."""
    cursor = connection.cursor()
    try:
        cursor.execute(query)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        cursor.close()


def check_postgres(params, attempt_timeout):
    conninfo = dict(
        host=params['login_unix_socket'] or params['host'],
        port=params['port'],
        user=params['login_user'],
        password=params['login_password'],
        dbname=params['database'],
        # A server that accepts connections but hangs must not hang the probe.
        options=f'-c statement_timeout={int(attempt_timeout * 1000)}',
    )
    try:
        connection = pg_connect(conninfo, attempt_timeout)
        try:
            return observe_postgres(connection)
        finally:
            connection.close()
    except PG_DRIVER_ERRORS as exc:
        raise ProbeError(describe_error(exc)) from exc


def observe_postgres(connection):
    pg_rows(connection, 'SELECT 1')
    state = pg_rows(connection, "SELECT pg_is_in_recovery() AS in_recovery, "
                                "current_setting('server_version') AS server_version")[0]
    observed = dict(role='replica' if state['in_recovery'] else 'primary',
                    server_version=state['server_version'])
    if state['in_recovery']:
        # status is NULL without pg_monitor (or superuser) rights; no row means no receiver.
        receivers = pg_rows(connection, 'SELECT status FROM pg_stat_wal_receiver')
        observed['wal_receiver_status'] = receivers[0]['status'] if receivers else None
        lag = pg_rows(connection, REPLICA_LAG_QUERY)[0]
        observed['lag_bytes'] = json_safe_number(lag['lag_bytes'])
        observed['lag_seconds'] = json_safe_number(lag['lag_seconds'])
    else:
        replicas = pg_rows(connection, "SELECT count(*) AS streaming FROM pg_stat_replication "
                                       "WHERE state = 'streaming'")
        observed['streaming_replicas'] = int(replicas[0]['streaming'])
    return observed


def evaluate_postgres(observed, params):
    """Problems and warnings of an observed server against the expectations."""
    problems, warnings = [], []
    role = observed['role']
    if params.get('expect_role', 'any') not in ('any', role):
        # The other checks assume the right role; their findings would only confuse.
        return [f'role={role}'], []
    if role == 'replica':
        status = observed.get('wal_receiver_status')
        if status != 'streaming':
            problems.append(f"wal receiver {status or 'not running'}")
        lag_seconds = observed.get('lag_seconds')
        lag_bytes = observed.get('lag_bytes')
        max_lag_seconds = params.get('max_lag_seconds')
        max_lag_bytes = params.get('max_lag_bytes')
        warn_lag_seconds = params.get('warn_lag_seconds')
        if max_lag_seconds is not None:
            if lag_seconds is None:
                problems.append('lag in seconds unknown (nothing replayed yet)')
            elif lag_seconds > max_lag_seconds:
                problems.append(f'lag {lag_seconds:g} s > {max_lag_seconds:g} s')
        if max_lag_bytes is not None:
            if lag_bytes is None:
                problems.append('lag in bytes unknown (no WAL received yet)')
            elif lag_bytes > max_lag_bytes:
                problems.append(f'lag {lag_bytes} bytes > {max_lag_bytes} bytes')
        if warn_lag_seconds is not None:
            if lag_seconds is None:
                warnings.append('lag in seconds unknown (nothing replayed yet)')
            elif lag_seconds > warn_lag_seconds and not (
                    max_lag_seconds is not None and lag_seconds > max_lag_seconds):
                warnings.append(f'lag {lag_seconds:g} s above warning threshold {warn_lag_seconds:g} s')
    else:
        wanted = params.get('min_streaming_replicas')
        count = observed.get('streaming_replicas')
        if wanted is not None and count < wanted:
            problems.append(f"{count} streaming replica{'' if count == 1 else 's'} (need >= {wanted})")
    return problems, warnings


def postgres_expectations(params):
    return replication_expectations(params, {
        'replica': (dict(wal_receiver_status='streaming'), ['wal receiver streaming']),
    }, 'streaming replicas')


def describe_postgres(observed):
    if observed['role'] == 'primary':
        return f"primary {observed['server_version']}, {observed['streaming_replicas']} streaming replicas"
    return (f"replica {observed['server_version']}, wal receiver {observed.get('wal_receiver_status')}, "
            f"lag {observed.get('lag_seconds')} s / {observed.get('lag_bytes')} B")


PROBE = Probe(
    kind='postgres',
    argument_spec=ARGUMENT_SPEC,
    check=check_postgres,
    evaluate=evaluate_postgres,
    expectations=postgres_expectations,
    defaults=DEFAULTS,
    preflight=require_pg_driver,
    describe=describe_postgres,
    endpoint=socket_or_host_endpoint,
)
