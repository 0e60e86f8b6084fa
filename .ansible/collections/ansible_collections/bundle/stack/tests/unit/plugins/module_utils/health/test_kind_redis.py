"""redis kind of health_probe: the RESP client and the pure verdict logic, then
health_probe itself against real Redis servers on 127.0.0.1 (see
tests/support/throwaway_redis.py)."""

import io
import json

import health_probe
import pytest
from ansible_collections.bundle.stack.plugins.module_utils.health.kinds.redis import PROBE, observe_info, parse_info
from ansible_collections.bundle.stack.plugins.module_utils.health.resp import (
    RespClient,
    RespError,
    RespProtocolError,
    describe_reply_error,
    encode_command,
    read_reply,
)

from tests.support import throwaway_redis
from tests.support.ports import free_port
from tests.support.throwaway_redis import PASSWORDS

evaluate_redis, redis_expectations = PROBE.evaluate, PROBE.expectations

# --- RESP -------------------------------------------------------------------------


def test_encode_command_is_an_array_of_bulk_strings():
    assert encode_command('AUTH', 'monitor', 'pä') == b'*3\r\n$4\r\nAUTH\r\n$7\r\nmonitor\r\n$3\r\np\xc3\xa4\r\n'
    assert encode_command('INFO', 7) == b'*2\r\n$4\r\nINFO\r\n$1\r\n7\r\n'


@pytest.mark.parametrize('wire, value', [
    (b'+PONG\r\n', 'PONG'),
    (b':42\r\n', 42),
    (b'$5\r\nhello\r\n', 'hello'),
    (b'$-1\r\n', None),
    (b'$0\r\n\r\n', ''),
    (b'*2\r\n$1\r\na\r\n:1\r\n', ['a', 1]),
    (b'*2\r\n*1\r\n+x\r\n$-1\r\n', [['x'], None]),
    (b'*-1\r\n', None),
])
def test_read_reply(wire, value):
    assert read_reply(io.BytesIO(wire)) == value


def test_read_reply_returns_error_replies_as_values():
    reply = read_reply(io.BytesIO(b'-WRONGPASS invalid username-password pair\r\n'))
    assert isinstance(reply, RespError)
    assert describe_reply_error(reply) == ('authentication failed '
                                           '(WRONGPASS invalid username-password pair)')
    nested = read_reply(io.BytesIO(b'*2\r\n+OK\r\n-ERR no\r\n'))
    assert nested[0] == 'OK' and isinstance(nested[1], RespError)


@pytest.mark.parametrize('wire', [b'', b'+PON', b'$5\r\nhel', b'?what\r\n'])
def test_read_reply_rejects_truncated_or_foreign_data(wire):
    with pytest.raises(RespProtocolError):
        read_reply(io.BytesIO(wire))


@pytest.mark.parametrize('text, label', [
    ('NOAUTH Authentication required.', 'authentication required (NOAUTH Authentication required.)'),
    ("NOPERM this user has no permissions to run the 'info' command",
     "permission denied (NOPERM this user has no permissions to run the 'info' command)"),
    ('LOADING Redis is loading the dataset in memory', 'server loading its dataset (LOADING Redis is loading '
                                                       'the dataset in memory)'),
    ('ERR unknown command', 'ERR unknown command'),
])
def test_reply_errors_get_a_short_label(text, label):
    assert describe_reply_error(RespError(text)) == label


# --- INFO and the verdict ----------------------------------------------------------

MASTER_INFO = """# Server\r
redis_version:7.0.15\r
\r
# Replication\r
role:master\r
connected_slaves:2\r
min_slaves_good_slaves:2\r
slave0:ip=10.0.0.2,port=6379,state=online,offset=1200,lag=0\r
slave1:ip=10.0.0.3,port=6379,state=wait_bgsave,offset=0,lag=1\r
master_repl_offset:1234\r
"""

REPLICA_INFO = """# Replication
role:slave
master_host:10.0.0.1
master_port:6379
master_link_status:up
master_last_io_seconds_ago:1
master_sync_in_progress:0
slave_read_repl_offset:1200
slave_repl_offset:1200
master_repl_offset:1200
"""


def test_info_of_a_master():
    observed = observe_info(parse_info(MASTER_INFO))
    assert observed == dict(
        role='primary', redis_version='7.0.15', repl_offset=1234, connected_replicas=2, online_replicas=1,
        replicas=[dict(ip='10.0.0.2', port=6379, state='online', offset=1200, lag=0),
                  dict(ip='10.0.0.3', port=6379, state='wait_bgsave', offset=0, lag=1)])


def test_info_of_a_replica():
    observed = observe_info(parse_info(REPLICA_INFO))
    assert observed == dict(role='replica', redis_version=None, repl_offset=1200, master_host='10.0.0.1',
                            master_port=6379, master_link_status='up', master_sync_in_progress=False,
                            master_last_io_seconds_ago=1)


REPLICA = dict(role='replica', master_host='10.0.0.1', master_port=6379, master_link_status='up',
               master_sync_in_progress=False, lag_bytes=10)
MASTER = dict(role='primary', online_replicas=2, connected_replicas=2,
              replicas=[dict(ip='10.0.0.2', port=6379, state='online')] * 2)


@pytest.mark.parametrize('observed, params, problems, warnings', [
    (REPLICA, {}, [], []),
    (REPLICA, dict(expect_role='replica', max_lag_bytes=10), [], []),
    (REPLICA, dict(max_lag_bytes=9), ['offset lag 10 bytes > 9 bytes'], []),
    (dict(REPLICA, lag_bytes=None, master_error='connection refused'), dict(max_lag_bytes=100),
     ['offset lag unknown (connection refused)'], []),
    (dict(REPLICA, master_link_status='down'), dict(max_lag_bytes=100),
     ['master link down (master 10.0.0.1:6379)'], []),
    (dict(REPLICA, master_sync_in_progress=True), {}, ['initial sync from 10.0.0.1:6379 in progress'], []),
    (REPLICA, dict(expect_role='primary', max_lag_bytes=1), ['role=replica'], []),
    (MASTER, dict(expect_role='primary', min_streaming_replicas=2), [], []),
    (MASTER, dict(min_streaming_replicas=3), ['2 online replicas (need >= 3)'], []),
    (dict(MASTER, online_replicas=1, replicas=[dict(ip='10.0.0.2', port=6379, state='online'),
                                               dict(ip='10.0.0.3', port=6379, state='wait_bgsave')]),
     dict(min_streaming_replicas=1), [], ['replica 10.0.0.3:6379 is wait_bgsave']),
    (MASTER, dict(expect_role='replica'), ['role=primary'], []),
])
def test_evaluate_redis(observed, params, problems, warnings):
    assert evaluate_redis(observed, params) == (problems, warnings)


def test_expectations_name_what_is_required():
    expected, phrases = redis_expectations(dict(expect_role='replica', max_lag_bytes=1024))
    assert expected == {'ping': 'PONG', 'role': 'replica', 'master_link_status': 'up', 'max_lag_bytes': 1024}
    assert phrases == ['role=replica', 'master link up', 'offset lag <= 1024 bytes']
    assert redis_expectations({'min_streaming_replicas': 2})[1] == ['PING answering', 'online replicas >= 2']


# --- health_probe against real servers ---------------------------------------------

@pytest.fixture(scope='module')
def servers():
    yield from throwaway_redis.cluster()


def probe(run_module, check_mode=False, **args):
    return run_module(health_probe.main, args, check_mode=check_mode)


def monitor(**args):
    return dict(kind='redis', login_user='monitor', login_password=PASSWORDS['monitor'], **args)


@pytest.fixture(scope='module')
def replica_in_sync(servers):
    def linked():
        with RespClient('127.0.0.1', servers['replica'], 2) as client:
            client.auth('monitor', PASSWORDS['monitor'])
            return 'master_link_status:up' in client.call('INFO', 'replication')
    throwaway_redis.wait_until(linked, 30, 'the replica linking to its master')
    return servers


def test_master_with_its_replica_online(run_module, replica_in_sync):
    result = probe(run_module, **monitor(port=replica_in_sync['master'], expect_role='primary',
                                         min_streaming_replicas=1, timeout=10))
    assert result['verdict'] == 'pass', result['msg']
    assert result['observed']['role'] == 'primary'
    assert result['observed']['online_replicas'] == 1
    assert result['observed']['redis_version']
    assert 'primary' in result['msg'] and '1/1 replicas online' in result['msg']


def test_replica_follows_with_a_measured_lag(run_module, replica_in_sync):
    result = probe(run_module, **monitor(port=replica_in_sync['replica'], expect_role='replica',
                                         max_lag_bytes=1048576, timeout=10))
    assert result['verdict'] == 'pass', result['msg']
    observed = result['observed']
    assert (observed['master_host'], observed['master_port']) == ('127.0.0.1', replica_in_sync['master'])
    assert observed['master_link_status'] == 'up'
    assert isinstance(observed['lag_bytes'], int) and observed['lag_bytes'] >= 0


def test_replica_when_a_primary_is_expected(run_module, replica_in_sync):
    result = probe(run_module, **monitor(port=replica_in_sync['replica'], expect_role='primary', timeout=0))
    assert result['verdict'] == 'fail'
    assert 'expected role=primary; saw role=replica' in result['msg']


def test_too_few_replicas(run_module, replica_in_sync):
    result = probe(run_module, **monitor(port=replica_in_sync['master'], min_streaming_replicas=2, timeout=0))
    assert result['verdict'] == 'fail'
    assert 'saw 1 online replica (need >= 2)' in result['msg']


def test_replica_without_its_master(run_module, servers):
    result = probe(run_module, **monitor(port=servers['orphan'], max_lag_bytes=100, timeout=0))
    assert result['verdict'] == 'fail'
    assert 'master link down (master 127.0.0.1:' in result['msg']


@pytest.mark.parametrize('args, message', [
    (dict(login_user='monitor', login_password='wrong'), 'saw authentication failed (WRONGPASS'),
    (dict(), 'saw authentication required (NOAUTH'),
    (dict(login_user='nothing', login_password=PASSWORDS['nothing']), 'saw permission denied (NOPERM'),
])
def test_authentication_and_permission_failures_are_named(run_module, servers, args, message):
    result = probe(run_module, kind='redis', port=servers['master'], timeout=0, **args)
    assert result['verdict'] == 'fail'
    assert message in result['msg'], result['msg']


def test_closed_port_and_password_not_logged(run_module):
    result = probe(run_module, **monitor(port=free_port(), timeout=0))
    assert result['verdict'] == 'fail'
    assert 'saw connection refused' in result['msg']
    assert PASSWORDS['monitor'] not in json.dumps(result)


def test_redis_probe_runs_in_check_mode(run_module, servers):
    result = probe(run_module, check_mode=True, **monitor(port=servers['master'], timeout=5))
    assert result['verdict'] == 'pass' and result['changed'] is False


def test_redis_probe_runs_under_ansible(ansible_adhoc, servers):
    rc, result = ansible_adhoc('bundle.stack.health_probe', f"kind=redis port={servers['master']} login_user=monitor "
                                                            f"login_password={PASSWORDS['monitor']} timeout=5")
    assert rc == 0, result
    assert result['verdict'] == 'pass'
    assert PASSWORDS['monitor'] not in json.dumps(result)
