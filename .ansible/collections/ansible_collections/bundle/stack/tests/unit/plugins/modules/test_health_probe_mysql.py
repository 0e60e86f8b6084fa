"""health_probe kind=mysql end to end, on 127.0.0.1 only.

Failures that need no server (closed port, missing socket, missing driver)
always run. The rest run against a throwaway MariaDB primary and GTID replica
(tests/support/throwaway_mariadb.py: the machine's MariaDB, or Debian's packages
unpacked under .cache/).
The molecule scenario `mysql` runs the same probe against the role's servers.
"""

import json
import time

import health_probe
import pytest

from tests.support.ports import free_port
from tests.support.throwaway_mariadb import ThrowawayMariadb

REPLICATION = ('--log-bin=bin', '--gtid-strict-mode=ON')


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
    from ansible_collections.bundle.stack.plugins.module_utils.db import mysql
    monkeypatch.setattr(mysql, 'HAS_DRIVER', False)
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
    rc, result = ansible_adhoc('bundle.stack.health_probe', f'kind=mysql port={port} timeout=0 service=mariadb '
                                                            'unit=mariadb log_lines=3')
    assert rc != 0
    assert result['verdict'] == 'fail'
    assert result['msg'].startswith('127.0.0.1 mariadb (mariadb): expected SELECT 1 answering; saw connection refused')
    assert 'Unit mariadb: ' in result['msg']


# --- a real primary and GTID replica ------------------------------------------------

@pytest.fixture(scope='module')
def mariadb_pair():
    primary, replica = ThrowawayMariadb(), ThrowawayMariadb()
    try:
        primary.start('--server-id=1', *REPLICATION)
        primary.sql("CREATE USER repl@'127.0.0.1' IDENTIFIED BY 'repl-pw'",
                    "GRANT REPLICATION SLAVE ON *.* TO repl@'127.0.0.1'",
                    "CREATE USER nopriv@localhost IDENTIFIED BY 'nopriv-pw'")
        replica.start('--server-id=2', *REPLICATION, '--read-only=ON', '--log-slave-updates=ON')
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
