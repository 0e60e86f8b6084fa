"""The reference application against real servers on 127.0.0.1.

The processes under test run from a virtual environment made from the release artifact
itself (app/build.py, installed with --no-index from its wheels/), as a host would run
them: what is tested is what ships. PostgreSQL (a primary and a streaming replica) and
Redis with a Sentinel come from tests/support; the schema is applied by
bundle.stack.schema_migrate, run as Ansible runs a module, so the ledger the application
reads is the one the module writes.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from refapp_testing import DB_PASSWORD, apply_migrations, get, wait_until

from tests.support.ports import free_port
from tests.support.throwaway_postgres import ThrowawayPostgres
from tests.support.throwaway_redis import PASSWORDS, SENTINEL_CLIENT, Servers, redis_server_binary

APP = Path(__file__).resolve().parents[1]
MASTER_NAME = 'bundle'


def load_build():
    """app/build.py as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location('refapp_build', APP / 'build.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def build():
    return load_build()


def installed(build, out, version, drill=''):
    """(artifact path, bin directory of a venv installed from it alone)."""
    artifact, _ = build.build(version, out, drill)
    shutil.unpack_archive(artifact, out)
    top = out / artifact.name.removesuffix('.tar.gz')
    venv = out / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', venv], check=True)
    subprocess.run([sys.executable, '-m', 'pip', '--python', str(venv / 'bin' / 'python'), 'install', '--quiet',
                    '--no-index', '--find-links', top / 'wheels', '--require-hashes', '--no-deps',
                    '-r', top / 'requirements.lock'], check=True, capture_output=True, text=True)
    return artifact, venv / 'bin'


@pytest.fixture(scope='session')
def release(build, tmp_path_factory):
    """The release of app/pyproject.toml's version: (artifact, bin directory of its venv)."""
    return installed(build, tmp_path_factory.mktemp('release'), build.project_version())


@pytest.fixture(scope='session')
def drill_release(build, tmp_path_factory):
    """drill_release(kind): a drill release of that kind (app/build.py --drill), built once."""
    made = {}

    def make(kind):
        if kind not in made:
            made[kind] = installed(build, tmp_path_factory.mktemp(f'drill-{kind}'), '9.9.9', kind)
        return made[kind]
    return make


class Postgres:
    """A primary with the app's role, a replica streaming from it, and a database per stack."""

    def __init__(self):
        self.primary = ThrowawayPostgres().start()
        self.primary.create_role('app', DB_PASSWORD)
        self.replica = self.primary.standby()

    def database(self, migrated=True):
        name = 'app_' + uuid.uuid4().hex[:10]
        self.primary.create_database(name, owner='app')
        if migrated:
            apply_migrations(self.primary, name)
        return name

    def stop(self):
        self.replica.stop()
        self.primary.stop()


@pytest.fixture(scope='session')
def postgres():
    servers = Postgres()
    yield servers
    servers.stop()


class Redis:
    """A Redis master with the ACL users of tests/support and one Sentinel watching it as `bundle`."""

    def __init__(self):
        self.base = Path(tempfile.mkdtemp(prefix='refapp-redis-'))
        self.servers = Servers(redis_server_binary(self.base), self.base)
        self.master = self.servers.start('master', [])
        self.sentinel = self.start_sentinel('sentinel')

    def start_sentinel(self, name):
        """One more Sentinel watching the master; its port."""
        return self.servers.start(name, [
            f'sentinel monitor {MASTER_NAME} 127.0.0.1 {self.master} 1',
            f'sentinel auth-user {MASTER_NAME} sentinel', f'sentinel auth-pass {MASTER_NAME} {PASSWORDS["sentinel"]}',
            f'sentinel down-after-milliseconds {MASTER_NAME} 5000'], sentinel=True)

    def stop_master(self):
        process = self.servers.processes[0]
        process.terminate()
        process.wait(timeout=10)

    def client(self):
        import redis
        return redis.Redis(port=self.master, username='app', password=PASSWORDS['app'], decode_responses=True)

    def stop(self):
        self.servers.stop()
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def redis_servers():
    servers = Redis()
    yield servers
    servers.stop()


@pytest.fixture(scope='session')
def shared_redis():
    servers = Redis()
    yield servers
    servers.stop()


class Stack:
    """The application's processes (from the release venv) against given servers; stops them all."""

    def __init__(self, bin_dir, base, postgres, database, redis):
        self.bin_dir, self.base = bin_dir, base
        self.processes = []
        self.process = {}  # the last one started of each program
        secrets = {'db': DB_PASSWORD, 'redis': PASSWORDS['app'], 'sentinel': SENTINEL_CLIENT[1]}
        for name, value in secrets.items():
            (base / name).write_text(value + '\n')
        self.env = dict(
            PATH=os.environ.get('PATH', '/usr/bin:/bin'), REFAPP_ENVIRONMENT='lab', REFAPP_DB_ENGINE='postgresql',
            REFAPP_DB_HOST='127.0.0.1', REFAPP_DB_PORT=str(postgres.primary.port), REFAPP_DB_NAME=database,
            REFAPP_DB_USER='app', REFAPP_DB_PASSWORD_FILE=str(base / 'db'),
            REFAPP_DB_READ_HOSTS=f'127.0.0.1:{postgres.replica.port}', REFAPP_DB_REPLICA_MAX_LAG_SECONDS='2',
            REFAPP_REDIS_SENTINELS=f'127.0.0.1:{redis.sentinel}', REFAPP_REDIS_MASTER_NAME=MASTER_NAME,
            REFAPP_REDIS_USER='app', REFAPP_REDIS_PASSWORD_FILE=str(base / 'redis'),
            REFAPP_SENTINEL_USER=SENTINEL_CLIENT[0], REFAPP_SENTINEL_PASSWORD_FILE=str(base / 'sentinel'),
            REFAPP_WORKER_QUEUES='default,mail', REFAPP_CHECK_TIMEOUT_SECONDS='1', REFAPP_WORKER_STALL_SECONDS='2')
        self.worker_port = free_port()
        self.worker_url = f'http://127.0.0.1:{self.worker_port}'
        self.env.update(REFAPP_WORKER_URLS=f'default={self.worker_url}',
                        REFAPP_WORKER_HEALTH_PORT=str(self.worker_port))

    def start(self, program, port_variable, **extra):
        """Start refapp-<program> with the stack's environment plus extra; its base URL once /health answers."""
        # The worker's port is the one REFAPP_WORKER_URLS names for the backend.
        port = self.worker_port if program == 'worker' else free_port()
        env = dict(self.env, **{port_variable: str(port)}, **extra)
        log = (self.base / f'{program}-{port}.log').open('w')
        process = subprocess.Popen([self.bin_dir / f'refapp-{program}'], env=env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        self.process[program] = process
        url = f'http://127.0.0.1:{port}'

        def answers():
            if process.poll() is not None:
                pytest.fail(f'refapp-{program} exited {process.returncode}: {Path(log.name).read_text()}')
            try:
                return get(f'{url}/health', timeout=2)[0] in (200, 503)
            except OSError:
                return False
        wait_until(answers, 30, f'refapp-{program} answering on {url}')
        return url

    def backend(self, **extra):
        return self.start('backend', 'REFAPP_BACKEND_PORT', **extra)

    def worker(self, **extra):
        return self.start('worker', 'REFAPP_WORKER_HEALTH_PORT', **extra)

    def frontend(self, **extra):
        return self.start('frontend', 'REFAPP_FRONTEND_PORT', **extra)

    def stop(self, process=None):
        for each in [process] if process else self.processes:
            if each.poll() is None:
                each.terminate()
                try:
                    each.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    each.kill()


@pytest.fixture(scope='session')
def stack(release, postgres, shared_redis, tmp_path_factory):
    """A healthy stack: backend and worker on a migrated database, the replica and the Sentinel."""
    running = Stack(release[1], tmp_path_factory.mktemp('stack'), postgres, postgres.database(), shared_redis)
    running.backend_url = running.backend()
    running.worker_url = running.worker()
    yield running
    running.stop()


@pytest.fixture
def make_stack(release, postgres, tmp_path):
    """Stacks of one test, on their own database and Redis: for the tests that break something."""
    made = []

    def make(redis, migrated=True, bin_dir=None):
        made.append(Stack(bin_dir or release[1], tmp_path, postgres, postgres.database(migrated), redis))
        return made[-1]
    yield make
    for each in made:
        each.stop()
