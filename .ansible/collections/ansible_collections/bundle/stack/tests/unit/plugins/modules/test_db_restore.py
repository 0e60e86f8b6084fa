"""db_restore on a throwaway PostgreSQL started for the test (tests/support): what
is restored is identical to what was backed up, a damaged backup is refused before
anything is touched, an existing database is only replaced on request and after a
safety backup, and a failed restore leaves the target as it was."""

import contextlib
import hashlib
import io
import json
import shutil
from pathlib import Path

import db_backup
import db_restore
import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.bundle.stack.plugins.module_utils.backup.engines import postgresql as postgresql_engine

from tests.support.throwaway_postgres import ThrowawayPostgres

# md5 of each table's rows in a fixed order: equal contents, equal checksums.
CHECKSUMS = """
SELECT string_agg(format('%s %s', t.name, t.sum), E'\n' ORDER BY t.name) FROM (
  SELECT format('%I.%I', schemaname, tablename) AS name,
         (xpath('/row/m/text()', query_to_xml(format(
            'SELECT md5(coalesce(string_agg(x::text, E''\n'' ORDER BY x::text), '''')) AS m FROM %I.%I x',
            schemaname, tablename), false, true, '')))[1]::text AS sum
  FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')) t
"""

SETUP = """
CREATE TABLE items (id serial PRIMARY KEY, body text, data bytea, price numeric(10,2), seen timestamptz);
INSERT INTO items (body, data, price, seen)
  SELECT CASE WHEN g % 7 = 0 THEN NULL ELSE format(E'line %s\\nwith a newline, a tab\\t and ünïcode', g) END,
         decode(md5(g::text), 'hex'), g / 3.0, '2024-01-01'::timestamptz + g * interval '1 minute'
  FROM generate_series(1, 3000) g;
CREATE TABLE history (item int, note text);
INSERT INTO history SELECT g % 100, 'note' FROM generate_series(1, 700) g;
CREATE TABLE empty_table (id int);
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."Mixed Case" (v text);
INSERT INTO "Odd Schema"."Mixed Case" VALUES ('a'), ('b');
CREATE VIEW item_view AS SELECT id, body FROM items WHERE id < 10;
ALTER TABLE items OWNER TO app;
ALTER TABLE history OWNER TO ghost;
"""


@pytest.fixture(scope='module')
def pg():
    with ThrowawayPostgres() as server, server.client_libraries():
        server.psql('CREATE ROLE app LOGIN')
        server.psql('CREATE ROLE ghost')
        server.psql('CREATE DATABASE app OWNER app')
        server.psql(SETUP, 'app')
        yield server


def run_once(main, args):
    """A module's main() in-process for a module-scoped fixture (run_module is per test)."""
    buffer = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(buffer), pytest.raises(SystemExit):
        main()
    return json.loads(buffer.getvalue())


@pytest.fixture(scope='module')
def taken(pg, tmp_path_factory):
    """One backup of app, taken once for the module; tests copy it when they damage it."""
    root = tmp_path_factory.mktemp('backups')
    result = run_once(db_backup.main, dict(pg.options(), database='app', backup_dir=str(root), name='app-base'))
    assert result['changed'] is True, result
    return dict(root=root, name='app-base', manifest=result['manifest'], checksums=pg.psql(CHECKSUMS, 'app'))


def restore(run_module, pg, root, check_mode=False, **args):
    options = dict(pg.options(), backup_dir=str(root), database='app')
    options.update(args)
    return run_module(db_restore.main, options, check_mode=check_mode)


def copy_backup(taken, tmp_path):
    root = tmp_path / 'backups'
    shutil.copytree(taken['root'] / taken['name'], root / taken['name'])
    return root


def test_restore_into_a_new_database_is_identical_and_not_repeated(run_module, pg, taken):
    before = pg.databases()
    checked = restore(run_module, pg, taken['root'], check_mode=True, target='app_copy', _ansible_diff=True)
    assert checked['changed'] is True
    assert checked['files_verified'] == len(taken['manifest']['files'])
    assert any('pg_restore' in step and '--jobs=2' in step for step in checked['plan'])
    assert checked['diff']['before'] == {'target': 'app_copy', 'state': 'absent'}
    assert pg.databases() == before

    result = restore(run_module, pg, taken['root'], target='app_copy')
    assert result['changed'] is True, result
    assert result['tables_verified'] == len(taken['manifest']['row_counts'])
    assert result['row_counts'] == taken['manifest']['row_counts']
    assert pg.databases() == before | {'app_copy'}
    assert pg.psql(CHECKSUMS, 'app_copy') == taken['checksums']
    # Owners came back, and so did the sequence.
    assert pg.psql("SELECT tableowner FROM pg_tables WHERE tablename IN ('items', 'history') ORDER BY 1",
                   'app_copy').split() == ['app', 'ghost']
    assert pg.psql("SELECT last_value FROM items_id_seq", 'app_copy') == '3000'

    again = restore(run_module, pg, taken['root'], target='app_copy')
    assert again['changed'] is False
    assert 'already restored from app-base' in again['msg']


def test_an_existing_database_is_refused_without_replace(run_module, pg, taken):
    before = pg.psql(CHECKSUMS, 'app')
    result = restore(run_module, pg, taken['root'])
    assert result['failed'] is True
    assert 'target app exists; set replace=true to replace it' in result['msg']
    assert pg.psql(CHECKSUMS, 'app') == before


def test_replace_takes_a_safety_backup_then_swaps(run_module, pg, taken, tmp_path):
    pg.psql('CREATE DATABASE app_replace OWNER app')
    pg.psql('CREATE TABLE scratch_only (id int); INSERT INTO scratch_only VALUES (1), (2)', 'app_replace')
    safety_dir = tmp_path / 'safety'
    checked = restore(run_module, pg, taken['root'], check_mode=True, target='app_replace', replace=True,
                      safety_backup_dir=str(safety_dir))
    assert checked['changed'] is True and checked['plan'][0].startswith('safety backup of app_replace')
    assert not safety_dir.exists()

    result = restore(run_module, pg, taken['root'], target='app_replace', replace=True,
                     safety_backup_dir=str(safety_dir))
    assert result['changed'] is True, result
    assert pg.psql(CHECKSUMS, 'app_replace') == taken['checksums']
    safety = json.loads((Path(result['safety_backup']) / 'manifest.json').read_text())
    assert safety['kind'] == 'safety' and safety['database'] == 'app_replace'
    assert safety['row_counts'] == {'public.scratch_only': 2}
    assert not [d for d in pg.databases() if '__' in d], pg.databases()


def test_one_changed_byte_is_refused_naming_the_file_and_nothing_is_touched(run_module, pg, taken, tmp_path):
    root = copy_backup(taken, tmp_path)
    victim = max((p for p in (root / taken['name'] / 'data').iterdir() if p.suffix == '.gz'),
                 key=lambda p: p.stat().st_size)
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    before, checksums = pg.databases(), pg.psql(CHECKSUMS, 'app')
    for check_mode in (True, False):
        result = restore(run_module, pg, root, check_mode=check_mode, replace=True)
        assert result['failed'] is True
        assert f'data/{victim.name} has SHA-256' in result['msg'], result['msg']
        assert result['damaged'] == [d for d in result['damaged'] if d.startswith(f'data/{victim.name}')]
    assert pg.databases() == before
    assert pg.psql(CHECKSUMS, 'app') == checksums
    assert sorted(p.name for p in root.iterdir()) == [taken['name']], 'no safety backup was taken'


@pytest.mark.parametrize('damage, message', [
    (lambda d: (d / 'globals.sql').unlink(), 'globals.sql is missing'),
    (lambda d: (d / 'extra.txt').write_text('x'), 'extra.txt is not listed in the manifest'),
    (lambda d: (d / 'data' / 'toc.dat').open('ab').write(b'\0'), 'data/toc.dat has'),
    (lambda d: (d / 'manifest.json').write_text((d / 'manifest.json').read_text().replace('"app"', '"apq"')),
     'manifest.json has SHA-256'),
])
def test_damaged_backups_are_refused(run_module, pg, taken, tmp_path, damage, message):
    root = copy_backup(taken, tmp_path)
    damage(root / taken['name'])
    result = restore(run_module, pg, root, backup=taken['name'], target='never_created')
    assert result['failed'] is True
    assert message in result['msg'], result['msg']
    assert 'never_created' not in pg.databases()


def forge_counts(directory, table, rows):
    manifest = json.loads((directory / 'manifest.json').read_text())
    manifest['row_counts'][table] = rows
    data = (json.dumps(manifest, indent=2, sort_keys=True) + '\n').encode()
    (directory / 'manifest.json').write_bytes(data)
    (directory / 'manifest.json.sha256').write_text(f'{hashlib.sha256(data).hexdigest()}  manifest.json\n')


def test_rows_that_differ_fail_the_restore_naming_the_table(run_module, pg, taken, tmp_path):
    root = copy_backup(taken, tmp_path)
    forge_counts(root / taken['name'], 'public.history', 701)
    before = pg.databases()
    result = restore(run_module, pg, root, target='app_mismatch')
    assert result['failed'] is True
    assert 'public.history: 700 rows after restore, backup has 701' in result['msg'], result['msg']
    assert pg.databases() == before


def test_a_failed_pg_restore_leaves_the_target_as_it_was(run_module, pg, tmp_path):
    """A table owned by a role that no longer exists: with globals=skip pg_restore
    fails on its owner; with globals=missing the role comes back from globals.sql."""
    root = tmp_path / 'backups'
    pg.psql('CREATE ROLE phantom')
    pg.psql('CREATE DATABASE owned_src')
    pg.psql('CREATE TABLE owned (v int); INSERT INTO owned SELECT generate_series(1, 10); '
            'ALTER TABLE owned OWNER TO phantom', 'owned_src')
    taken = run_module(db_backup.main, dict(pg.options(), database='owned_src', backup_dir=str(root)))
    assert taken['changed'] is True, taken
    pg.psql('REASSIGN OWNED BY phantom TO postgres', 'owned_src')
    pg.psql('DROP ROLE phantom')
    pg.psql('INSERT INTO owned VALUES (11)', 'owned_src')
    current, before = pg.psql(CHECKSUMS, 'owned_src'), pg.databases()

    failed = restore(run_module, pg, root, database='owned_src', replace=True, globals='skip')
    assert failed['failed'] is True
    assert 'pg_restore failed' in failed['msg'] and 'role "phantom" does not exist' in failed['msg'], failed['msg']
    assert pg.psql(CHECKSUMS, 'owned_src') == current
    assert pg.databases() == before
    assert pg.psql("SELECT count(*) FROM pg_roles WHERE rolname = 'phantom'") == '0'

    result = restore(run_module, pg, root, database='owned_src', target='owned_copy')
    assert result['changed'] is True, result
    assert pg.psql("SELECT count(*) FROM pg_roles WHERE rolname = 'phantom'") == '1'
    assert pg.psql("SELECT tableowner || ' ' || (SELECT count(*) FROM owned) FROM pg_tables "
                   "WHERE tablename = 'owned'", 'owned_copy') == 'phantom 10'


def test_verify_restores_compares_and_drops_the_scratch_database(run_module, pg, taken):
    before = pg.databases()
    checked = restore(run_module, pg, taken['root'], check_mode=True, mode='verify')
    assert checked['changed'] is False and checked['plan'][-1].startswith('DROP DATABASE')
    result = restore(run_module, pg, taken['root'], mode='verify')
    assert result['changed'] is False
    assert result['tables_verified'] == len(taken['manifest']['row_counts'])
    assert 'verified app from app-base' in result['msg']
    assert pg.databases() == before


def test_more_tables_than_one_counting_statement_are_all_counted(run_module, pg, tmp_path):
    """Counts go COUNT_BATCH tables per statement: every batch is counted, at backup and at restore."""
    tables = postgresql_engine.COUNT_BATCH + 3
    pg.psql('CREATE DATABASE many')
    pg.psql(f"DO $$ BEGIN FOR i IN 1..{tables} LOOP EXECUTE format("
            "'CREATE TABLE %I AS SELECT generate_series(1, %s) AS n', 'T ''' || i, i); END LOOP; END $$", 'many')
    root = tmp_path / 'backups'
    taken = run_module(db_backup.main, dict(pg.options(), database='many', backup_dir=str(root)))
    assert taken['manifest']['row_counts'] == {f'public."T \'{i}"': i for i in range(1, tables + 1)}
    verified = restore(run_module, pg, root, database='many', mode='verify')
    assert verified['tables_verified'] == tables and verified['row_counts'] == taken['manifest']['row_counts']


def test_latest_skips_safety_backups_and_other_databases(run_module, pg, taken, tmp_path):
    root = copy_backup(taken, tmp_path)
    for name, database, kind in (('zz-other', 'postgres', 'backup'), ('zz-safety', 'app', 'safety')):
        directory = root / name
        shutil.copytree(root / taken['name'], directory)
        manifest = json.loads((directory / 'manifest.json').read_text())
        manifest.update(database=database, kind=kind, started_at='2999-01-01T00:00:00Z')
        data = (json.dumps(manifest, indent=2, sort_keys=True) + '\n').encode()
        (directory / 'manifest.json').write_bytes(data)
        (directory / 'manifest.json.sha256').write_text(f'{hashlib.sha256(data).hexdigest()}  manifest.json\n')
    result = restore(run_module, pg, root, check_mode=True, target='app_latest')
    assert result['backup'] == taken['name']


def test_a_backup_recorded_under_the_old_engine_name_is_found_and_restorable(run_module, pg, taken, tmp_path):
    root = copy_backup(taken, tmp_path)
    directory = root / taken['name']
    manifest = json.loads((directory / 'manifest.json').read_text())
    manifest['engine'] = 'postgres'
    data = (json.dumps(manifest, indent=2, sort_keys=True) + '\n').encode()
    (directory / 'manifest.json').write_bytes(data)
    (directory / 'manifest.json.sha256').write_text(f'{hashlib.sha256(data).hexdigest()}  manifest.json\n')
    result = restore(run_module, pg, root, check_mode=True, target='app_old_engine_name')
    assert result['changed'] is True, result
    assert result['backup'] == taken['name'] and result['files_verified'] == len(taken['manifest']['files'])


@pytest.mark.parametrize('args, message', [
    (dict(backup='no-such-backup'), "backup 'no-such-backup' not found in"),
    (dict(backup='../etc'), "backup name '../etc' is not allowed"),
    (dict(backup_dir='/nonexistent-backups'), 'backup_dir /nonexistent-backups does not exist'),
    (dict(backup_dir='rel'), "backup_dir must be an absolute path, got 'rel'"),
    (dict(database='nothing_like_it'), 'no complete backup of postgresql database nothing_like_it'),
    (dict(engine='redis'), 'no complete backup of redis database nothing'),
    (dict(jobs=0), 'jobs must be 1 or more, got 0'),
])
def test_bad_options_fail_with_the_reason(run_module, pg, taken, args, message):
    if args.get('engine') == 'redis':
        args = dict(args, database='nothing', login_unix_socket=None, bin_dir=None, port=1)
    result = restore(run_module, pg, taken['root'], **args)
    assert result['failed'] is True
    assert message in result['msg'], result['msg']


def test_documentation_renders(ansible_doc):
    completed = ansible_doc('bundle.stack.db_restore')
    assert completed.returncode == 0, completed.stderr
    assert 'EXAMPLES' in completed.stdout and 'RETURN VALUES' in completed.stdout
