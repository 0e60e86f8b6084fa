"""db_backup on real servers started for the test: a throwaway PostgreSQL and a
throwaway Redis server (tests/support). Each case is run as a module would be: check
mode first, then for real, then again where a second run must change nothing."""

import json
import os
from pathlib import Path

import db_backup
import pytest

from tests.support import throwaway_redis
from tests.support.throwaway_postgres import ThrowawayPostgres


@pytest.fixture(scope='module')
def pg():
    with ThrowawayPostgres() as server, server.client_libraries():
        server.psql('CREATE ROLE app LOGIN')
        server.psql('CREATE DATABASE app OWNER app')
        server.psql('CREATE TABLE public.items (id int PRIMARY KEY, body text); '
                    "INSERT INTO items SELECT g, repeat('x', g % 50) FROM generate_series(1, 5000) g; "
                    'CREATE TABLE public.empty (id int); ALTER TABLE items OWNER TO app', 'app')
        yield server


def backup(run_module, pg, tmp_path, check_mode=False, **args):
    options = dict(pg.options(), database='app', backup_dir=str(tmp_path / 'backups'))
    options.update(args)
    return run_module(db_backup.main, options, check_mode=check_mode)


def listing(path):
    return sorted(p.name for p in Path(path).iterdir()) if Path(path).exists() else []


def test_check_mode_reports_the_command_and_target_and_writes_nothing(run_module, pg, tmp_path):
    result = backup(run_module, pg, tmp_path, check_mode=True, name='nightly')
    assert result['changed'] is True
    assert result['backup_path'] == str(tmp_path / 'backups' / 'nightly')
    assert any('pg_dump' in command and '--format=directory' in command and '--jobs=2' in command
               for command in result['commands'])
    assert any('pg_dumpall' in command and '--globals-only' in command for command in result['commands'])
    assert not (tmp_path / 'backups').exists()


def test_backup_then_same_name_again_keeps_the_first(run_module, pg, tmp_path):
    first = backup(run_module, pg, tmp_path, name='nightly')
    assert first['changed'] is True, first
    path = Path(first['backup_path'])
    manifest = json.loads((path / 'manifest.json').read_text())
    assert manifest['row_counts'] == {'public.empty': 0, 'public.items': 5000}
    assert manifest['engine'] == 'postgresql' and manifest['database'] == 'app'
    assert manifest['server_version'].startswith(pg.psql('SHOW server_version').split()[0])
    assert set(manifest['files']) >= {'globals.sql', 'data/toc.dat'}
    assert manifest['size_bytes'] == sum(f['size'] for f in manifest['files'].values())
    assert manifest['started_at'] <= manifest['finished_at'] and manifest['duration_seconds'] > 0
    # Private: the globals hold password verifiers.
    assert oct(path.stat().st_mode & 0o777) == '0o700'
    assert all(oct(p.stat().st_mode & 0o077) == '0o0' for p in path.rglob('*') if p.is_file())
    assert not [name for name in listing(tmp_path / 'backups') if name.startswith('.')]

    again = backup(run_module, pg, tmp_path, name='nightly')
    assert again['changed'] is False
    assert 'kept as it is' in again['msg']
    assert json.loads((path / 'manifest.json').read_text()) == manifest


def test_custom_format(run_module, pg, tmp_path):
    result = backup(run_module, pg, tmp_path, format='custom')
    assert result['changed'] is True
    assert set(result['manifest']['files']) == {'data.dump', 'globals.sql'}
    assert result['manifest']['details']['format'] == 'custom'


def test_counts_are_those_of_the_dump_snapshot(run_module, pg, tmp_path):
    """Rows written while the dump runs are in neither the dump nor the counts."""
    result = backup(run_module, pg, tmp_path)
    assert result['manifest']['row_counts']['public.items'] == int(pg.psql('SELECT count(*) FROM items', 'app'))


def test_retention_keeps_the_newest_and_leaves_other_series(run_module, pg, tmp_path):
    names = [f'app-{i}' for i in range(4)]
    for name in names:
        backup(run_module, pg, tmp_path, name=name)
    other = backup(run_module, pg, tmp_path, database='postgres', name='other-db')
    assert other['changed'] is True
    predicted = backup(run_module, pg, tmp_path, check_mode=True, name='app-4', keep_last=2)
    assert predicted['removed'] == ['app-2', 'app-1', 'app-0']
    assert listing(tmp_path / 'backups') == sorted(names + ['other-db'])

    result = backup(run_module, pg, tmp_path, name='app-4', keep_last=2, _ansible_diff=True)
    assert result['kept'] == ['app-4', 'app-3']
    assert result['removed'] == ['app-2', 'app-1', 'app-0']
    assert listing(tmp_path / 'backups') == ['app-3', 'app-4', 'other-db']
    assert result['diff']['after'] == {'backups': ['app-3', 'app-4']}


def test_a_failed_backup_leaves_nothing_and_runs_no_retention(run_module, pg, tmp_path):
    backup(run_module, pg, tmp_path, database='postgres', name='kept-1')
    backup(run_module, pg, tmp_path, database='postgres', name='kept-2')
    result = backup(run_module, pg, tmp_path, database='missing_db', keep_last=1)
    assert result['failed'] is True
    assert 'missing_db' in result['msg'] and 'does not exist' in result['msg']
    assert listing(tmp_path / 'backups') == ['kept-1', 'kept-2']


@pytest.mark.parametrize('args, message', [
    (dict(bin_dir='/nowhere'), 'not found in bin_dir /nowhere'),
    (dict(login_user='nobody'), 'cannot connect to database'),
])
def test_a_failure_inside_the_backup_removes_the_work_directory(run_module, pg, tmp_path, args, message):
    result = backup(run_module, pg, tmp_path, **args)
    assert result['failed'] is True
    assert message in result['msg']
    assert (tmp_path / 'backups').is_dir()
    assert listing(tmp_path / 'backups') == []


@pytest.mark.parametrize('args, message', [
    (dict(backup_dir='relative/dir'), "backup_dir must be an absolute path, got 'relative/dir'"),
    (dict(name='../escape'), "backup name '../escape' is not allowed"),
    (dict(name='.hidden'), "backup name '.hidden' is not allowed"),
    (dict(jobs=0), 'jobs must be 1 or more, got 0'),
    (dict(keep_last=-1), 'keep_last must be 0 or more, got -1'),
    (dict(keep_days=-3), 'keep_days must be 0 or more, got -3'),
    (dict(database=None), 'database is required for engine=postgresql'),
    (dict(compress=12), 'compress must be a gzip level from 0 to 9, got 12'),
])
def test_bad_options_fail_before_anything_runs(run_module, pg, tmp_path, args, message):
    result = backup(run_module, pg, tmp_path, **args)
    assert result['failed'] is True
    assert message in result['msg']
    assert not (tmp_path / 'backups').exists()


def test_option_of_another_engine_warns(run_module, pg, tmp_path):
    result = backup(run_module, pg, tmp_path, dump_tool='mysqldump', check_mode=True)
    assert 'Option dump_tool is not used by engine=postgresql and is ignored.' in json.dumps(result['warnings'])


def test_password_is_not_in_the_result(run_module, pg, tmp_path):
    result = backup(run_module, pg, tmp_path, login_password='s3cret-backup-pw', name='with-password')
    assert 's3cret-backup-pw' not in json.dumps(result)
    assert 's3cret-backup-pw' not in (tmp_path / 'backups' / 'with-password' / 'manifest.json').read_text()


# --- redis ----------------------------------------------------------------------------

@pytest.fixture(scope='module')
def redis():
    with throwaway_redis.server() as server:
        yield server


def test_redis_backup_copies_a_complete_rdb_with_its_key_count(run_module, redis, tmp_path):
    for index in range(25):
        redis.cli('SET', f'key:{index}', f'value {index}')
    redis.cli('SET', 'session', 'x', 'EX', '3600')
    args = dict(engine='redis', backup_dir=str(tmp_path / 'backups'), port=redis.port, data_dir=str(redis.base),
                keep_last=1)
    checked = run_module(db_backup.main, args, check_mode=True)
    assert checked['changed'] is True and checked['backup'].startswith('redis-redis-')
    assert not (tmp_path / 'backups').exists()

    result = run_module(db_backup.main, args)
    assert result['changed'] is True, result
    manifest = result['manifest']
    assert manifest['row_counts'] == {'keys': 26}
    assert manifest['details']['expires'] == 1
    assert manifest['server_version'].startswith('7.') or manifest['server_version']
    assert set(manifest['files']) == {'dump.rdb'}
    assert os.path.getsize(os.path.join(result['backup_path'], 'dump.rdb')) == manifest['files']['dump.rdb']['size']

    redis.cli('SET', 'key:late', 'after the first backup')
    second = run_module(db_backup.main, args)
    assert second['manifest']['row_counts'] == {'keys': 27}
    assert second['removed'] == [result['backup']]
    assert listing(tmp_path / 'backups') == [second['backup']]


def test_documentation_renders(ansible_doc):
    completed = ansible_doc('bundle.stack.db_backup')
    assert completed.returncode == 0, completed.stderr
    assert 'EXAMPLES' in completed.stdout and 'RETURN VALUES' in completed.stdout


def test_old_engine_name_is_accepted_with_a_deprecation(run_module, pg, tmp_path):
    result = backup(run_module, pg, tmp_path, engine='postgres', name='old-engine-name')
    assert result['changed'] is True, result
    assert result['engine'] == 'postgresql' and result['manifest']['engine'] == 'postgresql'
    assert 'engine=postgres is the old spelling of engine=postgresql: write engine=postgresql.' in json.dumps(
        result['deprecations'])
