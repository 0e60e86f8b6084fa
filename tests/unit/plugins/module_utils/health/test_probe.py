"""Shared probe machinery and the pure verdict logic of each kind."""

import socket
import time

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args
from ansible_collections.bundle.stack.plugins.module_utils.db.postgresql import libpq_timeout
from ansible_collections.bundle.stack.plugins.module_utils.health.diagnosis import (
    diagnose_unit,
    format_diagnosis,
    parse_systemctl_show,
)
from ansible_collections.bundle.stack.plugins.module_utils.health.kinds import http, pgbouncer, postgresql
from ansible_collections.bundle.stack.plugins.module_utils.health.kinds.http import json_values_equal, lookup_dotted
from ansible_collections.bundle.stack.plugins.module_utils.health.kinds.pgbouncer import summarize_console
from ansible_collections.bundle.stack.plugins.module_utils.health.probe import (
    ATTEMPT_TIMEOUT_MAX,
    ATTEMPT_TIMEOUT_MIN,
    COMMON_ARGUMENT_SPEC,
    Outcome,
    Probe,
    ProbeError,
    build_message,
    describe_error,
    probe_argument_spec,
    probe_params,
    probe_required_if,
    run_probe,
    unused_options,
    verdict_of,
    wait_until_passing,
)
from ansible_collections.bundle.stack.plugins.module_utils.health.registry import PROBES

evaluate_http, http_expectations = http.PROBE.evaluate, http.PROBE.expectations
evaluate_pgbouncer, pgbouncer_expectations = pgbouncer.PROBE.evaluate, pgbouncer.PROBE.expectations
evaluate_postgres, postgres_expectations = postgresql.PROBE.evaluate, postgresql.PROBE.expectations


def make_probe(kind, argument_spec, check=None, evaluate=None, expectations=None):
    """A stand-in kind whose parts are the given functions."""
    class StandIn(Probe):
        def check(self, params, attempt_timeout):
            return check(params, attempt_timeout)

        def evaluate(self, observed, params):
            return evaluate(observed, params)

        def expectations(self, params):
            return expectations(params)

    StandIn.kind, StandIn.argument_spec = kind, argument_spec
    return StandIn()


def failing_then_passing(passes_on):
    """An attempt function that fails until its passes_on-th call."""
    calls = []

    def attempt(attempt_timeout):
        calls.append(attempt_timeout)
        if len(calls) < passes_on:
            return Outcome({'try': len(calls)}, problems=['not yet'])
        return Outcome({'try': len(calls)})
    return attempt, calls


# --- retry until deadline -------------------------------------------------

def test_wait_passes_on_third_attempt():
    attempt, calls = failing_then_passing(3)
    outcome, attempts, elapsed = wait_until_passing(attempt, timeout=5, interval=0.05)
    assert outcome.passed
    assert attempts == 3 == len(calls)
    assert outcome.observed == {'try': 3}
    assert 0.1 <= elapsed < 1


def test_wait_never_passing_ends_at_deadline():
    attempt, calls = failing_then_passing(10 ** 6)
    started = time.monotonic()
    outcome, attempts, elapsed = wait_until_passing(attempt, timeout=0.5, interval=0.1)
    assert not outcome.passed
    assert outcome.problems == ['not yet']
    assert 0.5 <= elapsed < 0.8
    assert time.monotonic() - started < 0.8
    assert 4 <= attempts <= 7


def test_wait_stops_at_once_when_giving_up_has_a_reason():
    """fail_on_restart: a unit that crash-loops ends the wait at the next failed attempt."""
    attempt, calls = failing_then_passing(10 ** 6)
    reasons = iter([None, 'refapp-backend.service is activating/auto-restart and restarted 1 time(s)'])
    outcome, attempts, elapsed = wait_until_passing(attempt, timeout=30, interval=0.05, give_up=lambda: next(reasons))
    assert attempts == 2 and elapsed < 1
    assert outcome.problems == ['not yet', 'refapp-backend.service is activating/auto-restart and restarted 1 time(s)']


def test_wait_per_attempt_timeout_is_short_but_usable():
    attempt, calls = failing_then_passing(10 ** 6)
    wait_until_passing(attempt, timeout=0.3, interval=0.1)
    assert all(ATTEMPT_TIMEOUT_MIN <= timeout <= ATTEMPT_TIMEOUT_MAX for timeout in calls)
    attempt, calls = failing_then_passing(1)
    wait_until_passing(attempt, timeout=60, interval=1)
    assert calls == [ATTEMPT_TIMEOUT_MAX]


def test_wait_timeout_zero_is_one_attempt():
    attempt, calls = failing_then_passing(2)
    outcome, attempts, _elapsed = wait_until_passing(attempt, timeout=0, interval=1)
    assert attempts == 1 and not outcome.passed


# --- verdict and messages --------------------------------------------------

@pytest.mark.parametrize('problems, warnings, verdict', [
    ([], [], 'pass'),
    ([], ['lag 2 s above warning threshold 1 s'], 'warn'),
    (['role=primary'], ['ignored'], 'fail'),
])
def test_verdict_of(problems, warnings, verdict):
    assert verdict_of(Outcome({}, problems, warnings)) == verdict


def test_fail_message_names_host_service_expectation_and_attempts():
    outcome = Outcome({}, problems=['connection refused (could not connect to server)'])
    message = build_message('pg2 postgres (postgresql@15-main)', 'fail',
                            ['role=replica', 'wal receiver streaming', 'lag <= 5 s'], outcome, 30, 60.0)
    assert message == ('pg2 postgres (postgresql@15-main): expected role=replica, wal receiver streaming, '
                       'lag <= 5 s; saw connection refused (could not connect to server) after 30 attempts in 60.0 s.')


def test_pass_and_warn_messages():
    assert build_message('h tcp', 'pass', [], Outcome({}), 1, 0.01) == 'h tcp: passed after 1 attempt in 0.0 s'
    warn = build_message('h pg', 'warn', [], Outcome({}, warnings=['a', 'b']), 2, 2.5)
    assert warn == 'h pg: passed with warnings after 2 attempts in 2.5 s: a; b'


@pytest.mark.parametrize('error, expected', [
    (ConnectionRefusedError(111, 'Connection refused'), 'connection refused ([Errno 111] Connection refused)'),
    (TimeoutError('timed out'), 'timed out'),
    (Exception('FATAL:  password authentication failed for user "app"'),
     'authentication failed (FATAL: password authentication failed for user "app")'),
    (Exception('something\n   odd'), 'something odd'),
])
def test_describe_error(error, expected):
    assert describe_error(error) == expected


def test_run_probe_result_shape():
    attempts = []

    def check(params, attempt_timeout):
        attempts.append(attempt_timeout)
        if len(attempts) == 1:
            raise ProbeError('connection refused')
        return {'answer': 42}

    probe = make_probe('demo', {}, check=check, evaluate=lambda observed, params: ([], ['just so']),
                       expectations=lambda params: ({'answer': 42}, ['answer 42']))
    params = dict(host='db1', port=1, service='demo', unit=None, timeout=5, interval=0.01)
    result = run_probe(probe, params)
    assert result['verdict'] == 'warn'
    assert result['changed'] is False
    assert result['attempts'] == 2
    assert result['observed'] == {'answer': 42}
    assert result['expected'] == {'answer': 42}
    assert result['probe_warnings'] == ['just so']
    assert (result['host'], result['port'], result['kind'], result['service']) == ('db1', 1, 'demo', 'demo')
    assert result['msg'].startswith('db1 demo: passed with warnings after 2 attempts')


# --- options: merging, defaults, registry ------------------------------------

def test_registry_merges_every_kind():
    spec = probe_argument_spec(PROBES)
    assert spec['kind']['choices'] == sorted(PROBES)
    assert {'http', 'pgbouncer', 'postgresql', 'tcp'} <= set(PROBES)
    assert spec['login_password']['no_log'] and spec['admin_password']['no_log']
    assert set(COMMON_ARGUMENT_SPEC) <= set(spec)
    assert ('kind', 'http', ['url']) in probe_required_if(PROBES)
    assert ('kind', 'tcp', ['port']) in probe_required_if(PROBES)


def test_conflicting_option_definitions_are_refused():
    one = make_probe('one', {'user': dict(type='str')})
    two = make_probe('two', {'user': dict(type='int')})
    with pytest.raises(ValueError, match='define option user differently'):
        probe_argument_spec({'one': one, 'two': two})
    with pytest.raises(ValueError, match='redefines common option host'):
        probe_argument_spec({'one': make_probe('one', {'host': dict(type='str')})})


def module_params(**overrides):
    """All module options at their spec defaults, as AnsibleModule would give them."""
    spec = probe_argument_spec(PROBES)
    params = {name: option.get('default') for name, option in spec.items()}
    params.update(overrides)
    return params


@pytest.mark.parametrize('kind, port, login_user, service', [
    ('postgresql', 5432, 'postgres', 'postgresql'),
    ('pgbouncer', 6432, None, 'pgbouncer'),
    ('tcp', None, None, 'tcp'),
])
def test_kind_defaults(kind, port, login_user, service):
    params = probe_params(module_params(kind=kind), PROBES[kind])
    assert (params['port'], params['login_user'], params['service']) == (port, login_user, service)
    assert probe_params(module_params(kind=kind, port=1, service='x'), PROBES[kind])['port'] == 1


def test_unused_options_are_reported():
    spec = probe_argument_spec(PROBES)
    params = module_params(kind='tcp', port=1, url='http://x', expect_role='any', login_user='me')
    assert unused_options(params, PROBES['tcp'], spec) == ['login_user', 'url']
    assert unused_options(module_params(kind='pgbouncer', login_user='me'), PROBES['pgbouncer'], spec) == []


# --- postgres verdict logic --------------------------------------------------

REPLICA_OK = dict(role='replica', server_version='15.8', wal_receiver_status='streaming', lag_bytes=0, lag_seconds=0)
PRIMARY_OK = dict(role='primary', server_version='15.8', streaming_replicas=2)


@pytest.mark.parametrize('observed, params, problems, warnings', [
    pytest.param(PRIMARY_OK, dict(expect_role='primary', min_streaming_replicas=2), [], [], id='primary ok'),
    pytest.param(REPLICA_OK, dict(expect_role='replica', max_lag_seconds=5), [], [], id='replica ok'),
    pytest.param(PRIMARY_OK, dict(expect_role='replica', max_lag_seconds=5), ['role=primary'], [],
                 id='primary when replica expected'),
    pytest.param(REPLICA_OK, dict(expect_role='primary'), ['role=replica'], [], id='replica when primary expected'),
    pytest.param(dict(REPLICA_OK, lag_seconds=12.5, lag_bytes=4096), dict(expect_role='replica', max_lag_seconds=5),
                 ['lag 12.5 s > 5 s'], [], id='lag above max'),
    pytest.param(dict(REPLICA_OK, lag_seconds=12.5), dict(max_lag_seconds=5, warn_lag_seconds=1),
                 ['lag 12.5 s > 5 s'], [], id='above max is not also a warning'),
    pytest.param(dict(REPLICA_OK, lag_seconds=2.5), dict(expect_role='replica', max_lag_seconds=5, warn_lag_seconds=1),
                 [], ['lag 2.5 s above warning threshold 1 s'], id='lag above warn only'),
    pytest.param(dict(REPLICA_OK, lag_bytes=20000), dict(max_lag_bytes=16384), ['lag 20000 bytes > 16384 bytes'], [],
                 id='lag bytes above max'),
    pytest.param(dict(REPLICA_OK, lag_seconds=None, lag_bytes=None), dict(max_lag_seconds=5, max_lag_bytes=1),
                 ['lag in seconds unknown (nothing replayed yet)', 'lag in bytes unknown (no WAL received yet)'], [],
                 id='lag unknown'),
    pytest.param(dict(REPLICA_OK, wal_receiver_status='stopping'), dict(expect_role='replica'),
                 ['wal receiver stopping'], [], id='wal receiver not streaming'),
    pytest.param(dict(REPLICA_OK, wal_receiver_status=None), dict(expect_role='any'),
                 ['wal receiver not running'], [], id='any role, replica without receiver'),
    pytest.param(dict(PRIMARY_OK, streaming_replicas=1), dict(expect_role='primary', min_streaming_replicas=2),
                 ['1 streaming replica (need >= 2)'], [], id='too few replicas'),
    pytest.param(dict(PRIMARY_OK, streaming_replicas=0), dict(min_streaming_replicas=1),
                 ['0 streaming replicas (need >= 1)'], [], id='no replicas'),
    pytest.param(PRIMARY_OK, dict(max_lag_seconds=0), [], [], id='lag limits do not apply to a primary'),
])
def test_evaluate_postgres(observed, params, problems, warnings):
    assert evaluate_postgres(observed, params) == (problems, warnings)


def test_postgres_expectations():
    expected, phrases = postgres_expectations(dict(expect_role='replica', max_lag_seconds=5.0, warn_lag_seconds=1.0))
    assert expected == {'role': 'replica', 'wal_receiver_status': 'streaming',
                        'max_lag_seconds': 5.0, 'warn_lag_seconds': 1.0}
    assert phrases == ['role=replica', 'wal receiver streaming', 'lag <= 5 s']
    assert postgres_expectations(dict(expect_role='any'))[1] == ['SELECT 1 answering']
    assert postgres_expectations(dict(expect_role='primary', min_streaming_replicas=2))[1] == [
        'role=primary', 'streaming replicas >= 2']


@pytest.mark.parametrize('seconds, whole', [(0.2, 2), (1.0, 2), (2.5, 3), (5.0, 5)])
def test_libpq_timeout_is_never_zero(seconds, whole):
    assert libpq_timeout(seconds) == whole


# --- pgbouncer verdict logic ---------------------------------------------------

SHOW_DATABASES = [
    dict(name='appdb', host='10.0.0.5', port=5432, database='appdb', pool_size=20),
    dict(name='pgbouncer', host=None, port=6432, database='pgbouncer', pool_size=2),
]
SHOW_POOLS = [
    dict(database='appdb', user='app', cl_active=3, cl_waiting=0, sv_active=2, sv_idle=1, sv_used=0),
    dict(database='appdb', user='report', cl_active=1, cl_waiting=4, sv_active=1, sv_idle=0, sv_used=0),
    dict(database='pgbouncer', user='pgbouncer', cl_active=1, cl_waiting=0, sv_active=0, sv_idle=0, sv_used=0),
]


def test_summarize_console():
    observed = summarize_console(SHOW_DATABASES, SHOW_POOLS, expect_database='appdb')
    assert observed['pools'] == dict(cl_active=5, cl_waiting=4, sv_active=3, sv_idle=1, pools=3)
    assert observed['databases']['appdb'] == dict(host='10.0.0.5', port=5432, database='appdb')
    assert observed['expected_database'] == dict(host='10.0.0.5', port=5432, database='appdb')
    assert observed['waiting_pools'] == [dict(database='appdb', user='report', cl_waiting=4)]


@pytest.mark.parametrize('params, extra, problems, warnings', [
    pytest.param(dict(expect_database='appdb'), {}, [], ['4 clients waiting in pool appdb/report'],
                 id='listed, clients waiting'),
    pytest.param(dict(expect_database='other'), {},
                 ['database other not in SHOW DATABASES (listed: appdb, pgbouncer)'],
                 ['4 clients waiting in pool appdb/report'], id='database missing'),
    pytest.param(dict(login_user='app', database='appdb'), {'pooled_select': 'ok'}, [],
                 ['4 clients waiting in pool appdb/report'], id='select through pooler ok'),
    pytest.param(dict(login_user='app', expect_database='appdb'), {'pooled_select': 'authentication failed'},
                 ['SELECT 1 through the pooler as app on appdb failed: authentication failed'],
                 ['4 clients waiting in pool appdb/report'], id='select through pooler failed'),
])
def test_evaluate_pgbouncer(params, extra, problems, warnings):
    observed = dict(summarize_console(SHOW_DATABASES, SHOW_POOLS, params.get('expect_database')), **extra)
    assert evaluate_pgbouncer(observed, params) == (problems, warnings)


def test_evaluate_pgbouncer_quiet_pools():
    observed = summarize_console(SHOW_DATABASES, SHOW_POOLS[:1])
    assert evaluate_pgbouncer(observed, {}) == ([], [])


def test_pgbouncer_expectations_default_pooled_database():
    expected, phrases = pgbouncer_expectations(dict(expect_database='appdb', login_user='app'))
    assert expected['pooled_select'] == dict(user='app', database='appdb')
    assert phrases[-1] == 'SELECT 1 through the pooler as app on appdb'


# --- http verdict logic ---------------------------------------------------------

DOCUMENT = {'status': 'ok', 'checks': {'db': {'up': True, 'latency': 3}}, 'items': [{'name': 'a'}]}


@pytest.mark.parametrize('path, found, value', [
    ('status', True, 'ok'),
    ('checks.db.up', True, True),
    ('items.0.name', True, 'a'),
    ('items.1.name', False, None),
    ('checks.cache', False, None),
])
def test_lookup_dotted(path, found, value):
    assert lookup_dotted(DOCUMENT, path) == (found, value)


@pytest.mark.parametrize('actual, wanted, equal', [
    ('ok', 'ok', True),
    (True, 'true', True),
    (3, '3', True),
    (None, 'null', True),
    (True, True, True),
    (True, 1, False),
    ('ok', 'OK', False),
    ({'a': 1}, {'a': 1}, True),
])
def test_json_values_equal(actual, wanted, equal):
    assert json_values_equal(actual, wanted) is equal


def test_evaluate_http():
    params = dict(url='http://h/health', expect_status=[200], json_field='status', json_value='ok',
                  failing_field='failing')
    good = dict(status=200, body_excerpt='{}', json_fields={'status': 'ok'})
    assert evaluate_http(good, params) == ([], [])
    assert evaluate_http(dict(good, status=503), params)[0] == ['HTTP status 503 (body: {})']
    assert evaluate_http(dict(good, status=503, failing=['database']), params)[0] == [
        'HTTP status 503, failing database (body: {})']
    assert evaluate_http(dict(good, json_fields={'status': 'degraded'}), params)[0] == [
        'JSON field status = "degraded"']
    assert evaluate_http(dict(good, json_fields={}), params)[0] == ['JSON field status missing']
    assert http_expectations(params) == (
        {'url': 'http://h/health', 'status': [200], 'json': [{'field': 'status', 'equals': 'ok'}]},
        ['http://h/health answering HTTP status 200', 'JSON field status = "ok"'])


# --- systemd unit diagnosis, with stand-in systemctl and journalctl --------------

def write_script(directory, name, body):
    script = directory / name
    script.write_text('#!/bin/sh\n' + body)
    script.chmod(0o755)


def test_diagnose_unit_reads_state_and_journal(tmp_path, monkeypatch):
    write_script(tmp_path, 'systemctl', 'echo ActiveState=failed; echo SubState=failed; echo NRestarts=3\n')
    write_script(tmp_path, 'journalctl', 'printf "line one\\nline two\\n"\n')
    monkeypatch.setenv('PATH', f'{tmp_path}:/usr/bin:/bin')
    with patch_module_args({}):
        module = AnsibleModule(argument_spec={})
    diagnosis = diagnose_unit(module, 'postgresql@15-main', 2)
    assert diagnosis == dict(unit='postgresql@15-main', active_state='failed', sub_state='failed',
                             n_restarts='3', journal=['line one', 'line two'], errors=[])
    assert format_diagnosis(diagnosis, 2) == (
        'Unit postgresql@15-main: ActiveState=failed SubState=failed NRestarts=3. '
        'Last 2 log lines:\nline one\nline two')


def test_diagnose_unit_reports_what_it_could_not_collect(tmp_path, monkeypatch):
    write_script(tmp_path, 'systemctl', 'echo "System has not been booted with systemd" >&2; exit 1\n')
    with patch_module_args({}):
        module = AnsibleModule(argument_spec={})
    monkeypatch.setattr(module, 'get_bin_path', lambda name: str(tmp_path / name) if name == 'systemctl' else None)
    diagnosis = diagnose_unit(module, 'redis', 20)
    assert diagnosis['errors'] == ['systemctl show redis: rc=1 System has not been booted with systemd',
                                   'journalctl not found on this host']
    assert format_diagnosis(diagnosis, 20).startswith('Unit redis: state unknown. Diagnosis errors: ')


def test_parse_systemctl_show():
    assert parse_systemctl_show('ActiveState=active\nSubState=running\n\nNRestarts=0\n') == dict(
        ActiveState='active', SubState='running', NRestarts='0')


# --- end to end under Ansible ---------------------------------------------------

def test_failed_probe_under_ansible_names_the_unit(ansible_adhoc):
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        closed_port = sock.getsockname()[1]
    rc, result = ansible_adhoc('bundle.stack.health_probe', f'kind=tcp port={closed_port} timeout=0 service=redis '
                                                            'unit=redis-server log_lines=5')
    assert rc != 0
    assert result['failed'] is True and result['verdict'] == 'fail'
    assert result['msg'].startswith(f'127.0.0.1 redis (redis-server): expected port {closed_port} accepting TCP '
                                    'connections; saw connection refused')
    assert 'Unit redis-server: ' in result['msg']
    assert result['diagnosis']['unit'] == 'redis-server'
