"""health_probe kind=mysql end to end, on 127.0.0.1 only.

Failures that need no server (closed port, missing socket, missing driver)
always run. A throwaway MariaDB primary and GTID replica are started when
MariaDB's server binaries are found: mariadbd and mariadb-install-db on PATH or
in /usr/sbin and /usr/bin, or an unpacked tree named by BUNDLE_TEST_MARIADB_ROOT
(the directory holding usr/, as `dpkg -x` of Debian's mariadb-server-core and
mariadb-client-core leaves it; add their libraries, liburing2 and libaio1, to
LD_LIBRARY_PATH when they are not installed).
Those tests are skipped otherwise; the molecule scenario `mysql` runs the same
probe against the role's servers in any case.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import health_probe
import pymysql
import pytest


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def probe(run_module, **args):
    return run_module(health_probe.main, dict(kind='mysql', **args))


# --- without a server ------------------------------------------------------------

def test_closed_port_fails_with_clear_message(run_module):
    port = free_port()
    result = probe(run_module, port=port, service='db1 mariadb', expect_role='primary', timeout=0)
    assert result['failed'] is True and result['verdict'] == 'fail'
    assert result['msg'].startswith('127.0.0.1 db1 mariadb: expected role=primary, read_only=OFF; saw connection '
                                    "refused ((2003, \"Can't connect to MySQL server on '127.0.0.1'")
    assert (result['host'], result['port']) == ('127.0.0.1', port)


def test_missing_socket_fails_with_clear_message(run_module, tmp_path):
    result = probe(run_module, login_unix_socket=str(tmp_path / 'mysqld.sock'), expect_role='replica',
                   max_lag_seconds=30, timeout=0)
    assert result['verdict'] == 'fail'
    assert result['host'] == str(tmp_path / 'mysqld.sock')
    assert ('expected role=replica, replica IO and SQL threads running, read_only=ON, lag <= 30 s; '
            'saw socket not found') in result['msg']


def test_missing_driver_names_pymysql(run_module, monkeypatch):
    from ansible.module_utils import bundle_probe_mysql
    monkeypatch.setattr(bundle_probe_mysql, 'pymysql', None)
    result = probe(run_module, timeout=0)
    assert result['failed'] is True
    assert result['msg'].startswith('Failed to import the required Python library (PyMySQL (Debian package '
                                    'python3-pymysql))')


def test_password_is_not_logged(run_module):
    result = probe(run_module, port=free_port(), login_user='monitor', login_password='s3cret-pw', timeout=0)
    assert result['verdict'] == 'fail'
    assert 's3cret-pw' not in json.dumps(result)


def test_unused_option_warns(run_module):
    result = probe(run_module, port=free_port(), admin_user='x', timeout=0)
    assert 'Option admin_user is not used by kind=mysql and is ignored.' in json.dumps(result['warnings'])


def test_fails_under_ansible_with_the_unit_diagnosis(ansible_adhoc):
    port = free_port()
    rc, result = ansible_adhoc('health_probe', f'kind=mysql port={port} timeout=0 service=mariadb '
                                               'unit=mariadb log_lines=3')
    assert rc != 0
    assert result['verdict'] == 'fail'
    assert result['msg'].startswith('127.0.0.1 mariadb (mariadb): expected SELECT 1 answering; saw connection refused')
    assert 'Unit mariadb: ' in result['msg']


# --- a real primary and GTID replica ------------------------------------------------

def mariadb_tree():
    """(root, mariadbd, mariadb-install-db) of a MariaDB install, or None."""
    root = os.environ.get('BUNDLE_TEST_MARIADB_ROOT')
    candidates = [Path(root)] if root else [Path('/')]
    for base in candidates:
        server = base / 'usr' / 'sbin' / 'mariadbd'
        install = base / 'usr' / 'bin' / 'mariadb-install-db'
        if server.exists() and install.exists():
            return base, server, install
    server, install = shutil.which('mariadbd'), shutil.which('mariadb-install-db')
    if server and install:
        return Path('/'), Path(server), Path(install)
    return None


class Server:
    def __init__(self, tree, base, name, server_id):
        self.root, self.binary, self.install = tree
        self.dir = base / name
        self.socket = str(self.dir / 'mysqld.sock')
        self.port = free_port()
        self.server_id = server_id
        self.process = None

    def start(self, *options):
        share = self.root / 'usr' / 'share' / 'mysql'
        subprocess.run([str(self.install), '--no-defaults', f'--basedir={self.root / "usr"}',
                        f'--datadir={self.dir / "data"}', '--auth-root-authentication-method=normal',
                        '--skip-test-db', '--user=root', '--skip-name-resolve'],
                       check=True, capture_output=True, text=True, timeout=120)
        self.process = subprocess.Popen(
            [str(self.binary), '--no-defaults', f'--basedir={self.root / "usr"}', f'--lc-messages-dir={share}',
             f'--datadir={self.dir / "data"}', f'--socket={self.socket}', f'--port={self.port}',
             '--bind-address=127.0.0.1', '--user=root', f'--server-id={self.server_id}', '--log-bin=bin',
             '--gtid-strict-mode=ON', '--skip-name-resolve', '--innodb-buffer-pool-size=16M',
             f'--pid-file={self.dir / "mysqld.pid"}', f'--log-error={self.dir / "error.log"}', *options],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not Path(self.socket).exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = (self.dir / 'error.log').read_text() if (self.dir / 'error.log').exists() else ''
                pytest.fail(f'mariadbd {self.dir.name} did not start:\n{log[-3000:]}')
            time.sleep(0.1)

    def sql(self, *queries):
        connection = pymysql.connect(unix_socket=self.socket, user='root', autocommit=True,
                                     cursorclass=pymysql.cursors.DictCursor)
        try:
            with connection.cursor() as cursor:
                for query in queries:
                    cursor.execute(query)
                return cursor.fetchall()
        finally:
            connection.close()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)


@pytest.fixture(scope='module')
def mariadb_pair():
    tree = mariadb_tree()
    if not tree:
        pytest.skip('MariaDB server binaries (mariadbd, mariadb-install-db) are not installed; '
                    'set BUNDLE_TEST_MARIADB_ROOT to an unpacked mariadb-server-core')
    base = Path(tempfile.mkdtemp(prefix='health-probe-mysql-'))
    primary, replica = Server(tree, base, 'primary', 1), Server(tree, base, 'replica', 2)
    try:
        primary.start()
        primary.sql("CREATE USER repl@'127.0.0.1' IDENTIFIED BY 'repl-pw'",
                    "GRANT REPLICATION SLAVE ON *.* TO repl@'127.0.0.1'",
                    "CREATE USER nopriv@localhost IDENTIFIED BY 'nopriv-pw'")
        replica.start('--read-only=ON', '--log-slave-updates=ON')
        replica.sql(f"CHANGE MASTER TO master_host='127.0.0.1', master_port={primary.port}, master_user='repl', "
                    "master_password='repl-pw', master_use_gtid=slave_pos", 'START REPLICA')
        deadline = time.monotonic() + 60
        while replica.sql('SHOW REPLICA STATUS')[0]['Slave_IO_Running'] != 'Yes':
            assert time.monotonic() < deadline, replica.sql('SHOW REPLICA STATUS')[0]['Last_IO_Error']
            time.sleep(0.2)
        yield primary, replica
    finally:
        replica.stop()
        primary.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_primary_with_a_connected_replica(run_module, mariadb_pair):
    primary, _replica = mariadb_pair
    result = probe(run_module, login_unix_socket=primary.socket, expect_role='primary', min_streaming_replicas=1,
                   timeout=10)
    assert result['verdict'] == 'pass', result['msg']
    assert result['observed']['role'] == 'primary'
    assert result['observed']['connected_replicas'] == 1
    assert result['observed']['read_only'] is False
    assert 'MariaDB' in result['observed']['server_version']


def test_replica_over_tcp_follows_by_gtid(run_module, mariadb_pair):
    primary, replica = mariadb_pair
    primary.sql('CREATE DATABASE IF NOT EXISTS drill', 'CREATE TABLE IF NOT EXISTS drill.t (id INT PRIMARY KEY)',
                'REPLACE INTO drill.t VALUES (1)')
    result = probe(run_module, port=replica.port, login_user='root', expect_role='replica', max_lag_seconds=30,
                   warn_lag_seconds=10, timeout=10)
    assert result['verdict'] == 'pass', result['msg']
    observed = result['observed']
    assert (observed['io_running'], observed['sql_running'], observed['using_gtid']) == ('Yes', 'Yes', 'Slave_Pos')
    assert (observed['source_host'], observed['source_port']) == ('127.0.0.1', primary.port)
    assert observed['read_only'] is True and observed['lag_seconds'] == 0
    assert 'gtid Slave_Pos' in result['msg']


def test_replica_when_primary_expected(run_module, mariadb_pair):
    _primary, replica = mariadb_pair
    result = probe(run_module, login_unix_socket=replica.socket, expect_role='primary', timeout=0)
    assert result['verdict'] == 'fail'
    assert 'expected role=primary, read_only=OFF; saw role=replica after 1 attempt' in result['msg']


def test_stopped_sql_thread_is_named(run_module, mariadb_pair):
    _primary, replica = mariadb_pair
    replica.sql('STOP REPLICA SQL_THREAD')
    try:
        result = probe(run_module, login_unix_socket=replica.socket, expect_role='replica', timeout=0)
    finally:
        replica.sql('START REPLICA SQL_THREAD')
    assert result['verdict'] == 'fail'
    assert 'saw replica SQL thread No after 1 attempt' in result['msg']


def test_wrong_password_and_missing_privilege(run_module, mariadb_pair):
    _primary, replica = mariadb_pair
    result = probe(run_module, login_unix_socket=replica.socket, login_user='nopriv', login_password='wrong',
                   timeout=0)
    assert 'saw authentication failed' in result['msg']
    result = probe(run_module, login_unix_socket=replica.socket, login_user='nopriv', login_password='nopriv-pw',
                   timeout=0)
    assert result['verdict'] == 'fail'
    assert 'saw missing privilege' in result['msg']
