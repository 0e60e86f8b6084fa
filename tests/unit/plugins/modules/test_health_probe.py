"""health_probe against real listeners on 127.0.0.1.

tcp and http always run. postgres runs against a throwaway primary and
streaming replica from the PostgreSQL of tests/support/throwaway_postgres.py (the
machine's, or Debian's unpacked under .cache); pgbouncer runs the one on PATH or
in BUNDLE_TEST_PGBOUNCER, or else Debian's, unpacked under .cache (tests/support/debian_packages.py).
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import health_probe
import pytest

from tests.support.debian_packages import library_env, unpacked
from tests.support.ports import free_port
from tests.support.throwaway_postgres import installation, run_as, server_user


@pytest.fixture
def listening_port():
    with socket.socket() as server:
        server.bind(('127.0.0.1', 0))
        server.listen()
        yield server.getsockname()[1]


def probe(run_module, check_mode=False, **args):
    return run_module(health_probe.main, args, check_mode=check_mode)


# --- tcp -----------------------------------------------------------------------

def test_tcp_pass(run_module, listening_port):
    result = probe(run_module, kind='tcp', port=listening_port, timeout=5)
    assert result['verdict'] == 'pass'
    assert not result.get('failed')
    assert result['changed'] is False
    assert (result['host'], result['port'], result['attempts']) == ('127.0.0.1', listening_port, 1)
    assert result['observed'] == {'connected': True}
    assert result['msg'] == f'127.0.0.1 tcp: passed after 1 attempt in {result["elapsed"]:.1f} s'


def test_tcp_closed_port_fails_with_clear_message(run_module):
    port = free_port()
    result = probe(run_module, kind='tcp', port=port, service='redis', timeout=0.5, interval=0.1)
    assert result['failed'] is True
    assert result['verdict'] == 'fail'
    assert result['attempts'] >= 3
    assert 0.5 <= result['elapsed'] < 1.5
    assert result['msg'].startswith(f'127.0.0.1 redis: expected port {port} accepting TCP connections; '
                                    'saw connection refused')
    assert 'diagnosis' not in result


def test_tcp_waits_for_a_late_listener(run_module):
    port = free_port()
    server = socket.socket()

    def open_port():
        server.bind(('127.0.0.1', port))
        server.listen()

    opener = threading.Timer(0.5, open_port)
    opener.start()
    try:
        result = probe(run_module, kind='tcp', port=port, timeout=10, interval=0.1)
    finally:
        opener.join()
        server.close()
    assert result['verdict'] == 'pass'
    assert result['attempts'] > 1


def test_probes_run_in_check_mode(run_module, listening_port):
    assert probe(run_module, check_mode=True, kind='tcp', port=listening_port)['verdict'] == 'pass'
    assert probe(run_module, check_mode=True, kind='tcp', port=free_port(), timeout=0)['verdict'] == 'fail'


def test_unused_option_warns(run_module, listening_port):
    result = probe(run_module, kind='tcp', port=listening_port, url='http://127.0.0.1/')
    assert result['verdict'] == 'pass'
    assert 'Option url is not used by kind=tcp and is ignored.' in json.dumps(result['warnings'])


@pytest.mark.parametrize('args, message', [
    (dict(kind='tcp'), 'kind is tcp but all of the following are missing: port'),
    (dict(kind='http'), 'kind is http but all of the following are missing: url'),
    (dict(kind='tcp', port=1, timeout=-1), 'timeout must be 0 or more seconds, got -1.0'),
    (dict(kind='http', url='ftp://x/'), "url must be an http:// or https:// URL with a host, got 'ftp://x/'"),
    (dict(kind='http', url='http://x/', json_value='ok'), 'json_value needs json_field'),
    (dict(kind='http', url='http://x/', expect_json=[{'field': 'status', 'one_of': []}]),
     'expect_json: one_of of field status is empty'),
])
def test_bad_options_fail_early(run_module, args, message):
    result = probe(run_module, **args)
    assert result['failed'] is True
    assert message in result['msg']


def test_missing_driver_names_psycopg2(run_module, monkeypatch):
    from ansible_collections.bundle.stack.plugins.module_utils.db import postgresql
    monkeypatch.setattr(postgresql, 'HAS_DRIVER', False)
    for kind in ('postgresql', 'pgbouncer'):
        result = probe(run_module, kind=kind, timeout=0)
        assert result['failed'] is True
        assert result['msg'].startswith('Failed to import the required Python library (psycopg2)')


def test_password_is_not_logged(run_module):
    result = probe(run_module, kind='postgresql', port=free_port(), login_password='s3cret-pw', timeout=0)
    assert result['verdict'] == 'fail'
    assert 's3cret-pw' not in json.dumps(result)


# --- http ----------------------------------------------------------------------

ROUTES = {
    '/health': (200, 'application/json', json.dumps({'status': 'ok', 'checks': {'db': {'up': True}}})),
    '/degraded': (503, 'application/json', json.dumps({'status': 'degraded'})),
    '/text': (200, 'text/plain', 'all good'),
    '/ready': (503, 'application/json', json.dumps({'status': 'unhealthy', 'failing': ['database', 'cache']})),
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        status, content_type, body = ROUTES.get(self.path, (404, 'text/plain', 'not found'))
        payload = body.encode()
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture(scope='module')
def http_base():
    server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize('path, args, verdict, problem', [
    ('/health', {}, 'pass', None),
    ('/text', {}, 'pass', None),
    ('/degraded', {}, 'fail', 'saw HTTP status 503 (body: {"status": "degraded"})'),
    ('/degraded', dict(expect_status=[200, 503]), 'pass', None),
    ('/missing', {}, 'fail', 'saw HTTP status 404 (body: not found)'),
    ('/health', dict(json_field='status', json_value='ok'), 'pass', None),
    ('/health', dict(json_field='checks.db.up'), 'pass', None),
    ('/health', dict(json_field='checks.db.up', json_value='true'), 'pass', None),
    ('/health', dict(json_field='status', json_value='healthy'), 'fail', 'saw JSON field status = "ok"'),
    ('/health', dict(json_field='checks.cache'), 'fail', 'saw JSON field checks.cache missing'),
    ('/text', dict(json_field='status'), 'fail', 'saw body is not JSON'),
    ('/degraded', dict(expect_status=[503], json_field='status', json_value='ok'), 'fail',
     'saw JSON field status = "degraded"'),
])
def test_http(run_module, http_base, path, args, verdict, problem):
    result = probe(run_module, kind='http', url=http_base + path, timeout=0.3, interval=0.1, **args)
    assert result['verdict'] == verdict, result['msg']
    assert result['observed']['status'] == ROUTES.get(path, (404,))[0]
    port = int(http_base.rsplit(':', 1)[1])
    assert (result['host'], result['port']) == ('127.0.0.1', port)
    if problem:
        assert problem in result['msg']


@pytest.mark.parametrize('path, expect_json, verdict, problem', [
    ('/health', [{'field': 'status', 'equals': 'ok'}, {'field': 'checks.db.up', 'equals': True}], 'pass', None),
    ('/health', [{'field': 'status', 'one_of': ['ok', 'degraded']}], 'pass', None),
    ('/health', [{'field': 'checks.cache', 'present': False}], 'pass', None),
    ('/health', [{'field': 'status', 'one_of': ['degraded']}], 'fail', 'saw JSON field status = "ok"'),
    ('/health', [{'field': 'checks', 'present': False}], 'fail', 'saw JSON field checks present'),
    ('/health', [{'field': 'status'}, {'field': 'uptime'}], 'fail', 'saw JSON field uptime missing'),
])
def test_http_json_expectations(run_module, http_base, path, expect_json, verdict, problem):
    result = probe(run_module, kind='http', url=http_base + path, timeout=0.3, interval=0.1, expect_json=expect_json)
    assert result['verdict'] == verdict, result['msg']
    if problem:
        assert problem in result['msg']


def test_http_names_the_failing_parts_a_503_body_lists(run_module, http_base):
    result = probe(run_module, kind='http', url=http_base + '/ready', timeout=0, service='refapp-backend')
    assert result['verdict'] == 'fail'
    assert 'saw HTTP status 503, failing database, cache (body:' in result['msg']


def test_http_paths_are_probed_at_once_each_with_its_own_result(run_module, http_base):
    result = probe(run_module, kind='http', url=http_base, service='api {path} here', timeout=0.3, interval=0.1,
                   json_field='status', json_value='ok',
                   paths=[{'path': '/health'}, {'path': '/text', 'check_json': False}])
    assert result['verdict'] == 'pass', result['msg']
    assert [(one['service'], one['verdict']) for one in result['results']] == [
        ('api /health here', 'pass'), ('api /text here', 'pass')]
    assert result['msg'].endswith(f"2 probes passed in {result['elapsed']:.1f} s")


def test_http_paths_fail_naming_only_the_failing_path(run_module, http_base):
    result = probe(run_module, kind='http', url=http_base + '/', service='api', timeout=0.3, interval=0.1,
                   json_field='status', json_value='ok', paths=[{'path': '/health'}, {'path': '/degraded'}])
    assert result['verdict'] == 'fail' and result.get('failed')
    assert [one['verdict'] for one in result['results']] == ['pass', 'fail']
    assert 'api /degraded: expected' in result['msg'] and 'api /health' not in result['msg'], result['msg']


def test_http_paths_must_start_with_a_slash(run_module, http_base):
    result = probe(run_module, kind='http', url=http_base, paths=[{'path': 'health'}])
    assert result.get('failed') and "'health' must start with /" in result['msg']


# --- worker: a worker's own health server -----------------------------------------

@pytest.fixture
def worker_health():
    """A health server answering GET /health with `answer` (status, document), set by each test."""
    answer = {}

    class WorkerHandler(Handler):
        def do_GET(self):
            status, document = answer['now'] if self.path == '/health' else (404, 'not found')
            payload = json.dumps(document).encode()
            self.send_response(status)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(('127.0.0.1', 0), WorkerHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield answer, server.server_address[1]
    server.shutdown()
    server.server_close()


OK_WORKER = {'status': 'ok', 'jobsProcessed': 12, 'lastJobTime': '2026-12-03T06:00:00Z'}
STALLED = {'status': 'unhealthy', 'jobsProcessed': 3, 'lastJobTime': None,
           'reason': 'no job taken for 75 s while 4 wait', 'lastError': 'redis: timeout'}


@pytest.mark.parametrize('status, workers, args, verdict, problem', [
    (200, {'default': OK_WORKER}, {}, 'pass', None),
    (200, {'default': OK_WORKER, 'mail': OK_WORKER}, {'worker_types': ['mail']}, 'pass', None),
    (503, {'default': STALLED}, {}, 'fail',
     'saw worker type default unhealthy: no job taken for 75 s while 4 wait; last error: redis: timeout'),
    (200, {'default': OK_WORKER}, {'worker_types': ['mail']}, 'fail',
     'saw worker type mail not reported (reported: default)'),
    (200, {}, {}, 'fail', 'saw no worker type reported'),
    (503, {'default': OK_WORKER}, {}, 'fail', 'saw HTTP status 503 while every worker type reports ok'),
])
def test_worker(run_module, worker_health, status, workers, args, verdict, problem):
    answer, port = worker_health
    answer['now'] = (status, {'status': 'ok' if status == 200 else 'unhealthy', 'workers': workers})
    result = probe(run_module, kind='worker', port=port, timeout=0.3, interval=0.1, **args)
    assert result['verdict'] == verdict, result['msg']
    assert (result['host'], result['port']) == ('127.0.0.1', port)
    if problem:
        assert problem in result['msg']


def test_worker_that_does_not_answer_json(run_module, worker_health):
    answer, port = worker_health
    answer['now'] = (200, 'not a worker')
    result = probe(run_module, kind='worker', port=port, timeout=0)
    assert result['verdict'] == 'fail' and 'without a workers object' in result['msg']


def test_http_connection_refused(run_module):
    result = probe(run_module, kind='http', url=f'http://127.0.0.1:{free_port()}/health', timeout=0, service='grafana')
    assert result['verdict'] == 'fail'
    assert 'saw connection refused' in result['msg']
    assert result['msg'].startswith('127.0.0.1 grafana: expected http://127.0.0.1:')


# --- under Ansible, and the documentation ---------------------------------------

def test_runs_under_ansible(ansible_adhoc, listening_port):
    rc, result = ansible_adhoc('bundle.stack.health_probe', f'kind=tcp port={listening_port}')
    assert rc == 0, result
    assert result['verdict'] == 'pass'
    assert result['changed'] is False


@pytest.mark.parametrize('module', ['bundle.stack.health_probe', 'bundle.stack.health_report'])
def test_documentation_renders(ansible_doc, module):
    completed = ansible_doc(module)
    assert completed.returncode == 0, completed.stderr
    assert 'EXAMPLES' in completed.stdout and 'RETURN VALUES' in completed.stdout


# --- postgres and pgbouncer on real servers ---------------------------------------

class Servers:
    """Runs commands as the server user inside one throwaway directory."""

    def __init__(self, base, user, env):
        self.base = base
        self.user = user
        self.env = env

    def run(self, *command, check=True, env=None):
        return run_as(self.user, self.base, *command, check=check, env=env or self.env)

    def log(self, name):
        path = self.base / name
        return path.read_text() if path.exists() else ''


@pytest.fixture(scope='module')
def postgres_pair():
    """A primary and a streaming replica on 127.0.0.1; sockets in <base>/sock."""
    bindir, env = installation()
    user = server_user()
    base = Path(tempfile.mkdtemp(prefix='health-probe-pg-'))
    if user:
        os.chown(base, *user)
    servers = Servers(base, user, env)
    sockets = base / 'sock'
    primary_port, replica_port = free_port(), free_port()
    started = []
    settings = '-c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c shared_buffers=16MB ' \
               '-c max_connections=20 -c fsync=off -c port={}'
    try:
        servers.run('mkdir', sockets)
        servers.run(bindir / 'initdb', '-D', base / 'primary', '-U', 'postgres', '--auth=trust', '--no-sync')
        servers.run(bindir / 'pg_ctl', '-D', base / 'primary', '-l', base / 'primary.log', '-w', '-o',
                    settings.format(sockets, primary_port), 'start')
        started.append(base / 'primary')
        servers.run(bindir / 'pg_basebackup', '-h', '127.0.0.1', '-p', primary_port, '-U', 'postgres',
                    '-D', base / 'replica', '-R', '--no-sync')
        servers.run(bindir / 'pg_ctl', '-D', base / 'replica', '-l', base / 'replica.log', '-w', '-o',
                    settings.format(sockets, replica_port), 'start')
        started.append(base / 'replica')
        wait_for_streaming(bindir, servers, primary_port)
        yield dict(primary_port=primary_port, replica_port=replica_port, sockets=str(sockets),
                   bindir=bindir, servers=servers)
    except subprocess.CalledProcessError as exc:
        pytest.fail(f'could not start PostgreSQL: {exc.cmd}: {exc.stderr}\n'
                    f'{servers.log("primary.log")}{servers.log("replica.log")}')
    finally:
        for data in reversed(started):
            servers.run(bindir / 'pg_ctl', '-D', data, '-m', 'immediate', 'stop', check=False)
        shutil.rmtree(base, ignore_errors=True)


def wait_for_streaming(bindir, servers, primary_port):
    query = "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        completed = servers.run(bindir / 'psql', '-h', '127.0.0.1', '-p', primary_port, '-U', 'postgres',
                                '-Atc', query, check=False)
        if completed.stdout.strip() == '1':
            return
        time.sleep(0.2)
    pytest.fail('the replica did not start streaming within 60 s')


def test_postgres_primary_with_streaming_replica(run_module, postgres_pair):
    result = probe(run_module, kind='postgresql', port=postgres_pair['primary_port'], expect_role='primary',
                   min_streaming_replicas=1, timeout=10)
    assert result['verdict'] == 'pass', result['msg']
    assert result['observed']['role'] == 'primary'
    assert result['observed']['streaming_replicas'] == 1
    assert result['observed']['server_version']
    assert result['expected'] == {'role': 'primary', 'min_streaming_replicas': 1}


def test_the_old_kind_word_still_works_with_a_deprecation(run_module, postgres_pair):
    result = probe(run_module, kind='postgres', port=postgres_pair['primary_port'], expect_role='primary', timeout=10)
    assert result['verdict'] == 'pass', result['msg']
    assert [(d['event']['msg'], d['version']) for d in result['deprecations']] == [
        ('kind=postgres is the old spelling of kind=postgresql: write kind=postgresql.', '2.0.0')]


def test_postgres_too_few_replicas(run_module, postgres_pair):
    result = probe(run_module, kind='postgresql', port=postgres_pair['primary_port'], service='pg1 postgres',
                   expect_role='primary', min_streaming_replicas=2, timeout=0)
    assert result['verdict'] == 'fail'
    assert result['msg'] == ('127.0.0.1 pg1 postgres: expected role=primary, streaming replicas >= 2; '
                             'saw 1 streaming replica (need >= 2) after 1 attempt in '
                             f'{result["elapsed"]:.1f} s.')


def test_postgres_replica_through_unix_socket(run_module, postgres_pair):
    result = probe(run_module, kind='postgresql', login_unix_socket=postgres_pair['sockets'],
                   port=postgres_pair['replica_port'], expect_role='replica', max_lag_seconds=30,
                   max_lag_bytes=16 * 1024 * 1024, warn_lag_seconds=30, timeout=10)
    assert result['verdict'] == 'pass', result['msg']
    observed = result['observed']
    assert observed['role'] == 'replica'
    assert observed['wal_receiver_status'] == 'streaming'
    assert isinstance(observed['lag_bytes'], int) and observed['lag_bytes'] >= 0
    assert observed['lag_seconds'] is not None


def test_postgres_replica_when_primary_expected(run_module, postgres_pair):
    result = probe(run_module, kind='postgresql', port=postgres_pair['replica_port'], expect_role='primary',
                   timeout=0.5, interval=0.2)
    assert result['verdict'] == 'fail'
    assert 'expected role=primary; saw role=replica after' in result['msg']


def test_postgres_missing_database(run_module, postgres_pair):
    result = probe(run_module, kind='postgresql', port=postgres_pair['primary_port'], database='nope', timeout=0)
    assert result['verdict'] == 'fail'
    assert 'database "nope" does not exist' in result['msg']


def pgbouncer_command():
    """(binary, environment): an installed pgbouncer, or Debian's unpacked under .cache."""
    binary = os.environ.get('BUNDLE_TEST_PGBOUNCER') or shutil.which('pgbouncer') or (
        '/usr/sbin/pgbouncer' if os.path.exists('/usr/sbin/pgbouncer') else None)
    if binary:
        return binary, None
    root = unpacked('pgbouncer', ['pgbouncer'], dependencies=True)
    return root / 'usr' / 'sbin' / 'pgbouncer', library_env(root)


@pytest.fixture(scope='module')
def pgbouncer_port(postgres_pair):
    binary, env = pgbouncer_command()
    servers = postgres_pair['servers']
    port = free_port()
    config = servers.base / 'pgbouncer.ini'
    (servers.base / 'userlist.txt').write_text('"postgres" ""\n')
    config.write_text(
        '[databases]\n'
        f"appdb = host=127.0.0.1 port={postgres_pair['primary_port']} dbname=postgres\n"
        '[pgbouncer]\n'
        f'listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n'
        f'auth_type = trust\nauth_file = {servers.base}/userlist.txt\nadmin_users = postgres\n'
        f'logfile = {servers.base}/pgbouncer.log\npidfile = {servers.base}/pgbouncer.pid\n')
    servers.run(binary, '-d', config, env=env)
    pidfile = servers.base / 'pgbouncer.pid'
    try:
        deadline = time.monotonic() + 10
        while not pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        yield port
    finally:
        if pidfile.exists():
            os.kill(int(pidfile.read_text()), 15)


def test_pgbouncer_console_and_pooled_select(run_module, postgres_pair, pgbouncer_port):
    result = probe(run_module, kind='pgbouncer', port=pgbouncer_port, admin_user='postgres',
                   expect_database='appdb', login_user='postgres', timeout=10)
    assert result['verdict'] == 'pass', result['msg']
    observed = result['observed']
    assert observed['expected_database'] == dict(host='127.0.0.1', port=postgres_pair['primary_port'],
                                                 database='postgres')
    assert observed['pooled_select'] == 'ok'
    assert set(observed['pools']) == {'cl_active', 'cl_waiting', 'sv_active', 'sv_idle', 'pools'}


def test_pgbouncer_missing_database(run_module, pgbouncer_port):
    result = probe(run_module, kind='pgbouncer', port=pgbouncer_port, admin_user='postgres',
                   expect_database='reports', timeout=0)
    assert result['verdict'] == 'fail'
    assert 'saw database reports not in SHOW DATABASES (listed: appdb, pgbouncer)' in result['msg']
