"""schema_migrate and schema_rollback against a real PostgreSQL on 127.0.0.1.

The server is a throwaway one started by these tests (tests/support/throwaway_postgres.py:
the machine's PostgreSQL, or Debian's packages unpacked under .cache/).
The modules connect over TCP with a password, as a database owner that is not a
superuser, the way the playbooks run them.

Every schema comparison is made twice, independently: from the catalogs (every
object described by migrate/postgresql/catalog.py) and from pg_dump --schema-only.
"""

import json
import os
import shutil
import stat
import subprocess
import uuid
from pathlib import Path

import pytest
import schema_migrate
import schema_rollback
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.catalog import PostgresqlCatalog

from tests.support.throwaway_postgres import ThrowawayPostgres

MIGRATIONS = Path(__file__).resolve().parents[3] / 'migrations' / 'postgresql'
CORPUS = MIGRATIONS / 'corpus'
IRREVERSIBLE = MIGRATIONS / 'irreversible'
LEDGER = 'bundle_migration_ledger'
APP_PASSWORD = 'app-' + uuid.uuid4().hex


@pytest.fixture(scope='module')
def pg():
    server = ThrowawayPostgres().start()
    try:
        server.create_role('app', APP_PASSWORD)
        server.create_role('reporting', 'x', 'NOLOGIN')
        server.create_role('support', 'x', 'NOLOGIN')
        server.sql('GRANT reporting TO app WITH ADMIN OPTION')
        yield server
    finally:
        server.stop()


@pytest.fixture
def database(pg):
    name = 'mig_' + uuid.uuid4().hex[:10]
    pg.create_database(name, owner='app')
    yield name
    pg.drop_database(name)


@pytest.fixture
def backups(tmp_path):
    return tmp_path / 'backups'


def args(pg, database, backups, **extra):
    return dict(dict(database=database, login_host='127.0.0.1', port=pg.port, login_user='app',
                     login_password=APP_PASSWORD, backup_dir=str(backups)), **extra)


def migrate(run_module, pg, database, backups, path, check_mode=False, **extra):
    return run_module(schema_migrate.main, args(pg, database, backups, path=str(path), **extra), check_mode)


def rollback(run_module, pg, database, backups, path=None, check_mode=False, **extra):
    extra = dict(extra, path=str(path)) if path else extra
    return run_module(schema_rollback.main, args(pg, database, backups, **extra), check_mode)


def catalog(pg, database):
    """Every schema object, described from the catalogs, the ledger left out."""
    with pg.connect(database) as connection, connection.cursor() as cursor:
        return PostgresqlCatalog(cursor, exclude={('public', LEDGER)}).describe_all()


def schema(pg, database):
    return catalog(pg, database), pg.pg_dump_schema(database, exclude_table=f'public.{LEDGER}')


def ledger(pg, database):
    with pg.connect(database) as connection:
        rows = connection.execute(f'SELECT name, rolled_back_at IS NOT NULL AS rolled_back, rollback_source '
                                  f'FROM {LEDGER} ORDER BY id').fetchall()
    return [tuple(r) for r in rows]


def assert_same_schema(expected, actual, what):
    (cat_a, dump_a), (cat_b, dump_b) = expected, actual
    differing = sorted(k for k in set(cat_a) | set(cat_b) if cat_a.get(k) != cat_b.get(k))
    assert not differing, f'{what}: catalog objects differ: ' + '; '.join(
        f'{k}: {json.dumps(cat_a.get(k), sort_keys=True)[:400]} != {json.dumps(cat_b.get(k), sort_keys=True)[:400]}'
        for k in differing[:5])
    assert dump_a == dump_b, f'{what}: pg_dump --schema-only differs'


def migration_dir(tmp_path, *files, name='m'):
    target = tmp_path / name
    target.mkdir(exist_ok=True)
    for source in files:
        if isinstance(source, tuple):
            (target / source[0]).write_text(source[1])
        else:
            shutil.copy(source, target / source.name)
    return target


# --- the corpus: every statement kind, applied and rolled back one by one ----------

CORPUS_NAMES = sorted(p.stem for p in CORPUS.glob('*.sql'))


def test_the_corpus_has_a_migration_per_statement_family():
    assert len(CORPUS_NAMES) >= 20


@pytest.fixture(scope='module')
def corpus_prefixes(pg):
    """{n: database with the first n corpus migrations applied}, each built once, by the first case that needs it."""
    pg.create_database('corpus_0', owner='app')
    prefixes = {0: 'corpus_0'}
    yield prefixes
    for name in prefixes.values():
        pg.drop_database(name)


def corpus_database(run_module, pg, prefixes, backups, count):
    """A new database holding the first count corpus migrations, cloned from its prefix (built from the one
    before it when missing), so that every corpus case starts from the schema the earlier ones leave."""
    for n in range(1, count + 1):
        if n not in prefixes:
            pg.create_database(f'corpus_{n}', owner='app', template=prefixes[n - 1])
            prefixes[n] = f'corpus_{n}'
            applied = migrate(run_module, pg, prefixes[n], backups, CORPUS, target=CORPUS_NAMES[n - 1])
            assert not applied.get('failed'), f"{CORPUS_NAMES[n - 1]} (an earlier migration): {applied['msg']}"
    database = 'mig_' + uuid.uuid4().hex[:10]
    pg.create_database(database, owner='app', template=prefixes[count])
    return database


@pytest.mark.parametrize('name', CORPUS_NAMES)
def test_every_corpus_migration_rolls_back_to_the_schema_it_found(run_module, pg, corpus_prefixes, backups, name):
    database = corpus_database(run_module, pg, corpus_prefixes, backups, CORPUS_NAMES.index(name))
    try:
        before = schema(pg, database)
        applied = migrate(run_module, pg, database, backups, CORPUS, target=name)
        assert not applied.get('failed'), f"{name}: {applied['msg']}"
        assert [a['name'] for a in applied['applied']] == [name]
        assert schema(pg, database) != before, f'{name} changed nothing'
        undone = rollback(run_module, pg, database, backups, CORPUS)
        assert not undone.get('failed'), f"{name}: {undone['msg']}\n{json.dumps(undone.get('plans'), indent=1)}"
        assert undone['rolled_back'][0]['name'] == name
        assert undone['rolled_back'][0]['source'] == 'generated'
        assert undone['verification'] == [dict(name=name, differences=[], verified=True)]
        assert_same_schema(before, schema(pg, database), f'after rolling back {name}')
        assert ledger(pg, database)[-1] == (name, True, 'generated')
        again = migrate(run_module, pg, database, backups, CORPUS, target=name)
        assert not again.get('failed'), f"{name} (again): {again['msg']}"
    finally:
        pg.drop_database(database)


def test_rolling_back_the_whole_corpus_at_once_restores_the_empty_database(run_module, pg, database, backups):
    empty = schema(pg, database)
    assert not migrate(run_module, pg, database, backups, CORPUS).get('failed')
    result = rollback(run_module, pg, database, backups, CORPUS, steps=len(list(CORPUS.glob('*.sql'))))
    assert not result.get('failed'), result['msg']
    assert [r['name'] for r in result['rolled_back']] == sorted((p.stem for p in CORPUS.glob('*.sql')), reverse=True)
    assert_same_schema(empty, schema(pg, database), 'after rolling back everything')


# --- failures leave everything as it was ------------------------------------------------

def test_a_reverse_statement_failing_midway_rolls_everything_back(run_module, pg, database, backups, tmp_path):
    path = migration_dir(tmp_path, ('0001_counters.sql', 'CREATE TABLE counters (id int PRIMARY KEY, hits int);'),
                         ('0002_wider.sql', 'CREATE INDEX counters_hits_idx ON counters (hits);\n'
                                            'ALTER TABLE counters ALTER COLUMN hits TYPE bigint;'))
    assert not migrate(run_module, pg, database, backups, path).get('failed')
    # A value only the new type holds: the reverse (back to integer) must fail on it.
    pg.sql('INSERT INTO counters VALUES (1, 5000000000)', database)
    before, before_ledger = schema(pg, database), ledger(pg, database)
    result = rollback(run_module, pg, database, backups, path, steps=2)
    assert result['failed']
    assert 'Cannot roll back 0002_wider: reverse statement 1 of 2 (generated SQL) failed' in result['msg']
    assert 'integer out of range' in result['msg']
    assert 'rolled back: the schema and the ledger are exactly as they were' in result['msg']
    assert_same_schema(before, schema(pg, database), 'after the failed rollback')
    assert ledger(pg, database) == before_ledger


def test_a_failing_down_section_changes_nothing(run_module, pg, database, backups, tmp_path):
    path = migration_dir(tmp_path, ('0001_tags.sql', 'CREATE TABLE tags (name text PRIMARY KEY);\n'
                                    'CREATE INDEX tags_lower_idx ON tags (lower(name));\n'
                                    '-- migrate:down\nDROP INDEX tags_lower_idx;\nDROP TABLE tags_typo;\n'))
    assert not migrate(run_module, pg, database, backups, path).get('failed')
    before, before_ledger = schema(pg, database), ledger(pg, database)
    result = rollback(run_module, pg, database, backups, path)
    assert result['failed']
    assert 'reverse statement 2 of 2 (down SQL) failed: table "tags_typo" does not exist' in result['msg']
    assert_same_schema(before, schema(pg, database), 'after the failed down section')
    assert ledger(pg, database) == before_ledger


def test_a_down_section_that_misses_something_fails_loudly(run_module, pg, database, backups, tmp_path):
    pg.sql('CREATE TABLE notes (id int PRIMARY KEY)', database)
    pg.sql('ALTER TABLE notes OWNER TO app', database)
    path = migration_dir(tmp_path, ('0001_notes.sql', 'ALTER TABLE notes ADD COLUMN body text;\n'
                                    'CREATE INDEX notes_body_idx ON notes (body);\nCREATE TABLE drafts (id int);\n'
                                    '-- migrate:down\nDROP TABLE drafts;\nALTER TABLE notes DROP COLUMN body;\n'
                                    'CREATE INDEX notes_extra_idx ON notes (id);\n'))
    assert not migrate(run_module, pg, database, backups, path).get('failed')
    before, before_ledger = schema(pg, database), ledger(pg, database)
    result = rollback(run_module, pg, database, backups, path)
    assert result['failed']
    assert 'does not equal the snapshot taken before it was applied' in result['msg']
    assert 'notes_extra_idx' in result['msg'], result['msg']
    assert any('notes_extra_idx' in d for d in result['differences'])
    assert_same_schema(before, schema(pg, database), 'after the failed verification')
    assert ledger(pg, database) == before_ledger


def test_a_failing_statement_applies_nothing_of_its_migration(run_module, pg, database, backups, tmp_path):
    path = migration_dir(tmp_path, ('0001_ok.sql', 'CREATE TABLE a (id int);'),
                         ('0002_broken.sql', 'CREATE TABLE b (id int);\nALTER TABLE missing ADD COLUMN x int;\n'),
                         ('0003_later.sql', 'CREATE TABLE c (id int);'))
    result = migrate(run_module, pg, database, backups, path)
    assert result['failed']
    assert 'Cannot apply 0002_broken: statement 2 of 2 failed: relation "missing" does not exist' in result['msg']
    assert 'nothing of 0002_broken is applied and the ledger is unchanged' in result['msg']
    tables = {k for k in catalog(pg, database) if k.startswith('rel:')}
    assert tables == {'rel:public.a'}
    assert ledger(pg, database) == [('0001_ok', False, None)]


# --- refusals -------------------------------------------------------------------------

IRREVERSIBLE_CASES = [
    ('0002_drop_table', 'DROP TABLE legacy_orders', 'drops table legacy_orders and every row in it'),
    ('0003_drop_column', 'ALTER TABLE customers DROP COLUMN legacy_code', 'drops column legacy_code'),
    ('0004_narrow_type', 'ALTER TABLE customers ALTER COLUMN score TYPE numeric(10,0)',
     'changes column score of customers from numeric(10,2) to numeric(10,0) (narrowing)'),
    ('0005_delete', "DELETE FROM customers WHERE name = 'Linus'", 'deletes rows of customers'),
    ('0006_truncate', 'TRUNCATE customers CASCADE', 'empties customers'),
    ('0007_update', 'UPDATE customers SET name = upper(name)', 'overwrites name of customers'),
]


@pytest.mark.parametrize('name, statement, reason', IRREVERSIBLE_CASES, ids=[c[0] for c in IRREVERSIBLE_CASES])
def test_a_migration_that_destroyed_data_is_refused_without_force(run_module, pg, database, backups, tmp_path,
                                                                  name, statement, reason):
    path = migration_dir(tmp_path, IRREVERSIBLE / '0001_base.sql')
    assert not migrate(run_module, pg, database, backups, path).get('failed')
    shutil.copy(IRREVERSIBLE / f'{name}.sql', path)
    applied = migrate(run_module, pg, database, backups, path)
    assert not applied.get('failed'), applied['msg']
    before, before_ledger = schema(pg, database), ledger(pg, database)
    result = rollback(run_module, pg, database, backups, path)
    assert result['failed']
    assert f'Refusing to roll back {name}: it destroyed data' in result['msg']
    assert f'statement 1 `{statement}` {reason}' in result['msg'], result['msg']
    assert 'The way back is the backup taken right before it was applied: ' + str(backups) in result['msg']
    assert result['refused'][0]['kind'] == 'irreversible'
    assert_same_schema(before, schema(pg, database), 'after the refusal')
    assert ledger(pg, database) == before_ledger
    # The backup it points to restores the data.
    backup = result['msg'].split('applied: ', 1)[1].split('. ', 1)[0]
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o600
    listing = subprocess.run([str(pg.bindir / 'pg_restore'), '--list', backup], capture_output=True, text=True)
    assert listing.returncode == 0 and 'TABLE DATA public customers' in listing.stdout


@pytest.mark.parametrize('name', ['0002_drop_table', '0003_drop_column'])
def test_force_restores_the_structure_of_what_was_dropped(run_module, pg, database, backups, tmp_path, name):
    path = migration_dir(tmp_path, IRREVERSIBLE / '0001_base.sql')
    assert not migrate(run_module, pg, database, backups, path).get('failed')
    before = catalog(pg, database)
    shutil.copy(IRREVERSIBLE / f'{name}.sql', path)
    assert not migrate(run_module, pg, database, backups, path).get('failed')
    result = rollback(run_module, pg, database, backups, path, force=True)
    assert not result.get('failed'), result['msg']
    assert result['plans'][0]['findings'][0]['kind'] == 'forced'
    after = catalog(pg, database)
    if name == '0002_drop_table':
        assert after == before
    else:  # the column comes back at the end of the table: only its position differs
        columns = [c['name'] for c in after['rel:public.customers']['columns']]
        assert sorted(columns) == sorted(c['name'] for c in before['rel:public.customers']['columns'])


def test_a_changed_migration_file_is_refused(run_module, pg, database, backups, tmp_path):
    path = migration_dir(tmp_path, ('0001_a.sql', 'CREATE TABLE a (id int);'))
    assert not migrate(run_module, pg, database, backups, path).get('failed')
    (path / '0001_a.sql').write_text('CREATE TABLE a (id bigint);')
    (path / '0002_b.sql').write_text('CREATE TABLE b (id int);')
    result = migrate(run_module, pg, database, backups, path)
    assert result['failed']
    assert 'Refusing to migrate: applied migration(s) changed since they were applied: 0001_a' in result['msg']
    assert result['changed_files'][0]['name'] == '0001_a'
    assert ledger(pg, database) == [('0001_a', False, None)]
    refused = rollback(run_module, pg, database, backups, path)
    assert refused['failed'] and 'Refusing to roll back 0001_a: its file' in refused['msg']
    forced = migrate(run_module, pg, database, backups, path, force=True)
    assert not forced.get('failed') and [a['name'] for a in forced['applied']] == ['0002_b']


def test_a_migration_without_a_reverse_rule_asks_for_a_down_section(run_module, pg, database, backups, tmp_path):
    path = migration_dir(tmp_path, ('0001_do.sql',
                                    "DO $$ BEGIN EXECUTE format('CREATE TABLE %I (id int)', 'dyn'); END $$;"))
    assert not migrate(run_module, pg, database, backups, path).get('failed')
    result = rollback(run_module, pg, database, backups, path)
    assert result['failed']
    assert 'Cannot generate reverse SQL for 0001_do' in result['msg']
    assert 'the DO block builds SQL at run time' in result['msg']
    assert "Add a '-- migrate:down' section" in result['msg']
    (path / '0001_do.down.sql').write_text('DROP TABLE dyn;')
    result = rollback(run_module, pg, database, backups, path)
    assert not result.get('failed'), result['msg']
    assert result['rolled_back'][0]['source'] == 'down'


# --- check mode, idempotence, history -------------------------------------------------------

def test_check_mode_then_apply_then_nothing_to_do(run_module, pg, database, backups, tmp_path):
    path = migration_dir(tmp_path, ('0001_a.sql', 'CREATE TABLE a (id int);'),
                         ('0002_b.up.sql', 'CREATE TABLE b (id int);'), ('0002_b.down.sql', 'DROP TABLE b;'))
    empty = schema(pg, database)
    check = migrate(run_module, pg, database, backups, path, check_mode=True)
    assert check['changed'] is True and check['pending'] == ['0001_a', '0002_b']
    assert check['diff'][0]['after'] == 'CREATE TABLE a (id int);\n'
    assert_same_schema(empty, schema(pg, database), 'after check mode')
    assert not any(k.startswith('rel:') for k in catalog(pg, database))
    first = migrate(run_module, pg, database, backups, path)
    assert first['changed'] is True and [a['name'] for a in first['applied']] == ['0001_a', '0002_b']
    assert first['backup']['path'].startswith(str(backups))
    second = migrate(run_module, pg, database, backups, path)
    assert second['changed'] is False and second['applied'] == [] and second['backup'] is None
    preview = rollback(run_module, pg, database, backups, path, check_mode=True, steps=2)
    assert preview['changed'] is True
    assert [p['sql'] for p in preview['plans']] == [['DROP TABLE b'], ['DROP TABLE a']]
    assert [p['source'] for p in preview['plans']] == ['down', 'generated']
    assert ledger(pg, database) == [('0001_a', False, None), ('0002_b', False, None)]
    done = rollback(run_module, pg, database, backups, path, steps=2)
    assert done['changed'] is True
    assert_same_schema(empty, schema(pg, database), 'after rolling both back')
    history = done['history']
    assert [(h['name'], h['rollback_source']) for h in history] == [('0001_a', 'generated'), ('0002_b', 'down')]
    assert all(h['rolled_back_at'] and h['rolled_back_by'].endswith(' as app') for h in history)


def test_rollback_to_a_named_migration(run_module, pg, database, backups, tmp_path):
    path = migration_dir(tmp_path, *[(f'000{i}_t{i}.sql', f'CREATE TABLE t{i} (id int);') for i in range(1, 5)])
    assert not migrate(run_module, pg, database, backups, path).get('failed')
    result = rollback(run_module, pg, database, backups, path, to='0002_t2')
    assert [r['name'] for r in result['rolled_back']] == ['0004_t4', '0003_t3']
    assert {k for k in catalog(pg, database) if k.startswith('rel:')} == {'rel:public.t1', 'rel:public.t2'}
    again = migrate(run_module, pg, database, backups, path)
    assert [a['name'] for a in again['applied']] == ['0003_t3', '0004_t4']


def test_concurrently_needs_its_own_migration_outside_a_transaction(run_module, pg, database, backups, tmp_path):
    path = migration_dir(tmp_path, ('0001_t.sql', 'CREATE TABLE t (id int);'),
                         ('0002_idx.sql', 'CREATE INDEX CONCURRENTLY t_id_idx ON t (id);'))
    refused = migrate(run_module, pg, database, backups, path)
    assert refused['failed']
    assert "uses CREATE INDEX CONCURRENTLY, which PostgreSQL cannot run inside a transaction" in refused['msg']
    assert "'-- migrate:up transaction:false'" in refused['msg']
    assert ledger(pg, database) == []
    (path / '0002_idx.sql').write_text('-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY t_id_idx ON t (id);')
    result = migrate(run_module, pg, database, backups, path)
    assert not result.get('failed'), result['msg']
    assert result['applied'][1]['transaction'] is False
    undone = rollback(run_module, pg, database, backups, path)
    assert undone['plans'][0]['sql'] == ['DROP INDEX public.t_id_idx']


def test_a_breaking_migration_is_refused_unless_allowed(run_module, pg, database, backups, tmp_path):
    path = migration_dir(tmp_path, ('0001_t.sql', 'CREATE TABLE t (id int, legacy text);'),
                         ('0002_drop.sql', '-- migrate:up breaking:true\nALTER TABLE t RENAME COLUMN legacy TO old;'))
    for check_mode in (True, False):
        refused = migrate(run_module, pg, database, backups, path, check_mode=check_mode, allow_breaking=False)
        assert refused['failed']
        assert refused['msg'].startswith("Refusing to apply 0002_drop: marked '-- migrate:up breaking:true'")
        assert 'Nothing was applied' in refused['msg'] and refused['breaking'] == ['0002_drop']
    assert ledger(pg, database) == []
    result = migrate(run_module, pg, database, backups, path)
    assert not result.get('failed'), result['msg']
    assert [a['name'] for a in result['applied']] == ['0001_t', '0002_drop']


def test_an_up_marker_option_that_is_not_true_or_false_is_refused(run_module, pg, database, backups, tmp_path):
    path = migration_dir(tmp_path, ('0001_t.sql', '-- migrate:up breaking:maybe\nCREATE TABLE t (id int);'))
    refused = migrate(run_module, pg, database, backups, path)
    assert refused['failed'] and 'breaking:maybe": breaking is true or false' in refused['msg']


# --- options and secrets -----------------------------------------------------------------

@pytest.mark.parametrize('module, extra, message', [
    (schema_migrate, dict(path='/nonexistent'), 'path=/nonexistent is not a directory of migration files.'),
    (schema_rollback, dict(steps=0), 'steps=0: roll back at least one migration.'),
    (schema_rollback, dict(steps=1, to='x'), 'parameters are mutually exclusive: steps|to'),
    (schema_migrate, dict(path='/tmp', backup_dir=None), 'backup_dir is required'),
    (schema_migrate, dict(path='/tmp', login_password='wrong-password'), 'password authentication failed'),
])
def test_bad_options_fail_with_a_clear_message(run_module, pg, database, backups, module, extra, message):
    params = args(pg, database, backups, **extra)
    params = {k: v for k, v in params.items() if v is not None}
    result = run_module(module.main, params)
    assert result['failed'] is True
    assert message in result['msg']
    assert APP_PASSWORD not in json.dumps(result)


def test_the_old_engine_word_still_works_with_a_deprecation(run_module, pg, database, backups, tmp_path):
    path = migration_dir(tmp_path, ('0001_a.sql', 'CREATE TABLE a (id int);'))
    result = migrate(run_module, pg, database, backups, path, check_mode=True, engine='postgres')
    assert not result.get('failed'), result['msg']
    assert result['engine'] == 'postgresql' and result['pending'] == ['0001_a']
    # ansible-core 2.19 returns each deprecation as a summary whose event holds the message.
    assert [(d['event']['msg'], d['version']) for d in result['deprecations']] == [
        ('engine=postgres is the old spelling of engine=postgresql: write engine=postgresql.', '2.0.0')]


def test_runs_under_ansible_and_hides_the_password(ansible_adhoc, pg, database, tmp_path):
    path = migration_dir(tmp_path, ('0001_a.sql', 'CREATE TABLE a (id int);'))
    options = (f'path={path} database={database} port={pg.port} login_user=app login_password={APP_PASSWORD} '
               f'backup_dir={tmp_path / "b"}')
    rc, result = ansible_adhoc('bundle.stack.schema_migrate', options)
    assert rc == 0, result
    assert result['changed'] is True and result['applied'][0]['name'] == '0001_a'
    assert APP_PASSWORD not in json.dumps(result)
    rc, result = ansible_adhoc('bundle.stack.schema_rollback', options)
    assert rc == 0, result
    assert result['rolled_back'][0]['name'] == '0001_a'


@pytest.mark.parametrize('module', ['bundle.stack.schema_migrate', 'bundle.stack.schema_rollback'])
def test_documentation_renders(ansible_doc, module):
    completed = ansible_doc(module)
    assert completed.returncode == 0, completed.stderr
    assert 'EXAMPLES' in completed.stdout and 'RETURN VALUES' in completed.stdout


def test_the_shipped_example_set_applies_and_rolls_back(run_module, pg, database, backups):
    example = Path(__file__).resolve().parents[4] / 'files' / 'migrations' / 'example'
    empty = schema(pg, database)
    applied = migrate(run_module, pg, database, backups, example)
    assert [a['name'] for a in applied['applied']] == ['0001_accounts', '0002_orders', '0003_order_notes',
                                                       '0004_account_names']
    result = rollback(run_module, pg, database, backups, example, steps=4)
    assert not result.get('failed'), result['msg']
    assert [(r['name'], r['source']) for r in result['rolled_back']] == [
        ('0004_account_names', 'generated'), ('0003_order_notes', 'down'), ('0002_orders', 'down'),
        ('0001_accounts', 'generated')]
    assert_same_schema(empty, schema(pg, database), 'after rolling back the example set')
