"""schema_migrate and schema_rollback against a real MariaDB on 127.0.0.1.

The server is a throwaway one (tests/support/throwaway_mariadb.py: the machine's MariaDB,
or Debian's packages unpacked under .cache/). DDL is not transactional in MariaDB: the
tests check that the modules say so and verify statement by statement.
"""

import json
import uuid
from pathlib import Path

import pymysql
import pytest
import schema_migrate
import schema_rollback
from ansible_collections.bundle.stack.plugins.module_utils.migrate.mysql.catalog import MysqlCatalog

from tests.support.throwaway_mariadb import ThrowawayMariadb

CORPUS = Path(__file__).resolve().parents[3] / 'migrations' / 'mysql' / 'corpus'
PASSWORD = 'app-' + uuid.uuid4().hex


@pytest.fixture(scope='module')
def mariadb():
    with ThrowawayMariadb() as server:
        server.sql(f"CREATE USER app@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'")
        yield server


@pytest.fixture
def database(mariadb):
    name = 'mig_' + uuid.uuid4().hex[:8]
    mariadb.sql(f'CREATE DATABASE {name}', f"GRANT ALL ON {name}.* TO app@'127.0.0.1'")
    yield name
    mariadb.sql(f'DROP DATABASE {name}')


def args(mariadb, database, **extra):
    return dict(dict(engine='mysql', database=database, login_host='127.0.0.1', port=mariadb.port,
                     login_user='app', login_password=PASSWORD, backup_file='none (test)'), **extra)


def catalog(mariadb, database):
    connection = pymysql.connect(unix_socket=mariadb.socket, user='root', database=database)
    try:
        with connection.cursor() as cursor:
            return MysqlCatalog(cursor, database, exclude={'bundle_migration_ledger'}).describe_all()
    finally:
        connection.close()


CORPUS_NAMES = sorted(p.stem for p in CORPUS.glob('*.sql'))


@pytest.mark.parametrize('name', CORPUS_NAMES)
def test_every_corpus_migration_rolls_back_to_the_schema_it_found(run_module, mariadb, database, name):
    earlier = CORPUS_NAMES[:CORPUS_NAMES.index(name)]
    if earlier:  # the schema the earlier migrations leave, which this one builds on
        prepared = run_module(schema_migrate.main, args(mariadb, database, path=str(CORPUS), target=earlier[-1]))
        assert not prepared.get('failed'), f"{earlier[-1]} (an earlier migration): {prepared['msg']}"
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
