# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A minimal RESP2 client (Redis's wire protocol over a plain socket) for the
redis and sentinel kinds, so a target needs no Python driver."""

from __future__ import annotations

import socket

from ansible_collections.bundle.stack.plugins.module_utils.health.probe import ProbeError, describe_error

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


def to_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
