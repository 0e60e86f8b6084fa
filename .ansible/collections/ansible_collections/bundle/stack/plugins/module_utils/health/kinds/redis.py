# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""redis kind of health_probe: PING with ACL authentication, the replication
role, on a replica the master link and the replication offset lag, on a
master the replicas online.

It speaks RESP (Redis's wire protocol) over a plain socket (health/resp.py),
so the target needs no Python driver.
"""

from __future__ import annotations

from ansible_collections.bundle.stack.plugins.module_utils.health.probe import Probe, ProbeError, shared_options
from ansible_collections.bundle.stack.plugins.module_utils.health.resp import connect, guarded, to_int

ARGUMENT_SPEC = shared_options('login_user', 'login_password', 'expect_role', 'min_streaming_replicas',
                               'max_lag_bytes')


def parse_info(text):
    """INFO output as a dict; 'slaveN' entries become dicts of their fields."""
    info = {}
    for line in text.splitlines():
        if not line or line.startswith('#') or ':' not in line:
            continue
        key, value = line.split(':', 1)
        if key.startswith('slave') and key[5:].isdigit() and '=' in value:
            value = dict(field.split('=', 1) for field in value.split(',') if '=' in field)
        info[key] = value
    return info


def observe_info(info):
    """The observed dict of a server from its parsed INFO server and replication."""
    is_master = info.get('role') == 'master'
    observed = dict(role='primary' if is_master else 'replica',
                    redis_version=info.get('redis_version'),
                    repl_offset=to_int(info.get('master_repl_offset')))
    if is_master:
        replicas = [dict(ip=entry.get('ip'), port=to_int(entry.get('port')), state=entry.get('state'),
                         offset=to_int(entry.get('offset')), lag=to_int(entry.get('lag')))
                    for key, entry in sorted(info.items()) if isinstance(entry, dict)]
        observed['replicas'] = replicas
        observed['connected_replicas'] = to_int(info.get('connected_slaves')) or 0
        observed['online_replicas'] = sum(1 for replica in replicas if replica['state'] == 'online')
    else:
        observed['master_host'] = info.get('master_host')
        observed['master_port'] = to_int(info.get('master_port'))
        observed['master_link_status'] = info.get('master_link_status')
        observed['master_sync_in_progress'] = info.get('master_sync_in_progress') == '1'
        observed['master_last_io_seconds_ago'] = to_int(info.get('master_last_io_seconds_ago'))
        # The offset this replica has processed; master_repl_offset is the same on a replica.
        observed['repl_offset'] = to_int(info.get('slave_repl_offset', info.get('master_repl_offset')))
    return observed


def master_offset_lag(params, observed, attempt_timeout):
    """Bytes this replica is behind its master: the master's offset minus its own.

    The replica is read first, so writes between the two reads count as lag:
    the figure errs on the high side, never the low one."""
    try:
        with connect(params, observed['master_host'], observed['master_port'], attempt_timeout) as master:
            info = parse_info(guarded(master, 'INFO', 'replication'))
    except ProbeError as exc:
        return dict(lag_bytes=None, master_error=str(exc))
    master_offset = to_int(info.get('master_repl_offset'))
    if master_offset is None or observed['repl_offset'] is None:
        return dict(lag_bytes=None, master_error='no replication offset in INFO')
    return dict(lag_bytes=max(0, master_offset - observed['repl_offset']))


class RedisProbe(Probe):
    kind = 'redis'
    argument_spec = ARGUMENT_SPEC
    defaults = dict(port=6379)

    def check(self, params, attempt_timeout):
        with connect(params, params['host'], params['port'], attempt_timeout) as client:
            if guarded(client, 'PING') != 'PONG':
                raise ProbeError('PING did not answer PONG')
            observed = observe_info(parse_info(guarded(client, 'INFO', 'server', 'replication')))
        if (observed['role'] == 'replica' and params.get('max_lag_bytes') is not None
                and observed['master_link_status'] == 'up'):
            observed.update(master_offset_lag(params, observed, attempt_timeout))
        return observed

    def evaluate(self, observed, params):
        """Problems and warnings of an observed server against the expectations."""
        problems, warnings = [], []
        role = observed['role']
        if params.get('expect_role', 'any') not in ('any', role):
            return [f'role={role}'], []
        if role == 'replica':
            master = f"{observed.get('master_host')}:{observed.get('master_port')}"
            if observed.get('master_link_status') != 'up':
                problems.append(f"master link {observed.get('master_link_status') or 'unknown'} (master {master})")
            elif observed.get('master_sync_in_progress'):
                problems.append(f'initial sync from {master} in progress')
            max_lag_bytes = params.get('max_lag_bytes')
            if max_lag_bytes is not None and observed.get('master_link_status') == 'up':
                lag = observed.get('lag_bytes')
                if lag is None:
                    problems.append(f"offset lag unknown ({observed.get('master_error') or 'not measured'})")
                elif lag > max_lag_bytes:
                    problems.append(f'offset lag {lag} bytes > {max_lag_bytes} bytes')
        else:
            wanted = params.get('min_streaming_replicas')
            online = observed.get('online_replicas', 0)
            if wanted is not None and online < wanted:
                problems.append(f"{online} online replica{'' if online == 1 else 's'} (need >= {wanted})")
            for replica in observed.get('replicas', []):
                if replica['state'] != 'online':
                    warnings.append(f"replica {replica['ip']}:{replica['port']} is {replica['state']}")
        return problems, warnings

    def expectations(self, params):
        role = params.get('expect_role', 'any')
        expected = {'ping': 'PONG', 'role': role}
        phrases = ['PING answering' if role == 'any' else f'role={role}']
        if role == 'replica':
            expected['master_link_status'] = 'up'
            phrases.append('master link up')
        if params.get('max_lag_bytes') is not None:
            expected['max_lag_bytes'] = params['max_lag_bytes']
            phrases.append(f"offset lag <= {params['max_lag_bytes']} bytes")
        if params.get('min_streaming_replicas') is not None:
            expected['min_online_replicas'] = params['min_streaming_replicas']
            phrases.append(f"online replicas >= {params['min_streaming_replicas']}")
        return expected, phrases

    def describe(self, observed):
        version = observed.get('redis_version')
        if observed['role'] == 'primary':
            return f"primary {version}, {observed['online_replicas']}/{observed['connected_replicas']} replicas online"
        lag = observed.get('lag_bytes')
        return (f"replica {version} of {observed.get('master_host')}:{observed.get('master_port')}, "
                f"link {observed.get('master_link_status')}" + ('' if lag is None else f', offset lag {lag} B'))


PROBE = RedisProbe()
