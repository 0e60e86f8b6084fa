"""sentinel kind of health_probe: the pure summary and verdict, then health_probe
against a real Sentinel watching a real master and replica on 127.0.0.1 (see
tests/support/throwaway_redis.py)."""

import json

import health_probe
import pytest
from ansible_collections.bundle.stack.plugins.module_utils.health.kinds.sentinel import (
    PROBE,
    pairs,
    summarize_sentinel,
)
from ansible_collections.bundle.stack.plugins.module_utils.health.resp import RespError

from tests.support import throwaway_redis
from tests.support.ports import free_port
from tests.support.throwaway_redis import SENTINEL_CLIENT

evaluate_sentinel, sentinel_expectations = PROBE.evaluate, PROBE.expectations

MASTER_REPLY = ['name', 'main', 'ip', '10.0.0.1', 'port', '6379', 'flags', 'master',
                'num-slaves', '2', 'num-other-sentinels', '2', 'quorum', '2',
                'down-after-milliseconds', '5000', 'failover-timeout', '60000', 'parallel-syncs', '1']
REPLICAS_REPLY = [['ip', '10.0.0.2', 'port', '6379', 'flags', 'slave'],
                  ['ip', '10.0.0.3', 'port', '6379', 'flags', 'slave,s_down,disconnected']]


def test_summary_of_sentinel_replies():
    observed = summarize_sentinel('main', pairs(MASTER_REPLY), 'OK 3 usable Sentinels.',
                                  [pairs(reply) for reply in REPLICAS_REPLY])
    assert observed == dict(
        master_name='main', master_known=True, master_host='10.0.0.1', master_port=6379, master_flags=['master'],
        quorum=2, sentinels=3, online_replicas=1, ckquorum_ok=True, ckquorum='OK 3 usable Sentinels.',
        failover_in_progress=False, down_after_milliseconds=5000, failover_timeout=60000, parallel_syncs=1,
        replicas=[dict(address='10.0.0.2:6379', flags=['slave']),
                  dict(address='10.0.0.3:6379', flags=['slave', 's_down', 'disconnected'])])


def observed_with(**changes):
    base = summarize_sentinel('main', pairs(MASTER_REPLY), 'OK 3 usable Sentinels.',
                              [pairs(REPLICAS_REPLY[0]), pairs(REPLICAS_REPLY[0])])
    return dict(base, **changes)


NOQUORUM = RespError('NOQUORUM 1 usable Sentinels. Not enough available Sentinels to reach the specified quorum')


@pytest.mark.parametrize('observed, params, problems, warnings', [
    (observed_with(), dict(min_sentinels=3, min_streaming_replicas=2), [], []),
    (observed_with(sentinels=2), dict(min_sentinels=3), ['2 sentinels seen (need >= 3)'], []),
    (observed_with(online_replicas=1), dict(min_streaming_replicas=2), ['1 replicas up (need >= 2)'], []),
    (observed_with(master_flags=['master', 's_down']), {}, ['master 10.0.0.1:6379 is s_down'], []),
    (observed_with(master_flags=['master', 'failover_in_progress'], failover_in_progress=True), {},
     ['failover of 10.0.0.1:6379 in progress'], []),
    (observed_with(ckquorum_ok=False, ckquorum=str(NOQUORUM)), {},
     [f'CKQUORUM failed: {NOQUORUM}'], []),
    (observed_with(replicas=[dict(address='10.0.0.3:6379', flags=['slave', 's_down'])]), {},
     [], ['replica 10.0.0.3:6379 is s_down']),
    (dict(master_name='main', master_known=False), dict(min_sentinels=3),
     ['master main not monitored by this Sentinel'], []),
])
def test_evaluate_sentinel(observed, params, problems, warnings):
    assert evaluate_sentinel(observed, params) == (problems, warnings)


def test_expectations_name_what_is_required():
    expected, phrases = sentinel_expectations(dict(master_name='main', min_sentinels=3, min_streaming_replicas=2))
    assert expected == {'master_name': 'main', 'master_known': True, 'ckquorum': 'OK', 'min_sentinels': 3,
                        'min_online_replicas': 2}
    assert phrases == ['master main known and up', 'CKQUORUM OK', 'sentinels >= 3', 'replicas up >= 2']


# --- health_probe against a real Sentinel -------------------------------------------

@pytest.fixture(scope='module')
def servers():
    yield from throwaway_redis.cluster()


def probe(run_module, check_mode=False, **args):
    return run_module(health_probe.main, args, check_mode=check_mode)


def client(**args):
    return dict(kind='sentinel', login_user=SENTINEL_CLIENT[0], login_password=SENTINEL_CLIENT[1], **args)


def test_sentinel_knows_the_master_and_its_replica(run_module, servers):
    # Sentinel learns the replicas from the master's INFO within a few seconds.
    result = probe(run_module, **client(port=servers['sentinel'], master_name='main', min_sentinels=1,
                                        min_streaming_replicas=1, timeout=30, interval=0.5))
    assert result['verdict'] == 'pass', result['msg']
    observed = result['observed']
    assert (observed['master_host'], observed['master_port']) == ('127.0.0.1', servers['master'])
    assert observed['ckquorum_ok'] and observed['ckquorum'].startswith('OK 1 usable Sentinels')
    assert (observed['quorum'], observed['sentinels'], observed['down_after_milliseconds']) == (1, 1, 5000)
    assert f"127.0.0.1:{servers['replica']}" in [replica['address'] for replica in observed['replicas']]
    assert 'master main at 127.0.0.1:' in result['msg']


def test_too_few_sentinels(run_module, servers):
    result = probe(run_module, **client(port=servers['sentinel'], master_name='main', min_sentinels=3, timeout=0))
    assert result['verdict'] == 'fail'
    assert 'saw 1 sentinels seen (need >= 3)' in result['msg']


def test_quorum_out_of_reach_fails_ckquorum(run_module, servers):
    result = probe(run_module, **client(port=servers['sentinel'], master_name='lonely', timeout=0))
    assert result['verdict'] == 'fail'
    assert 'CKQUORUM failed: NOQUORUM 1 usable Sentinels' in result['msg']


def test_unknown_master_name(run_module, servers):
    result = probe(run_module, **client(port=servers['sentinel'], master_name='nope', timeout=0))
    assert result['verdict'] == 'fail'
    assert 'saw master nope not monitored by this Sentinel' in result['msg']
    assert result['observed'] == {'master_name': 'nope', 'master_known': False}


@pytest.mark.parametrize('args, message', [
    (dict(login_user=SENTINEL_CLIENT[0], login_password='wrong'), 'saw authentication failed (WRONGPASS'),
    (dict(), 'saw authentication required (NOAUTH'),
])
def test_sentinel_authentication_failures_are_named(run_module, servers, args, message):
    result = probe(run_module, kind='sentinel', port=servers['sentinel'], master_name='main', timeout=0, **args)
    assert result['verdict'] == 'fail'
    assert message in result['msg'], result['msg']


def test_master_name_is_required_and_a_closed_port_is_named(run_module):
    result = probe(run_module, kind='sentinel', timeout=0)
    assert result['failed'] is True
    assert 'kind is sentinel but all of the following are missing: master_name' in result['msg']
    closed = probe(run_module, **client(master_name='main', port=free_port(), timeout=0))
    assert 'saw connection refused' in closed['msg']
    assert SENTINEL_CLIENT[1] not in json.dumps(closed)


def test_sentinel_probe_runs_in_check_mode(run_module, servers):
    result = probe(run_module, check_mode=True, **client(port=servers['sentinel'], master_name='main', timeout=5))
    assert result['verdict'] == 'pass' and result['changed'] is False
