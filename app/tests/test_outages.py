"""What the application says when a part is gone: 503 naming it, liveness still 200; reads
move to the primary when the replica lags or stops; a stalled or stopped worker is unhealthy."""

import os
import re
import signal
import time

import pytest
from refapp_testing import DB_PASSWORD, apply_migrations, get, post, wait_until

from tests.support.throwaway_postgres import ThrowawayPostgres


def reads(backend_url, target):
    text = get(backend_url + '/metrics')[1]
    match = re.search(rf'refapp_db_reads_total\{{target="{target}"\}} ([0-9.]+)', text)
    return float(match.group(1)) if match else 0.0


def test_a_stopped_cache_is_named_and_endpoints_without_it_keep_answering(make_stack, redis_servers):
    stack = make_stack(redis_servers)
    url = stack.backend()
    assert get(url + '/api/health/cache')[0] == 200
    redis_servers.stop_master()
    code, body = get(url + '/api/health/cache')
    assert (code, body['status'], body['failing'], body['cache']) == (503, 'unavailable', ['cache'], 'unreachable')
    code, body = get(url + '/ready')
    assert code == 503 and body['failing'] == ['cache'] and body['checks']['database'] == 'connected'
    assert get(url + '/api/health/queues')[1]['failing'] == ['cache']
    assert post(url + '/api/jobs', dict(payload=1))[1]['failing'] == ['cache']
    assert get(url + '/health')[0] == 200
    assert get(url + '/api/items')[0] == 200
    # Four of the seven answers above were 503: the application's own 5 % rule fires too.
    critical = get(url + '/api/health/alerts')[1]['critical']
    assert {alert['name'] for alert in critical} == {'CacheUnreachable', 'AppHighErrorRate'}


def test_a_frozen_first_sentinel_leaves_time_to_ask_the_next(make_stack, redis_servers):
    """A Sentinel whose process is frozen (SIGSTOP, as on a paused host) accepts connections
    and never answers. Listed first, it must not use up the call's time limit: the backend
    asks the next Sentinel and the cache answers."""
    frozen_port = redis_servers.start_sentinel('sentinel-frozen')
    frozen = redis_servers.servers.processes[-1]
    os.kill(frozen.pid, signal.SIGSTOP)
    try:
        stack = make_stack(redis_servers)
        url = stack.backend(REFAPP_REDIS_SENTINELS=f'127.0.0.1:{frozen_port},127.0.0.1:{redis_servers.sentinel}')
        code, body = get(url + '/api/health/cache')
        assert code == 200 and body['cache'] == 'connected', str(body)
        assert body['latencyMs'] < 1000, body
    finally:
        os.kill(frozen.pid, signal.SIGCONT)


def test_a_stopped_database_is_named_and_the_worker_stalls(make_stack, redis_servers):
    """A primary of the stack's own, stopped under a running backend and worker."""
    own = ThrowawayPostgres().start()
    try:
        stack = make_stack(redis_servers)
        own.create_role('app', DB_PASSWORD)
        own.create_database('app', owner='app')
        apply_migrations(own, 'app')
        stack.env.update(REFAPP_DB_PORT=str(own.port), REFAPP_DB_NAME='app', REFAPP_DB_READ_HOSTS='')
        url, worker = stack.backend(), stack.worker()
        assert get(url + '/ready')[0] == 200
        own.stop()
        code, body = get(url + '/api/health/db')
        assert (code, body['failing'], body['database'], body['writePathReachable']) == (
            503, ['database'], 'unreachable', False)
        code, body = get(url + '/ready')
        assert code == 503 and body['failing'] == ['database', 'migrations'] and body['checks']['cache'] == 'connected'
        assert get(url + '/api/health/schema')[1]['failing'] == ['database']
        assert get(url + '/health')[0] == 200 and get(url + '/healthz')[0] == 200
        # Jobs wait while the worker retries the one it holds against the missing database.
        for n in range(3):
            assert post(url + '/api/jobs', dict(payload=n))[0] == 202
        body = wait_until(lambda: (lambda answer: answer[0] == 503 and answer[1])(get(worker + '/health')), 15,
                          'the worker reporting the stall')
        entry = body['workers']['default']
        assert entry['status'] == 'unhealthy' and re.match(r'no job taken for \d+ s while 2 wait', entry['reason'])
        assert 'OperationalError' in entry['lastError'] or 'TimeoutError' in entry['lastError']
        proxied = get(url + '/api/health/workers/default')
        assert proxied[0] == 503 and proxied[1]['instances'][0]['status'] == 'unhealthy'
    finally:
        own.stop()


def test_a_stopped_worker_makes_its_type_unhealthy_at_the_backend(make_stack, redis_servers):
    stack = make_stack(redis_servers)
    url, worker = stack.backend(), stack.worker()
    assert get(url + '/api/health/workers/default')[0] == 200
    stack.stop(stack.process['worker'])
    code, body = get(url + '/api/health/workers/default')
    assert code == 503 and body['failing'] == ['worker']
    assert body['instances'][0]['status'] == 'unreachable' and worker in body['instances'][0]['url']


def test_pending_migrations_are_named(make_stack, redis_servers):
    stack = make_stack(redis_servers, migrated=False)
    url = stack.backend()
    code, body = get(url + '/api/health/migrations')
    assert (code, body['status'], body['pending']) == (503, 'pending', ['0001_items', '0002_job_results'])
    assert get(url + '/ready')[1]['failing'] == ['migrations']
    code, body = get(url + '/api/health/schema')
    assert code == 503 and body['failing'] == ['schema'] and body['missing'] == ['items', 'job_results']


def test_reads_leave_a_lagging_replica_and_come_back(stack, postgres):
    url = stack.backend_url
    postgres.replica.sql('SELECT pg_wal_replay_pause()')
    try:
        postgres.primary.sql("INSERT INTO items (name) VALUES ('written while the replica waits')",
                             stack.env['REFAPP_DB_NAME'])
        lagging = wait_until(lambda: (lambda r: r['state'] == 'lagging' and r)(
            get(url + '/api/health/db')[1]['replicas'][0]), 15, 'the replica seen lagging')
        assert lagging['lagSeconds'] > 2
        before = reads(url, 'primary')
        assert get(url + '/api/items')[1]['readFrom'] == 'primary'
        assert reads(url, 'primary') == before + 1
    finally:
        postgres.replica.sql('SELECT pg_wal_replay_resume()')
    wait_until(lambda: get(url + '/api/items')[1]['readFrom'] == 'replica', 15, 'reads back on the replica')


@pytest.fixture
def own_replica(make_stack, redis_servers, postgres):
    """A replica of this test's own, and a backend reading from it: (backend URL, replica)."""
    replica = postgres.primary.standby()
    try:
        stack = make_stack(redis_servers)
        stack.env['REFAPP_DB_READ_HOSTS'] = f'127.0.0.1:{replica.port}'
        url = stack.backend()
        wait_until(lambda: get(url + '/api/items')[1]['readFrom'] == 'replica', 10, 'reads on the replica')
        yield url, replica
    finally:
        replica.stop()


def test_a_stopped_replica_moves_reads_to_the_primary_without_a_failed_request(own_replica):
    url, replica = own_replica
    replica.stop()
    answers = [get(url + '/api/items') for _ in range(20)]
    assert [code for code, _ in answers] == [200] * 20
    assert answers[-1][1]['readFrom'] == 'primary'
    assert get(url + '/api/health/db')[1]['replicas'][0]['state'] == 'down'
    usable = f'refapp_db_replica_usable{{replica="127.0.0.1:{replica.port}"}} 0.0'
    assert usable in get(url + '/metrics')[1]


def test_a_frozen_replica_costs_one_time_limit_then_reads_go_to_the_primary(own_replica):
    """Every process of the replica stopped (as on a paused host): the read that meets it
    waits one time limit (1 s here), not the driver's cleanup; the next reads go to the primary."""
    url, replica = own_replica
    replica.freeze()
    started = time.monotonic()
    answers = [get(url + '/api/items', timeout=10) for _ in range(5)]
    elapsed = time.monotonic() - started
    replica.thaw()
    assert [code for code, _ in answers] == [200] * 5, answers
    assert answers[-1][1]['readFrom'] == 'primary'
    assert elapsed < 4, f'5 reads took {elapsed:.1f} s'
