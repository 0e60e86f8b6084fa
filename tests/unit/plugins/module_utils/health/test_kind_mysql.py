"""The mysql kind of health_probe: its pure logic (status normalisation for
MariaDB and MySQL, verdicts, expectations, messages) and its registration."""

import pymysql
import pytest
import yaml
from ansible_collections.bundle.stack.plugins.module_utils.health.kinds.mysql import (
    PROBE,
    describe_mysql_error,
    normalize_replica_status,
)
from ansible_collections.bundle.stack.plugins.module_utils.health.probe import probe_argument_spec, probe_params
from ansible_collections.bundle.stack.plugins.module_utils.health.registry import DEPRECATED_KINDS, PROBES
from health_probe import DOCUMENTATION

describe_mysql, evaluate_mysql, mysql_expectations = PROBE.describe, PROBE.evaluate, PROBE.expectations

# Trimmed rows of SHOW REPLICA STATUS as each server returns them.
MARIADB_ROW = dict(Master_Host='db1', Master_User='replicator', Master_Port=3306, Slave_IO_Running='Yes',
                   Slave_SQL_Running='Yes', Seconds_Behind_Master=0, Last_IO_Error='', Last_SQL_Error='',
                   Using_Gtid='Slave_Pos', Gtid_IO_Pos='0-1-8')
MYSQL_ROW = dict(Source_Host='db1', Source_User='replicator', Source_Port=3306, Replica_IO_Running='Connecting',
                 Replica_SQL_Running='Yes', Seconds_Behind_Source=None, Last_IO_Error='error connecting to source',
                 Last_SQL_Error='', Auto_Position=1)

REPLICA_OK = dict(role='replica', server_version='10.11.6-MariaDB', read_only=True, io_running='Yes',
                  sql_running='Yes', lag_seconds=0, using_gtid='Slave_Pos', source_host='db1', source_port=3306,
                  last_io_error=None, last_sql_error=None)
PRIMARY_OK = dict(role='primary', server_version='10.11.6-MariaDB', read_only=False, connected_replicas=1)


def test_normalize_mariadb_status():
    assert normalize_replica_status(MARIADB_ROW) == dict(
        io_running='Yes', sql_running='Yes', lag_seconds=0, source_host='db1', source_port=3306,
        last_io_error=None, last_sql_error=None, using_gtid='Slave_Pos')


def test_normalize_mysql_status():
    assert normalize_replica_status(MYSQL_ROW) == dict(
        io_running='Connecting', sql_running='Yes', lag_seconds=None, source_host='db1', source_port=3306,
        last_io_error='error connecting to source', last_sql_error=None, using_gtid='Auto_Position')
    assert normalize_replica_status(dict(MYSQL_ROW, Auto_Position=0))['using_gtid'] == 'No'
    # A status row from a server that reports neither (very old): unknown, not a crash.
    assert normalize_replica_status({'Slave_IO_Running': 'Yes'})['using_gtid'] is None


@pytest.mark.parametrize('observed, params, problems, warnings', [
    pytest.param(PRIMARY_OK, dict(expect_role='primary', min_streaming_replicas=1), [], [], id='primary ok'),
    pytest.param(REPLICA_OK, dict(expect_role='replica', max_lag_seconds=30, warn_lag_seconds=10), [], [],
                 id='replica ok'),
    pytest.param(REPLICA_OK, dict(expect_role='primary', min_streaming_replicas=1), ['role=replica'], [],
                 id='replica when primary expected'),
    pytest.param(PRIMARY_OK, dict(expect_role='replica', max_lag_seconds=30), ['role=primary'], [],
                 id='primary when replica expected (replication not set up)'),
    pytest.param(dict(REPLICA_OK, sql_running='No', last_sql_error="Duplicate entry '1' for key 'PRIMARY'",
                      lag_seconds=None), dict(expect_role='replica', max_lag_seconds=30),
                 ["replica SQL thread No (last error: Duplicate entry '1' for key 'PRIMARY')"], [],
                 id='SQL thread stopped by an error'),
    pytest.param(dict(REPLICA_OK, io_running='Connecting', last_io_error='error connecting to master',
                      lag_seconds=None), dict(expect_role='replica'),
                 ['replica IO thread Connecting (last error: error connecting to master)'], [],
                 id='primary unreachable'),
    pytest.param(dict(REPLICA_OK, io_running='No', sql_running='No', lag_seconds=None), dict(expect_role='any'),
                 ['replica IO thread No', 'replica SQL thread No'], [], id='both threads stopped, any role'),
    pytest.param(dict(REPLICA_OK, lag_seconds=45), dict(expect_role='replica', max_lag_seconds=30,
                                                        warn_lag_seconds=10),
                 ['45 s behind the primary > 30 s'], [], id='lag above max is not also a warning'),
    pytest.param(dict(REPLICA_OK, lag_seconds=12), dict(expect_role='replica', max_lag_seconds=30,
                                                        warn_lag_seconds=10),
                 [], ['12 s behind the primary, above warning threshold 10 s'], id='lag above warn only'),
    pytest.param(dict(REPLICA_OK, read_only=False), dict(expect_role='replica'),
                 ['read_only=OFF on a replica (writes would diverge from the primary)'], [],
                 id='writable replica'),
    pytest.param(dict(REPLICA_OK, read_only=False), dict(expect_role='any'), [], [],
                 id='writable replica is fine when any role is expected'),
    pytest.param(dict(PRIMARY_OK, read_only=True), dict(expect_role='primary'),
                 ['read_only=ON on the primary (applications cannot write)'], [], id='read-only primary'),
    pytest.param(dict(PRIMARY_OK, connected_replicas=0), dict(expect_role='primary', min_streaming_replicas=1),
                 ['0 connected replicas (need >= 1)'], [], id='replica gone'),
    pytest.param(dict(PRIMARY_OK, connected_replicas=1), dict(min_streaming_replicas=2),
                 ['1 connected replica (need >= 2)'], [], id='too few replicas'),
    pytest.param(PRIMARY_OK, dict(max_lag_seconds=0), [], [], id='lag limits do not apply to a primary'),
])
def test_evaluate_mysql(observed, params, problems, warnings):
    assert evaluate_mysql(observed, params) == (problems, warnings)


def test_mysql_expectations():
    expected, phrases = mysql_expectations(dict(expect_role='replica', max_lag_seconds=30.0, warn_lag_seconds=10.0))
    assert expected == dict(role='replica', io_running='Yes', sql_running='Yes', read_only=True,
                            max_lag_seconds=30.0, warn_lag_seconds=10.0)
    assert phrases == ['role=replica', 'replica IO and SQL threads running', 'read_only=ON', 'lag <= 30 s']
    assert mysql_expectations(dict(expect_role='any'))[1] == ['SELECT 1 answering']
    assert mysql_expectations(dict(expect_role='primary', min_streaming_replicas=1))[1] == [
        'role=primary', 'read_only=OFF', 'connected replicas >= 1']


def test_describe_mysql():
    assert describe_mysql(PRIMARY_OK) == 'primary 10.11.6-MariaDB, 1 connected replica'
    assert describe_mysql(REPLICA_OK) == ('replica 10.11.6-MariaDB of db1, IO Yes, SQL Yes, 0 s behind, '
                                          'gtid Slave_Pos')


@pytest.mark.parametrize('error, expected', [
    (pymysql.err.OperationalError(1045, "Access denied for user 'monitor'@'localhost' (using password: YES)"),
     "authentication failed ((1045, \"Access denied for user 'monitor'@'localhost' (using password: YES)\"))"),
    (pymysql.err.OperationalError(2003, "Can't connect to MySQL server on 'localhost' "
                                        "([Errno 2] No such file or directory)"),
     "socket not found ((2003, \"Can't connect to MySQL server on 'localhost' "
     "([Errno 2] No such file or directory)\"))"),
    (pymysql.err.OperationalError(2003, "Can't connect to MySQL server on '127.0.0.1' "
                                        "([Errno 111] Connection refused)"),
     "connection refused ((2003, \"Can't connect to MySQL server on '127.0.0.1' "
     "([Errno 111] Connection refused)\"))"),
    (pymysql.err.OperationalError(1227, 'Access denied; you need (at least one of) the PROCESS privilege(s)'),
     'missing privilege ((1227, \'Access denied; you need (at least one of) the PROCESS privilege(s)\'))'),
])
def test_describe_mysql_error(error, expected):
    assert describe_mysql_error(error) == expected


def test_registered_with_its_defaults_and_shared_options():
    assert PROBES['mysql'] is PROBE
    spec = probe_argument_spec(PROBES)
    params = probe_params({name: option.get('default') for name, option in spec.items()} | {'kind': 'mysql'}, PROBE)
    assert (params['port'], params['login_user'], params['service']) == (3306, 'root', 'mysql')
    # Shared with the postgres kind, so they must stay defined identically.
    for name in ('login_user', 'login_password', 'login_unix_socket', 'expect_role', 'max_lag_seconds'):
        assert spec[name] == PROBE.argument_spec[name]
    assert spec['login_password']['no_log'] is True


def test_endpoint_is_the_socket_when_one_is_used():
    mysql_endpoint = PROBE.endpoint
    assert mysql_endpoint(dict(login_unix_socket='/run/mysqld/mysqld.sock', host='127.0.0.1', port=3306)) == (
        '/run/mysqld/mysqld.sock', 3306)
    assert mysql_endpoint(dict(login_unix_socket=None, host='db1', port=3307)) == ('db1', 3307)


def test_documented_kinds_are_the_registered_kinds():
    documented = yaml.safe_load(DOCUMENTATION)['options']['kind']['choices']
    assert sorted(documented) == sorted([*PROBES, *DEPRECATED_KINDS])
