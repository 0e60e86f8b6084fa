# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""redis kind of health_probe: PING with ACL authentication, the replication
role, on a replica the master link and the replication offset lag, on a
master the replicas online.

It speaks RESP (Redis's wire protocol) over a plain socket, so the target
needs no Python driver. The small client here is shared with the sentinel kind.
"""

from __future__ import annotations

import socket

from ansible.module_utils.bundle_health import Probe, ProbeError, describe_error

ARGUMENT_SPEC = dict(
    # Same definitions as the postgres kind: probe_argument_spec requires it.
    login_user=dict(type='str'),
    login_password=dict(type='str', no_log=True),
    expect_role=dict(type='str', default='any', choices=['primary', 'replica', 'any']),
    min_streaming_replicas=dict(type='int'),
    max_lag_bytes=dict(type='int'),
)

DEFAULTS = dict(port=6379)

# Redis error prefixes and the short label a reader wants first.
REPLY_ERROR_LABELS = (
    ('WRONGPASS', 'authentication failed'),
    ('NOAUTH', 'authentication required'),
    ('NOPERM', 'permission denied'),
    ('LOADING', 'server loading its dataset'),
    ('MASTERDOWN', 'master link down'),
    ('BUSY', 'server busy running a script'),
)

MAX_BULK_BYTES = 16 * 1024 * 1024


class RespError(Exception):
    """An error reply (-ERR ...) from the server."""


class RespProtocolError(Exception):
    """The server closed the connection or sent something that is not RESP2."""


def encode_command(*args):
    """A command as a RESP array of bulk strings."""
    parts = [b'*%d\r\n' % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b'$%d\r\n%s\r\n' % (len(data), data))
    return b''.join(parts)


def read_reply(stream):
    """One RESP2 reply from a binary file-like object; errors come back as RespError
    instances (not raised), so an array may hold them."""
    line = stream.readline(MAX_BULK_BYTES)
    if not line.endswith(b'\r\n'):
        raise RespProtocolError('connection closed by the server')
    prefix, body = line[:1], line[1:-2]
    if prefix == b'+':
        return body.decode('utf-8', errors='replace')
    if prefix == b'-':
        return RespError(body.decode('utf-8', errors='replace'))
    if prefix == b':':
        return int(body)
    if prefix == b'$':
        length = int(body)
        if length < 0:
            return None
        if length > MAX_BULK_BYTES:
            raise RespProtocolError(f'bulk reply of {length} bytes is too large')
        data = stream.read(length + 2)
        if len(data) != length + 2:
            raise RespProtocolError('connection closed by the server')
        return data[:-2].decode('utf-8', errors='replace')
    if prefix == b'*':
        count = int(body)
        if count < 0:
            return None
        return [read_reply(stream) for _ in range(count)]
    raise RespProtocolError(f'unexpected reply {line[:40]!r}')


class RespClient:
    """A minimal blocking Redis client: connect, AUTH, call, close."""

    def __init__(self, host, port, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.stream = self.sock.makefile('rb')

    def call(self, *args):
        """Send one command and return its reply; raise RespError on an error reply."""
        self.sock.sendall(encode_command(*args))
        reply = read_reply(self.stream)
        if isinstance(reply, RespError):
            raise reply
        return reply

    def auth(self, user, password):
        """AUTH as an ACL user, or as the default user when no user is given."""
        if not password:
            return
        if user:
            self.call('AUTH', user, password)
        else:
            self.call('AUTH', password)

    def close(self):
        try:
            self.stream.close()
        finally:
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def describe_reply_error(exc):
    text = ' '.join(str(exc).split())
    for prefix, label in REPLY_ERROR_LABELS:
        if text.startswith(prefix):
            return f'{label} ({text})'
    return text


def connect(params, host, port, attempt_timeout):
    """An authenticated RespClient, or ProbeError naming what went wrong."""
    try:
        client = RespClient(host, port, attempt_timeout)
    except OSError as exc:
        raise ProbeError(describe_error(exc)) from exc
    try:
        client.auth(params.get('login_user'), params.get('login_password'))
    except RespError as exc:
        client.close()
        raise ProbeError(describe_reply_error(exc)) from exc
    except (OSError, RespProtocolError) as exc:
        client.close()
        raise ProbeError(describe_error(exc)) from exc
    return client


def guarded(client, *args):
    """client.call with every failure turned into a ProbeError."""
    try:
        return client.call(*args)
    except RespError as exc:
        raise ProbeError(describe_reply_error(exc)) from exc
    except (OSError, RespProtocolError) as exc:
        raise ProbeError(describe_error(exc)) from exc


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


def to_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


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


def check_redis(params, attempt_timeout):
    with connect(params, params['host'], params['port'], attempt_timeout) as client:
        if guarded(client, 'PING') != 'PONG':
            raise ProbeError('PING did not answer PONG')
        observed = observe_info(parse_info(guarded(client, 'INFO', 'server', 'replication')))
    if (observed['role'] == 'replica' and params.get('max_lag_bytes') is not None
            and observed['master_link_status'] == 'up'):
        observed.update(master_offset_lag(params, observed, attempt_timeout))
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


def evaluate_redis(observed, params):
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


def redis_expectations(params):
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


def describe_redis(observed):
    version = observed.get('redis_version')
    if observed['role'] == 'primary':
        return f"primary {version}, {observed['online_replicas']}/{observed['connected_replicas']} replicas online"
    lag = observed.get('lag_bytes')
    return (f"replica {version} of {observed.get('master_host')}:{observed.get('master_port')}, "
            f"link {observed.get('master_link_status')}" + ('' if lag is None else f', offset lag {lag} B'))


PROBE = Probe(
    kind='redis',
    argument_spec=ARGUMENT_SPEC,
    check=check_redis,
    evaluate=evaluate_redis,
    expectations=redis_expectations,
    defaults=DEFAULTS,
    describe=describe_redis,
)
