"""schema_migrate and schema_rollback against a real MariaDB on 127.0.0.1.

A throwaway server is started from MariaDB's server binaries: mariadbd and
mariadb-install-db on PATH, or an unpacked tree named by BUNDLE_TEST_MARIADB_ROOT (the
directory holding usr/, as `dpkg -x` of Debian's mariadb-server-core and
mariadb-client-core leaves it, with liburing2 and libaio1 on LD_LIBRARY_PATH when they
are not installed). Skipped otherwise. DDL is not transactional in MariaDB: the tests
check that the modules say so and verify statement by statement.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pymysql
import pytest
import schema_migrate
import schema_rollback
from ansible.module_utils.bundle_migrate_mysql import MysqlCatalog

CORPUS = Path(__file__).resolve().parents[3] / 'migrations' / 'mysql' / 'corpus'
PASSWORD = 'app-' + uuid.uuid4().hex


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def mariadb_tree():
    root = os.environ.get('BUNDLE_TEST_MARIADB_ROOT')
    base = Path(root) if root else Path('/')
    server, install = base / 'usr' / 'sbin' / 'mariadbd', base / 'usr' / 'bin' / 'mariadb-install-db'
    if server.exists() and install.exists():
        return base, server, install
    if shutil.which('mariadbd') and shutil.which('mariadb-install-db'):
        return Path('/'), Path(shutil.which('mariadbd')), Path(shutil.which('mariadb-install-db'))
    return None


@pytest.fixture(scope='module')
def mariadb():
    tree = mariadb_tree()
    if not tree:
        pytest.skip('MariaDB server binaries (mariadbd, mariadb-install-db) are not installed; '
                    'set BUNDLE_TEST_MARIADB_ROOT to an unpacked mariadb-server-core')
    root, binary, install = tree
    base = Path(tempfile.mkdtemp(prefix='schema-migrate-mysql-'))
    sock, port = str(base / 'mysqld.sock'), free_port()
    subprocess.run([str(install), '--no-defaults', f'--basedir={root / "usr"}', f'--datadir={base / "data"}',
                    '--auth-root-authentication-method=normal', '--skip-test-db', '--user=root',
                    '--skip-name-resolve'], check=True, capture_output=True, text=True, timeout=120)
    process = subprocess.Popen(
        [str(binary), '--no-defaults', f'--basedir={root / "usr"}', f'--lc-messages-dir={root / "usr/share/mysql"}',
         f'--datadir={base / "data"}', f'--socket={sock}', f'--port={port}', '--bind-address=127.0.0.1',
         '--user=root', '--skip-name-resolve', '--innodb-buffer-pool-size=16M', f'--pid-file={base / "pid"}',
         f'--log-error={base / "error.log"}'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not Path(sock).exists():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mariadbd did not start:\n{(base / 'error.log').read_text()[-3000:]}")
            time.sleep(0.1)
        root_sql(sock, f"CREATE USER app@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'")
        yield dict(socket=sock, port=port)
    finally:
        process.terminate()
        process.wait(timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def root_sql(sock, *queries):
    connection = pymysql.connect(unix_socket=sock, user='root', autocommit=True)
    try:
        with connection.cursor() as cursor:
            for query in queries:
                cursor.execute(query)
            return cursor.fetchall()
    finally:
        connection.close()


@pytest.fixture
def database(mariadb):
    name = 'mig_' + uuid.uuid4().hex[:8]
    root_sql(mariadb['socket'], f'CREATE DATABASE {name}', f"GRANT ALL ON {name}.* TO app@'127.0.0.1'")
    yield name
    root_sql(mariadb['socket'], f'DROP DATABASE {name}')


def args(mariadb, database, **extra):
    return dict(dict(engine='mysql', database=database, login_host='127.0.0.1', port=mariadb['port'],
                     login_user='app', login_password=PASSWORD, backup_file='none (test)'), **extra)


def catalog(mariadb, database):
    connection = pymysql.connect(unix_socket=mariadb['socket'], user='root', database=database)
    try:
        with connection.cursor() as cursor:
            return MysqlCatalog(cursor, database, exclude={'bundle_migration_ledger'}).describe_all()
    finally:
        connection.close()


def test_every_corpus_migration_rolls_back_to_the_schema_it_found(run_module, mariadb, database):
    names = sorted(p.stem for p in CORPUS.glob('*.sql'))
    for name in names:
        before = catalog(mariadb, database)
        applied = run_module(schema_migrate.main, args(mariadb, database, path=str(CORPUS), target=name))
        assert not applied.get('failed'), f"{name}: {applied['msg']}"
        assert catalog(mariadb, database) != before, f'{name} changed nothing'
        undone = run_module(schema_rollback.main, args(mariadb, database, path=str(CORPUS)))
        assert not undone.get('failed'), f"{name}: {undone['msg']}\n{json.dumps(undone.get('plans'), indent=1)}"
        assert undone['verification'] == [dict(name=name, differences=[], verified=True)]
        after = catalog(mariadb, database)
        assert after == before, f'{name}: ' + '; '.join(
            k for k in set(after) | set(before) if after.get(k) != before.get(k))
        assert 'DDL is not transactional' in json.dumps(undone['warnings'])
        again = run_module(schema_migrate.main, args(mariadb, database, path=str(CORPUS), target=name))
        assert not again.get('failed'), f"{name} (again): {again['msg']}"


def test_dropping_a_table_is_refused(run_module, mariadb, database, tmp_path):
    (tmp_path / '0001_t.sql').write_text('CREATE TABLE t (id INT PRIMARY KEY);')
    assert not run_module(schema_migrate.main, args(mariadb, database, path=str(tmp_path))).get('failed')
    (tmp_path / '0002_drop.sql').write_text('DROP TABLE t;')
    assert not run_module(schema_migrate.main, args(mariadb, database, path=str(tmp_path))).get('failed')
    result = run_module(schema_rollback.main, args(mariadb, database, path=str(tmp_path)))
    assert result['failed']
    assert 'Refusing to roll back 0002_drop: it destroyed data' in result['msg']
    assert 'drops table `t` and every row in it' in result['msg']


def test_a_failing_reverse_statement_says_what_stays_applied(run_module, mariadb, database, tmp_path):
    (tmp_path / '0001_t.sql').write_text('CREATE TABLE t (id INT PRIMARY KEY);\nCREATE TABLE u (id INT);\n'
                                         '-- migrate:down\nDROP TABLE u;\nDROP TABLE missing;\n')
    assert not run_module(schema_migrate.main, args(mariadb, database, path=str(tmp_path))).get('failed')
    result = run_module(schema_rollback.main, args(mariadb, database, path=str(tmp_path)))
    assert result['failed']
    assert 'reverse statement 2 of 2 (down SQL) failed' in result['msg']
    assert 'mysql DDL is not transactional: the statements that ran stay applied (DROP TABLE u)' in result['msg']
