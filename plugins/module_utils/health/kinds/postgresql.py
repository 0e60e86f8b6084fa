# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""postgres kind of health_probe, and the connection it shares with the
pgbouncer kind (both speak the PostgreSQL protocol)."""

from __future__ import annotations

from ansible_collections.bundle.stack.plugins.module_utils.db import postgresql as db
from ansible_collections.bundle.stack.plugins.module_utils.health.probe import (
    Probe,
    ProbeError,
    describe_error,
    json_safe_number,
    replication_expectations,
    shared_options,
    socket_or_host_endpoint,
)

ARGUMENT_SPEC = shared_options('login_user', 'login_password', 'login_unix_socket', 'database', 'expect_role',
                               'max_lag_seconds', 'max_lag_bytes', 'warn_lag_seconds', 'min_streaming_replicas')

# A restarted replica's receiver starts at the beginning of the WAL segment that
# holds its replay point, so on an idle primary "received" stays behind
# "replayed" and no transaction has a replay time yet: that is lag 0, not unknown.
REPLICA_LAG_QUERY = """
SELECT greatest(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0) AS lag_bytes,
       CASE WHEN pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())
       END AS lag_seconds
"""


def probe_connect(conninfo, attempt_timeout):
    """An autocommit connection that gives up within the attempt and names the probe
    in pg_stat_activity. conninfo keys are libpq's; None values are left out."""
    return db.connect(dict(conninfo, connect_timeout=db.libpq_timeout(attempt_timeout),
                           application_name='health_probe'))


class PostgresProbe(Probe):
    kind = 'postgresql'
    argument_spec = ARGUMENT_SPEC
    defaults = dict(port=5432, login_user='postgres', database='postgres')

    def preflight(self, module, params):
        db.require_driver(module)

    def endpoint(self, params):
        return socket_or_host_endpoint(params)

    def check(self, params, attempt_timeout):
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
            connection = probe_connect(conninfo, attempt_timeout)
            try:
                return observe_postgres(connection)
            finally:
                connection.close()
        except db.DRIVER_ERRORS as exc:
            raise ProbeError(describe_error(exc)) from exc

    def evaluate(self, observed, params):
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

    def expectations(self, params):
        return replication_expectations(params, {
            'replica': (dict(wal_receiver_status='streaming'), ['wal receiver streaming']),
        }, 'streaming replicas')

    def describe(self, observed):
        if observed['role'] == 'primary':
            return f"primary {observed['server_version']}, {observed['streaming_replicas']} streaming replicas"
        return (f"replica {observed['server_version']}, wal receiver {observed.get('wal_receiver_status')}, "
                f"lag {observed.get('lag_seconds')} s / {observed.get('lag_bytes')} B")


def observe_postgres(connection):
    db.rows(connection, 'SELECT 1')
    state = db.rows(connection, "SELECT pg_is_in_recovery() AS in_recovery, "
                                "current_setting('server_version') AS server_version")[0]
    observed = dict(role='replica' if state['in_recovery'] else 'primary',
                    server_version=state['server_version'])
    if state['in_recovery']:
        # status is NULL without pg_monitor (or superuser) rights; no row means no receiver.
        receivers = db.rows(connection, 'SELECT status FROM pg_stat_wal_receiver')
        observed['wal_receiver_status'] = receivers[0]['status'] if receivers else None
        lag = db.rows(connection, REPLICA_LAG_QUERY)[0]
        observed['lag_bytes'] = json_safe_number(lag['lag_bytes'])
        observed['lag_seconds'] = json_safe_number(lag['lag_seconds'])
    else:
        replicas = db.rows(connection, "SELECT count(*) AS streaming FROM pg_stat_replication "
                                       "WHERE state = 'streaming'")
        observed['streaming_replicas'] = int(replicas[0]['streaming'])
    return observed


PROBE = PostgresProbe()
