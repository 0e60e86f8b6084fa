"""The health contract and the API of a healthy stack: every endpoint answers as specified."""

import re
import subprocess
from datetime import datetime

import pytest
from refapp_testing import get, post, wait_until

ENDPOINTS = ['/health', '/healthz', '/ready', '/api/health/db', '/api/health/cache', '/api/health/queues',
             '/api/health/schema', '/api/health/migrations', '/api/version', '/api/health/alerts',
             '/api/health/workers/default']


@pytest.mark.parametrize('path', ENDPOINTS)
def test_every_endpoint_answers_ok_with_status_and_timestamp(stack, path):
    code, body = get(stack.backend_url + path)
    assert code == 200, str(body)
    assert body['status'] == 'ok'
    assert datetime.fromisoformat(body['timestamp'])


def test_db_reports_the_connection_its_latency_and_the_replica(stack, postgres):
    body = get(stack.backend_url + '/api/health/db')[1]
    assert body['database'] == 'connected'
    assert body['target'] == f'127.0.0.1:{postgres.primary.port}'
    assert 0 < body['latencyMs'] < 1000
    assert body['replicas'] == [dict(address=f'127.0.0.1:{postgres.replica.port}', state='ok',
                                     lagSeconds=body['replicas'][0]['lagSeconds'], error=None)]


def test_cache_names_the_master_sentinel_gives(stack, shared_redis):
    body = get(stack.backend_url + '/api/health/cache')[1]
    assert body['cache'] == 'connected', body.get('error')
    assert body['masterName'] == 'bundle'
    assert body['master'] == f'127.0.0.1:{shared_redis.master}'


def test_schema_and_migrations_read_what_schema_migrate_applied(stack):
    schema = get(stack.backend_url + '/api/health/schema')[1]
    assert {'items', 'job_results', 'bundle_migration_ledger'} <= set(schema['tables'])
    assert schema['count'] == len(schema['tables']) and schema['missing'] == []
    migrations = get(stack.backend_url + '/api/health/migrations')[1]
    assert migrations['migrations'] == 'up-to-date'
    assert migrations['applied'] == ['0001_items', '0002_job_results'] and migrations['pending'] == []


def test_version_is_the_release_metadata(stack, release):
    body = get(stack.backend_url + '/api/version')[1]
    version = re.search(r'refapp-(.+)\.tar\.gz', release[0].name).group(1)
    assert body['version'] == version
    assert body['environment'] == 'lab' and body['python'].startswith('3.') and body['platform']
    assert body['workerTypes'] == ['default']
    completed = subprocess.run([release[1] / 'refapp-backend', '--version'], capture_output=True, text=True,
                               check=True)
    assert completed.stdout.strip() == f'refapp-backend {version}'


def test_alerts_without_alertmanager_come_from_the_application(stack):
    body = get(stack.backend_url + '/api/health/alerts')[1]
    assert body['source'] == 'application'
    assert set(body) >= {'critical', 'warning', 'info'}
    assert body['critical'] == []


def test_items_read_from_the_replica(stack):
    code, body = get(stack.backend_url + '/api/items?limit=5')
    assert code == 200, str(body)
    assert body['readFrom'] == 'replica'
    assert [item['name'] for item in body['items']] == [f'item {n}' for n in range(1, 6)]


def test_a_job_is_processed_by_the_worker_and_its_health_shows_it(stack, postgres):
    before = get(stack.worker_url + '/health')[1]['workers']['default']['jobsProcessed']
    code, queued = post(stack.backend_url + '/api/jobs', dict(queue='mail', payload={'to': 'someone'}))
    assert code == 202 and queued['status'] == 'queued'
    database = stack.env['REFAPP_DB_NAME']
    rows = wait_until(lambda: postgres.primary.psql(
        f"SELECT queue || ' ' || payload::text FROM job_results WHERE job_id = '{queued['id']}'", database), 10,
        'the job row')
    assert rows == 'mail {"to": "someone"}'
    worker = get(stack.worker_url + '/health')[1]['workers']['default']
    assert worker['status'] == 'ok' and worker['jobsProcessed'] == before + 1 and worker['lastJobTime']
    proxied = get(stack.backend_url + '/api/health/workers/default')[1]
    assert proxied['jobsProcessed'] == worker['jobsProcessed'] and proxied['lastJobTime'] == worker['lastJobTime']
    queues = get(stack.backend_url + '/api/health/queues')[1]['queues']
    assert queues['mail'] == dict(status='ok', waiting=0, active=0)


def test_a_job_for_an_unknown_queue_or_not_json_is_refused(stack):
    assert post(stack.backend_url + '/api/jobs', dict(queue='nope'))[0] == 400
    assert post(stack.backend_url + '/api/jobs', ['not', 'an', 'object'])[0] == 400


def test_an_unknown_worker_type_is_404(stack):
    code, body = get(stack.backend_url + '/api/health/workers/reports')
    assert code == 404 and body['failing'] == ['worker'] and body['types'] == ['default']


def test_metrics_count_requests_reads_and_queue_depth(stack):
    get(stack.backend_url + '/api/items')
    code, text = get(stack.backend_url + '/metrics')
    assert code == 200
    assert re.search(r'http_requests_total\{method="GET",route="/api/items",status="200"\} [1-9]', text)
    assert 'http_request_duration_seconds_bucket{le="0.005",route="/api/items"}' in text
    assert re.search(r'refapp_db_reads_total\{target="replica"\} [1-9]', text)
    assert 'refapp_queue_depth{queue="default",state="waiting"} 0.0' in text
    assert 'refapp_cache_errors_total 0.0' in text


def test_a_job_left_in_a_dead_workers_processing_list_is_done_after_its_restart(stack, shared_redis, postgres):
    """The reliable queue: a job a worker held when it died is taken again when it starts."""
    client = shared_redis.client()
    worker_id = next(name for name in client.smembers('refapp:workers:default')).rsplit(':', 1)[1]
    stack.stop(stack.process['worker'])
    client.lpush(f'refapp:processing:default:{worker_id}', '{"id": "held-by-a-dead-worker", "payload": 1}')
    stack.worker()
    database = stack.env['REFAPP_DB_NAME']
    wait_until(lambda: postgres.primary.psql(
        "SELECT count(*) FROM job_results WHERE job_id = 'held-by-a-dead-worker'", database) == '1', 10,
        'the held job recorded')
    assert client.llen(f'refapp:processing:default:{worker_id}') == 0


def test_the_frontend_serves_the_status_page_and_its_config(stack):
    url = stack.frontend(REFAPP_FRONTEND_API_URL=stack.backend_url)
    code, page = get(url + '/')
    assert code == 200 and 'id="tier-data"' in page and 'status.js' in page
    for tier in ('data', 'pooling', 'cache', 'app', 'worker', 'monitoring'):
        assert f'data-tier="{tier}"' in page
    assert get(url + '/config.json')[1]['apiUrl'] == stack.backend_url
    assert 'function refresh' in get(url + '/status.js')[1]


def test_a_wrong_engine_word_refuses_to_start(release):
    completed = subprocess.run([release[1] / 'refapp-backend'], env=dict(REFAPP_DB_ENGINE='mysql'),
                               capture_output=True, text=True, timeout=30, check=False)
    assert completed.returncode == 2
    assert "REFAPP_DB_ENGINE='mysql': this application runs on 'postgresql' only" in completed.stderr
