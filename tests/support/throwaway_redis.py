"""The throwaway Redis servers and Sentinels on 127.0.0.1 of the tests.

Needs a redis-server binary: in BUNDLE_TEST_REDIS_SERVER, on PATH, or Debian's
redis-tools package, whose redis-check-rdb is the same binary (Redis picks its
mode from the name it runs under, so a link named redis-server starts a server).
Every server listens on 127.0.0.1 only, on a free port, in a temporary directory
removed afterwards: cluster() for the probes (ACL users, a replica, a Sentinel),
server() for db_backup (one server, no users, its data directory).
"""

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.support.ports import free_port

PASSWORDS = {'app': 'app-pw-1', 'monitor': 'monitor-pw-2', 'replicator': 'replicator-pw-3',
             'sentinel': 'sentinel-pw-4', 'nothing': 'nothing-pw-5'}
SENTINEL_CLIENT = ('sentinel-client', 'client-pw-6')
SENTINEL_ADMIN = ('sentinel-admin', 'admin-pw-7')


MISSING = 'no redis-server binary (install redis-server or redis-tools, or set BUNDLE_TEST_REDIS_SERVER)'


def redis_server_binary(base):
    """Path of a redis-server to run, or None."""
    found = os.environ.get('BUNDLE_TEST_REDIS_SERVER') or shutil.which('redis-server')
    if found:
        return found
    checker = shutil.which('redis-check-rdb')
    # An old redis-check-rdb is a small tool of its own, not the server under another name.
    if checker and Path(checker).stat().st_size > 1_000_000:
        link = base / 'redis-server'
        link.symlink_to(checker)
        return str(link)
    return None


def sha(password):
    return hashlib.sha256(password.encode()).hexdigest()


REDIS_USERS = f"""user default off
user app on #{sha(PASSWORDS['app'])} ~* &* +@all -@admin
user monitor on #{sha(PASSWORDS['monitor'])} -@all +ping +info +role
user replicator on #{sha(PASSWORDS['replicator'])} -@all +psync +replconf +ping
user sentinel on #{sha(PASSWORDS['sentinel'])} allchannels -@all +multi +slaveof +ping +exec +subscribe \
+config|rewrite +role +publish +info +client|setname +client|kill +script|kill
user nothing on #{sha(PASSWORDS['nothing'])} -@all +ping
"""

# The client user's rules are the redis_sentinel role's (_redis_sentinel_client_rules): redis-py's
# Sentinel client asks SENTINEL MASTERS.
SENTINEL_USERS = f"""user default off
user {SENTINEL_ADMIN[0]} on #{sha(SENTINEL_ADMIN[1])} ~* &* +@all
user {SENTINEL_CLIENT[0]} on #{sha(SENTINEL_CLIENT[1])} -@all +ping +sentinel|get-master-addr-by-name \
+sentinel|masters +sentinel|master +sentinel|replicas +sentinel|slaves +sentinel|sentinels +sentinel|ckquorum
"""


class Servers:
    """Starts Redis servers and Sentinels in one directory; stops them all."""

    def __init__(self, binary, base):
        self.binary = binary
        self.base = base
        self.processes = []

    def start(self, name, lines, sentinel=False, users=True):
        """Start a server (or Sentinel) in <base>/<name>; with users, the ACL users above; its port."""
        directory = self.base / name
        directory.mkdir()
        port = free_port()
        settings = [f'port {port}', 'bind 127.0.0.1', f'dir "{directory}"', 'save ""', 'appendonly no']
        if users:
            acl = directory / 'users.acl'
            acl.write_text(SENTINEL_USERS if sentinel else REDIS_USERS)
            settings.append(f'aclfile "{acl}"')
        conf = directory / ('sentinel.conf' if sentinel else 'redis.conf')
        conf.write_text('\n'.join([*settings, *lines]) + '\n')
        command = [self.binary, str(conf)] + (['--sentinel'] if sentinel else [])
        log = (directory / 'log').open('w')
        self.processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
        wait_for_port(port, directory / 'log')
        return port

    def stop(self):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_for_port(port, log, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f'server on port {port} did not start: {log.read_text()}')


def wait_until(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f'{what} not within {seconds} s')


def cluster():
    """Generator for a module fixture: a master, a replica following it, a
    replica of a master that is not there, and one Sentinel watching the master."""
    base = Path(tempfile.mkdtemp(prefix='health-probe-redis-'))
    binary = redis_server_binary(base)
    if not binary:
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(MISSING)
    servers = Servers(binary, base)
    try:
        master = servers.start('master', [])
        replica = servers.start('replica', [f'replicaof 127.0.0.1 {master}', 'masteruser replicator',
                                            f'masterauth {PASSWORDS["replicator"]}'])
        orphan = servers.start('orphan', [f'replicaof 127.0.0.1 {free_port()}', 'masteruser replicator',
                                          f'masterauth {PASSWORDS["replicator"]}'])
        sentinel = servers.start('sentinel', [
            f'sentinel monitor main 127.0.0.1 {master} 1',
            'sentinel auth-user main sentinel', f'sentinel auth-pass main {PASSWORDS["sentinel"]}',
            'sentinel down-after-milliseconds main 5000',
            # Watched too, but with a quorum one Sentinel can never reach.
            f'sentinel monitor lonely 127.0.0.1 {master} 2',
            'sentinel auth-user lonely sentinel', f'sentinel auth-pass lonely {PASSWORDS["sentinel"]}',
        ], sentinel=True)
        yield dict(master=master, replica=replica, orphan=orphan, sentinel=sentinel, base=base)
    finally:
        servers.stop()
        shutil.rmtree(base, ignore_errors=True)


class Server:
    """One running server: its port and data directory; cli() runs redis-cli against it."""

    def __init__(self, port, directory):
        self.port, self.base = port, directory

    def cli(self, *words):
        completed = subprocess.run(['redis-cli', '-p', str(self.port), *words], capture_output=True, text=True,
                                   timeout=30, check=True)
        return completed.stdout.strip()


@contextlib.contextmanager
def server():
    """One Redis server without ACL users (the default user, no password), for db_backup."""
    base = Path(tempfile.mkdtemp(prefix='db-backup-redis-'))
    binary = redis_server_binary(base)
    if not binary:
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(MISSING)
    servers = Servers(binary, base)
    try:
        port = servers.start('redis', [], users=False)
        yield Server(port, base / 'redis')
    finally:
        servers.stop()
        shutil.rmtree(base, ignore_errors=True)
