"""Throwaway database servers on this machine for the db_backup and db_restore
tests: a PostgreSQL cluster (initdb, pg_ctl) and a Redis server, each in its
own temporary directory, reached through a socket or 127.0.0.1 only."""

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def postgres_bindir():
    initdb = shutil.which('initdb') or next(iter(sorted(Path('/usr/lib/postgresql').glob('*/bin/initdb'))), None)
    return Path(initdb).resolve().parent if initdb else None


class Postgres:
    """A running cluster: psql() as the superuser, connection options for the modules."""

    def __init__(self, bindir, base, port, user):
        self.bindir, self.base, self.port, self.user = bindir, base, port, user
        self.sockets = base / 'sock'

    def run(self, *command, check=True):
        kwargs = dict(user=self.user[0], group=self.user[1], extra_groups=[]) if self.user else {}
        return subprocess.run([str(part) for part in command], cwd=self.base, capture_output=True, text=True,
                              check=check, timeout=120, **kwargs)

    def psql(self, sql, database='postgres'):
        completed = subprocess.run(
            [str(self.bindir / 'psql'), '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', str(self.sockets),
             '-p', str(self.port), '-U', 'postgres', '-d', database, '-c', sql],
            capture_output=True, text=True, timeout=120, check=False)
        assert completed.returncode == 0, completed.stderr
        return completed.stdout.strip()

    def databases(self):
        return set(self.psql('SELECT datname FROM pg_database').split())

    def options(self):
        return dict(engine='postgresql', login_unix_socket=str(self.sockets), port=self.port,
                    bin_dir=str(self.bindir))


@contextlib.contextmanager
def postgres_cluster():
    """Yields a Postgres, or None when the server binaries are not installed."""
    bindir = postgres_bindir()
    if not bindir or not (bindir / 'pg_ctl').exists():
        yield None
        return
    user = None
    if os.geteuid() == 0:
        entry = pwd.getpwnam('postgres')
        user = entry.pw_uid, entry.pw_gid
    base = Path(tempfile.mkdtemp(prefix='db-backup-pg-'))
    if user:
        os.chown(base, *user)
    server = Postgres(bindir, base, free_port(), user)
    started = False
    try:
        server.run('mkdir', server.sockets)
        server.run(bindir / 'initdb', '-D', base / 'data', '-U', 'postgres', '--auth=trust', '--no-sync')
        server.run(bindir / 'pg_ctl', '-D', base / 'data', '-l', base / 'log', '-w', '-o',
                   f"-c listen_addresses='' -c unix_socket_directories={server.sockets} -c port={server.port} "
                   '-c fsync=off -c shared_buffers=16MB -c max_connections=30', 'start')
        started = True
        yield server
    finally:
        if started:
            server.run(bindir / 'pg_ctl', '-D', base / 'data', '-m', 'immediate', 'stop', check=False)
        shutil.rmtree(base, ignore_errors=True)


class Redis:
    def __init__(self, base, port):
        self.base, self.port = base, port

    def cli(self, *words):
        completed = subprocess.run(['redis-cli', '-p', str(self.port), *words], capture_output=True, text=True,
                                   timeout=30, check=True)
        return completed.stdout.strip()


@contextlib.contextmanager
def redis_server():
    """A Redis server on 127.0.0.1 with its data in a temporary directory, or None.

    Debian's redis-tools ship the server binary as redis-check-rdb (it picks its
    role from its name), so a link named redis-server runs the real server."""
    binary = shutil.which('redis-server')
    if not binary and shutil.which('redis-check-rdb') and shutil.which('redis-cli'):
        binary = shutil.which('redis-check-rdb')
    if not binary:
        yield None
        return
    base = Path(tempfile.mkdtemp(prefix='db-backup-redis-'))
    server_link = base / 'redis-server'
    server_link.symlink_to(binary)
    port = free_port()
    process = subprocess.Popen([str(server_link), '--port', str(port), '--bind', '127.0.0.1', '--dir', str(base),
                                '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        redis = Redis(base, port)
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(subprocess.CalledProcessError):
                if redis.cli('PING') == 'PONG':
                    break
            assert time.monotonic() < deadline, 'redis did not start within 10 s'
            time.sleep(0.1)
        yield redis
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(base, ignore_errors=True)
