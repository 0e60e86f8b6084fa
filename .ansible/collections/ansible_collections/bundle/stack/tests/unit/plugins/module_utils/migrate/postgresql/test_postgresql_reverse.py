"""The PostgreSQL reverse-SQL generator, one case per statement kind.

No server: the catalog snapshot a case needs (the old default, the old type,
the definition of what was dropped) is given as the data schema_migrate
records. tests/unit/plugins/modules/test_schema_migrate.py runs the same
generator against a real server. Every generated statement must parse with
pglast, PostgreSQL's own parser.
"""

import pglast
import pytest
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.refs import refs_of
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.reverse import reverse_migration
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.sql import split_statements
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.type_changes import is_widening
from ansible_collections.bundle.stack.plugins.module_utils.migrate.reverse import Ref


def state(refs=None, before=None, after=None):
    """A one-statement snapshot. refs: {ref text: key or [key, member]}."""
    refs = {k: (v if isinstance(v, list) else [v, None]) for k, v in (refs or {}).items()}
    return {'statements': [{'refs': refs, 'before': before or {}, 'after': after or {}}]}


def d(*args, **kw):
    """dict() that takes definition= for the 'def' key, a Python keyword."""
    out = dict(*args, **kw)
    if 'definition' in out:
        out['def'] = out.pop('definition')
    return out


def table(name, schema='public', columns=(), constraints=None, indexes=None, **extra):
    desc = d(kind='table', schema=schema, name=name, owner='app', acl=[], acl_default=[], comment=None,
             options=[], columns=[dict(dict(not_null=False, default=None, comment=None), **c) for c in columns],
             constraints=constraints or {}, indexes=indexes or {}, triggers={}, policies={}, rules={})
    desc.update(extra)
    return desc


USERS = 'rel:public.users'
COL_EMAIL = dict(name='email', type='text')
COL_NAME50 = dict(name='name', type='character varying(50)', default="'anon'::character varying")
COL_NAME200 = dict(name='name', type='character varying(200)', default="'anon'::character varying")

CASES = [
    # --- CREATE ... -> DROP ...
    ('create table', 'CREATE TABLE app.users (id int PRIMARY KEY)', None, ['DROP TABLE app.users']),
    ('create table if not exists, existing', 'CREATE TABLE IF NOT EXISTS users (id int)',
     state({'rel:users': USERS}, {USERS: table('users')}, {USERS: table('users')}), []),
    ('create table as', 'CREATE TABLE report AS SELECT 1 AS x', None, ['DROP TABLE report']),
    ('create unlogged partition', "CREATE UNLOGGED TABLE p1 PARTITION OF p FOR VALUES IN (1)", None,
     ['DROP TABLE p1']),
    ('create view', 'CREATE VIEW v AS SELECT 1', None, ['DROP VIEW v']),
    ('create or replace view, existing',
     'CREATE OR REPLACE VIEW v AS SELECT 1 AS a',
     state({'rel:v': 'rel:public.v'},
           {'rel:public.v': d(kind='view', schema='public', name='v', view_definition=' SELECT 2 AS a;',
                              columns=[d(name='a', type='integer')], options=[])},
           {'rel:public.v': d(kind='view', schema='public', name='v', view_definition=' SELECT 1 AS a;',
                              columns=[d(name='a', type='integer')], options=[])}),
     ['CREATE OR REPLACE VIEW v AS SELECT 2 AS a']),
    ('create materialized view', 'CREATE MATERIALIZED VIEW m AS SELECT 1 WITH NO DATA', None,
     ['DROP MATERIALIZED VIEW m']),
    ('create index', 'CREATE INDEX users_email_idx ON app.users (email)', None, ['DROP INDEX app.users_email_idx']),
    ('create index without a name',
     'CREATE INDEX ON users (lower(email))',
     state({'rel:users': USERS}, {USERS: table('users')},
           {USERS: table('users', indexes={'users_lower_idx': d({'def': 'CREATE INDEX ...'})})}),
     ['DROP INDEX public.users_lower_idx']),
    ('create index concurrently', 'CREATE INDEX CONCURRENTLY i ON s.t (a)', None, ['DROP INDEX s.i']),
    ('create sequence', 'CREATE SEQUENCE s START 10', None, ['DROP SEQUENCE s']),
    ('alter sequence',
     'ALTER SEQUENCE s INCREMENT BY 5',
     state({'rel:s': 'rel:public.s'}, {'rel:public.s': d(kind='sequence', schema='public', name='s', sequence=d(
         type='bigint', increment=1, min=1, max=9223372036854775807, start=10, cache=1, cycle=False))}),
     ['ALTER SEQUENCE s AS bigint INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 10 CACHE 1 '
      'NO CYCLE']),
    ('create enum type', "CREATE TYPE mood AS ENUM ('a', 'b')", None, ['DROP TYPE mood']),
    ('create composite type', 'CREATE TYPE s.addr AS (street text)', None, ['DROP TYPE s.addr']),
    ('create range type', 'CREATE TYPE r AS RANGE (subtype = numeric)', None, ['DROP TYPE r']),
    ('create domain', 'CREATE DOMAIN cents AS int CHECK (VALUE >= 0)', None, ['DROP DOMAIN cents']),
    ('create function', "CREATE FUNCTION f(a int, b text DEFAULT 'x', OUT c int) AS 'SELECT 1' LANGUAGE sql",
     None, ['DROP FUNCTION f(integer, text)']),
    ('create or replace function, existing',
     "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 2'",
     state({'func:f': 'func:public.f'},
           {'func:public.f': d(schema='public', name='f', overloads={'': d(
               kind='f', result='integer', definition="CREATE OR REPLACE FUNCTION public.f()\n RETURNS integer\n "
               "LANGUAGE sql\nAS $function$SELECT 1$function$\n")})},
           {'func:public.f': d(schema='public', name='f', overloads={'': d(
               kind='f', result='integer', definition="... SELECT 2 ...")})}),
     ['CREATE OR REPLACE FUNCTION public.f()\n RETURNS integer\n LANGUAGE sql\nAS $function$SELECT 1$function$']),
    ('create function, new overload',
     "CREATE OR REPLACE FUNCTION f(a bigint) RETURNS int LANGUAGE sql AS 'SELECT 2'",
     state({'func:f': 'func:public.f'},
           {'func:public.f': d(schema='public', name='f', overloads={'integer': d(kind='f', definition='x')})},
           {'func:public.f': d(schema='public', name='f', overloads={'integer': d(kind='f', definition='x'),
                                                                     'bigint': d(kind='f', definition='y')})}),
     ['DROP FUNCTION public.f(bigint)']),
    ('create procedure', "CREATE PROCEDURE s.p(d date) LANGUAGE sql AS 'SELECT 1'", None,
     ['DROP PROCEDURE s.p(date)']),
    ('create trigger', 'CREATE TRIGGER t_audit AFTER INSERT ON s.t FOR EACH ROW EXECUTE FUNCTION audit()',
     None, ['DROP TRIGGER t_audit ON s.t']),
    ('create schema', 'CREATE SCHEMA billing', None, ['DROP SCHEMA billing']),
    ('create schema with elements', 'CREATE SCHEMA r CREATE TABLE d (x int)', None, ['DROP SCHEMA r CASCADE']),
    ('create extension', 'CREATE EXTENSION IF NOT EXISTS pgcrypto', None, ['DROP EXTENSION pgcrypto']),
    ('create policy', 'CREATE POLICY own ON t USING (true)', None, ['DROP POLICY own ON t']),
    ('create rule', 'CREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING', None, ['DROP RULE r ON t']),
    ('create role', 'CREATE ROLE readonly NOLOGIN', None, ['DROP ROLE readonly']),
    # --- ALTER TABLE
    ('add column', 'ALTER TABLE users ADD COLUMN age int NOT NULL DEFAULT 0', None,
     ['ALTER TABLE users DROP COLUMN age']),
    ('add two columns', 'ALTER TABLE users ADD COLUMN a int, ADD COLUMN b int', None,
     ['ALTER TABLE users DROP COLUMN b', 'ALTER TABLE users DROP COLUMN a']),
    ('add column if not exists, existing', 'ALTER TABLE users ADD COLUMN IF NOT EXISTS email text',
     state({'rel:users': USERS}, {USERS: table('users', columns=[COL_EMAIL])}), []),
    ('add named constraint', 'ALTER TABLE users ADD CONSTRAINT users_age_check CHECK (age > 0)', None,
     ['ALTER TABLE users DROP CONSTRAINT users_age_check']),
    ('add unnamed constraint',
     'ALTER TABLE users ADD UNIQUE (email)',
     state({'rel:users': USERS}, {USERS: table('users')},
           {USERS: table('users', constraints={'users_email_key': d({'def': 'UNIQUE (email)'}, type='u')})}),
     ['ALTER TABLE users DROP CONSTRAINT users_email_key']),
    ('add constraint using index',
     'ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_id_idx',
     state({'rel:users': USERS},
           {USERS: table('users', indexes={'users_id_idx': d(
               definition='CREATE UNIQUE INDEX users_id_idx ON public.users USING btree (id)')})}),
     ['ALTER TABLE users DROP CONSTRAINT users_pkey',
      'CREATE UNIQUE INDEX users_id_idx ON public.users USING btree (id)']),
    ('set default',
     "ALTER TABLE users ALTER COLUMN name SET DEFAULT 'x'",
     state({'rel:users': USERS}, {USERS: table('users', columns=[COL_NAME50])}),
     ["ALTER TABLE users ALTER COLUMN name SET DEFAULT 'anon'::character varying"]),
    ('set default where there was none',
     'ALTER TABLE users ALTER COLUMN email SET DEFAULT 1',
     state({'rel:users': USERS}, {USERS: table('users', columns=[COL_EMAIL])}),
     ['ALTER TABLE users ALTER COLUMN email DROP DEFAULT']),
    ('drop default',
     'ALTER TABLE users ALTER COLUMN name DROP DEFAULT',
     state({'rel:users': USERS}, {USERS: table('users', columns=[COL_NAME50])}),
     ["ALTER TABLE users ALTER COLUMN name SET DEFAULT 'anon'::character varying"]),
    ('set not null', 'ALTER TABLE users ALTER COLUMN email SET NOT NULL',
     state({'rel:users': USERS}, {USERS: table('users', columns=[COL_EMAIL])}),
     ['ALTER TABLE users ALTER COLUMN email DROP NOT NULL']),
    ('set not null where it already was', 'ALTER TABLE users ALTER COLUMN email SET NOT NULL',
     state({'rel:users': USERS}, {USERS: table('users', columns=[d(COL_EMAIL, not_null=True)])}), []),
    ('drop not null', 'ALTER TABLE users ALTER COLUMN email DROP NOT NULL',
     state({'rel:users': USERS}, {USERS: table('users', columns=[d(COL_EMAIL, not_null=True)])}),
     ['ALTER TABLE users ALTER COLUMN email SET NOT NULL']),
    ('widening type change',
     'ALTER TABLE users ALTER COLUMN name TYPE varchar(200)',
     state({'rel:users': USERS}, {USERS: table('users', columns=[COL_NAME50])},
           {USERS: table('users', columns=[COL_NAME200])}),
     ['ALTER TABLE users ALTER COLUMN name TYPE character varying(50) USING name::character varying(50)']),
    ('drop constraint',
     'ALTER TABLE users DROP CONSTRAINT users_email_key',
     state({'rel:users': USERS},
           {USERS: table('users', constraints={'users_email_key': d({'def': 'UNIQUE (email)'}, type='u')})}),
     ['ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email)']),
    ('validate constraint',
     'ALTER TABLE users VALIDATE CONSTRAINT c',
     state({'rel:users': USERS},
           {USERS: table('users', constraints={'c': d({'def': 'CHECK (x > 0) NOT VALID'}, validated=False)})}),
     ['ALTER TABLE users DROP CONSTRAINT c', 'ALTER TABLE users ADD CONSTRAINT c CHECK (x > 0) NOT VALID']),
    ('owner', 'ALTER TABLE users OWNER TO bob', state({'rel:users': USERS}, {USERS: table('users')}),
     ['ALTER TABLE users OWNER TO app']),
    ('row level security', 'ALTER TABLE users ENABLE ROW LEVEL SECURITY',
     state({'rel:users': USERS}, {USERS: table('users', row_security=False)}),
     ['ALTER TABLE users DISABLE ROW LEVEL SECURITY']),
    ('attach partition', "ALTER TABLE p ATTACH PARTITION p2 FOR VALUES IN (2)", None,
     ['ALTER TABLE p DETACH PARTITION p2']),
    ('storage options',
     'ALTER TABLE users SET (fillfactor = 70)',
     state({'rel:users': USERS}, {USERS: table('users')}, {USERS: table('users', options=['fillfactor=70'])}),
     ['ALTER TABLE users RESET (fillfactor)']),
    ('set logged', 'ALTER TABLE t SET LOGGED', None, ['ALTER TABLE t SET UNLOGGED']),
    # --- RENAME ... -> rename back
    ('rename table', 'ALTER TABLE s.old_name RENAME TO new_name', None,
     ['ALTER TABLE s.new_name RENAME TO old_name']),
    ('rename column', 'ALTER TABLE users RENAME COLUMN mail TO email', None,
     ['ALTER TABLE users RENAME COLUMN email TO mail']),
    ('rename index', 'ALTER INDEX s.a_idx RENAME TO b_idx', None, ['ALTER INDEX s.b_idx RENAME TO a_idx']),
    ('rename constraint', 'ALTER TABLE users RENAME CONSTRAINT a TO b', None,
     ['ALTER TABLE users RENAME CONSTRAINT b TO a']),
    ('rename view', 'ALTER VIEW v1 RENAME TO v2', None, ['ALTER VIEW v2 RENAME TO v1']),
    ('rename schema', 'ALTER SCHEMA a RENAME TO b', None, ['ALTER SCHEMA b RENAME TO a']),
    ('rename type', 'ALTER TYPE s.mood RENAME TO feeling', None, ['ALTER TYPE s.feeling RENAME TO mood']),
    ('rename function', 'ALTER FUNCTION f(int) RENAME TO g', None, ['ALTER FUNCTION g (integer) RENAME TO f']),
    ('rename trigger', 'ALTER TRIGGER a ON t RENAME TO b', None, ['ALTER TRIGGER b ON t RENAME TO a']),
    ('rename enum value', "ALTER TYPE mood RENAME VALUE 'ok' TO 'fine'", None,
     ["ALTER TYPE mood RENAME VALUE 'fine' TO 'ok'"]),
    ('set schema', 'ALTER TABLE public.t SET SCHEMA archive', None, ['ALTER TABLE archive.t SET SCHEMA public']),
    # --- COMMENT -> the previous comment
    ('comment on table',
     "COMMENT ON TABLE users IS 'new'", state({'rel:users': USERS}, {USERS: table('users', comment="it's old")}),
     ["COMMENT ON TABLE users IS 'it''s old'"]),
    ('comment on column where there was none',
     "COMMENT ON COLUMN users.email IS 'x'", state({'rel:users': USERS}, {USERS: table('users', columns=[COL_EMAIL])}),
     ['COMMENT ON COLUMN users.email IS NULL']),
    ('comment on function',
     "COMMENT ON FUNCTION f(int) IS 'new'",
     state({'func:f(integer)': ['func:public.f', 'integer']},
           {'func:public.f': d(schema='public', name='f', overloads={'integer': d(comment='old')})}),
     ["COMMENT ON FUNCTION f (integer) IS 'old'"]),
    # --- GRANT <-> REVOKE
    ('grant', 'GRANT SELECT, UPDATE ON users TO reporting', None,
     ['REVOKE SELECT, UPDATE ON TABLE users FROM reporting']),
    ('grant with snapshot, one privilege already held',
     'GRANT SELECT, UPDATE ON users TO reporting',
     state({'rel:users': USERS}, {USERS: table('users', acl=[['reporting', 'SELECT', False]])},
           {USERS: table('users', acl=[['reporting', 'SELECT', False], ['reporting', 'UPDATE', False]])}),
     ['REVOKE UPDATE ON TABLE users FROM reporting']),
    ('revoke', 'REVOKE EXECUTE ON FUNCTION f() FROM PUBLIC', None, ['GRANT EXECUTE ON FUNCTION f () TO PUBLIC']),
    ('grant on schema', 'GRANT USAGE ON SCHEMA billing TO reporting', None,
     ['REVOKE USAGE ON SCHEMA billing FROM reporting']),
    ('grant column privileges', 'GRANT SELECT (id, email) ON users TO support', None,
     ['REVOKE SELECT (id, email) ON TABLE users FROM support']),
    ('grant role', 'GRANT reporting TO support', None, ['REVOKE reporting FROM support']),
    ('default privileges', 'ALTER DEFAULT PRIVILEGES IN SCHEMA s GRANT SELECT ON TABLES TO r', None,
     ['ALTER DEFAULT PRIVILEGES IN SCHEMA s REVOKE SELECT ON TABLES FROM r']),
    # --- drops that lose no data come back from the snapshot
    ('drop index',
     'DROP INDEX users_email_idx',
     state({'rel:users_email_idx': 'rel:public.users_email_idx'}, {'rel:public.users_email_idx': d(
         kind='index', schema='public', name='users_email_idx',
         index=d(table='users', definition='CREATE INDEX users_email_idx ON public.users USING btree (email)'))}),
     ['CREATE INDEX users_email_idx ON public.users USING btree (email)']),
    ('drop view',
     'DROP VIEW v',
     state({'rel:v': 'rel:public.v'}, {'rel:public.v': d(
         kind='view', schema='public', name='v', view_definition=' SELECT 1 AS a;', columns=[], options=[],
         owner='app', acl=[['app', 'SELECT', False]], acl_default=[['app', 'SELECT', False]], comment='a view')}),
     ['CREATE VIEW public.v AS SELECT 1 AS a', "COMMENT ON VIEW public.v IS 'a view'",
      'ALTER VIEW public.v OWNER TO app']),
    ('drop function',
     'DROP FUNCTION f()',
     state({'func:f()': ['func:public.f', '']}, {'func:public.f': d(schema='public', name='f', overloads={'': d(
         kind='f', definition='CREATE OR REPLACE FUNCTION public.f() RETURNS integer LANGUAGE sql AS $$SELECT 1$$',
         owner='app', acl=[['app', 'EXECUTE', False]], acl_default=[['PUBLIC', 'EXECUTE', False],
                                                                    ['app', 'EXECUTE', False]])})}),
     ['CREATE OR REPLACE FUNCTION public.f() RETURNS integer LANGUAGE sql AS $$SELECT 1$$',
      'ALTER FUNCTION public.f() OWNER TO app', 'REVOKE EXECUTE ON FUNCTION public.f() FROM PUBLIC']),
    ('drop enum type',
     'DROP TYPE mood',
     state({'type:mood': 'type:public.mood'}, {'type:public.mood': d(
         kind='enum', schema='public', name='mood', labels=['a', 'b'], owner='app', acl=[], acl_default=[])}),
     ["CREATE TYPE public.mood AS ENUM ('a', 'b')", 'ALTER TYPE public.mood OWNER TO app']),
    ('drop trigger',
     'DROP TRIGGER t_audit ON t',
     state({'rel:t': 'rel:public.t'}, {'rel:public.t': table('t', triggers={'t_audit': d(
         definition='CREATE TRIGGER t_audit AFTER INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION audit()',
         enabled='O', comment=None)})}),
     ['CREATE TRIGGER t_audit AFTER INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION audit()']),
    ('drop schema',
     'DROP SCHEMA old', state({'schema:old': 'schema:old'}, {'schema:old': d(
         name='old', owner='app', comment=None, acl=[], acl_default=[])}),
     ['CREATE SCHEMA old', 'ALTER SCHEMA old OWNER TO app']),
    ('drop if exists, absent', 'DROP VIEW IF EXISTS gone',
     state({'rel:gone': 'rel:public.gone'}, {'rel:public.gone': None}), []),
    # --- data
    ('insert rows',
     "INSERT INTO plans (code, name) VALUES ('free', 'Free'), ('pro', 'Pro')",
     state({'rel:plans': 'rel:public.plans'}, {'rel:public.plans': table('plans', constraints={
         'plans_pkey': d({'def': 'PRIMARY KEY (code)'}, type='p', columns=['code'])})}),
     ["DELETE FROM plans WHERE (code) IN (('free'), ('pro'))"]),
    ('backfill of a column added here',
     "ALTER TABLE t ADD COLUMN c text; UPDATE t SET c = 'x'", None, ['ALTER TABLE t DROP COLUMN c']),
    ('rows of a table created here', "CREATE TABLE t (a int); INSERT INTO t SELECT 1; DELETE FROM t; TRUNCATE t",
     None, ['DROP TABLE t']),
    # --- settings and transaction control
    ('search_path is replayed',
     'SET search_path TO billing; CREATE TABLE invoices (id int)', None,
     ['SET search_path TO billing', 'DROP TABLE invoices', 'RESET search_path']),
    ('BEGIN and COMMIT are left to the module', 'BEGIN; CREATE TABLE t (id int); COMMIT;', None,
     ['DROP TABLE t']),
    ('statements with nothing to undo', "SELECT 1; ANALYZE t; LOCK TABLE t IN SHARE MODE", None, []),
]


@pytest.mark.parametrize('case, up, snapshot, expected', CASES, ids=[c[0] for c in CASES])
def test_reverse(case, up, snapshot, expected):
    plan = reverse_migration(up, snapshot)
    assert plan.findings == []
    assert plan.sql() == expected
    for sql in plan.sql():
        pglast.parse_sql(sql)  # every reverse statement is valid PostgreSQL


IRREVERSIBLE = [
    ('drop table', 'DROP TABLE orders', 'drops table orders and every row in it'),
    ('drop table cascade', 'DROP TABLE orders CASCADE', 'drops table orders and every row in it'),
    ('drop column', 'ALTER TABLE users DROP COLUMN email', 'drops column email of users and every value in it'),
    ('delete', "DELETE FROM users WHERE id = 1", 'deletes rows of users'),
    ('truncate', 'TRUNCATE users, orders', 'empties users, orders'),
    ('update', "UPDATE users SET email = lower(email)", 'overwrites email of users'),
    ('drop sequence', 'DROP SEQUENCE s', 'drops sequence s and its current value'),
    ('drop schema cascade', 'DROP SCHEMA old CASCADE', 'drops schema old with CASCADE'),
]


@pytest.mark.parametrize('case, up, reason', IRREVERSIBLE, ids=[c[0] for c in IRREVERSIBLE])
def test_destroying_data_is_irreversible(case, up, reason):
    plan = reverse_migration(up)
    assert [(f.kind, f.sql) for f in plan.findings] == [('irreversible', up)]
    assert reason in plan.findings[0].reason


def test_narrowing_type_change_is_irreversible():
    up = 'ALTER TABLE users ALTER COLUMN name TYPE varchar(50)'
    snapshot = state({'rel:users': USERS}, {USERS: table('users', columns=[COL_NAME200])},
                     {USERS: table('users', columns=[COL_NAME50])})
    plan = reverse_migration(up, snapshot)
    assert plan.findings[0].kind == 'irreversible'
    assert 'from character varying(200) to character varying(50) (narrowing)' in plan.findings[0].reason


def test_a_using_expression_counts_as_narrowing():
    up = 'ALTER TABLE users ALTER COLUMN name TYPE varchar(200) USING substr(name, 2)'
    snapshot = state({'rel:users': USERS}, {USERS: table('users', columns=[COL_NAME50])},
                     {USERS: table('users', columns=[COL_NAME200])})
    assert 'with a USING expression' in reverse_migration(up, snapshot).findings[0].reason


def test_force_restores_a_dropped_table_from_the_snapshot():
    orders = table('orders', columns=[d(name='id', type='bigint', not_null=True),
                                      d(name='note', type='text', default="''::text")],
                   constraints={'orders_pkey': d({'def': 'PRIMARY KEY (id)'}, type='p')},
                   indexes={'orders_pkey': d({'def': 'CREATE UNIQUE INDEX orders_pkey ...'}, constraint='orders_pkey'),
                            'orders_note_idx': d({'def': 'CREATE INDEX orders_note_idx ON public.orders (note)'})},
                   comment='orders')
    plan = reverse_migration('DROP TABLE orders', state({'rel:orders': 'rel:public.orders'},
                                                        {'rel:public.orders': orders}), force=True)
    assert [f.kind for f in plan.findings] == ['forced']
    assert plan.sql() == [
        "CREATE TABLE public.orders (id bigint NOT NULL, note text DEFAULT ''::text)",
        'ALTER TABLE public.orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id)',
        'CREATE INDEX orders_note_idx ON public.orders (note)',
        "COMMENT ON TABLE public.orders IS 'orders'",
        'ALTER TABLE public.orders OWNER TO app',
    ]


@pytest.mark.parametrize('up, why', [
    ("DO $$ BEGIN PERFORM 1; END $$", 'runs PERFORM, whose effect cannot be known'),
    ("DO $$ BEGIN EXECUTE format('ALTER TABLE %I ADD x int', 't'); END $$", 'builds SQL at run time'),
    ("DO $$ BEGIN INSERT INTO t VALUES (1); END $$", 'inserts rows'),
    ("DO $$ BEGIN ALTER TABLE t ADD COLUMN x int; END $$", 'the catalog snapshot taken around it, which is missing'),
    ("DO LANGUAGE plperl $$ 1; $$", 'only PL/pgSQL is read'),
    ("ALTER TYPE mood ADD VALUE 'meh'", 'cannot remove a value from an enum'),
    ('ALTER TABLE users ALTER COLUMN name SET DEFAULT 1', 'the snapshot does not hold'),
    ("INSERT INTO t SELECT * FROM u", 'other than plain VALUES'),
    ('CALL do_things()', 'no reverse rule for CallStmt'),
])
def test_statements_without_a_reverse_rule_are_reported(up, why):
    plan = reverse_migration(up)
    assert plan.findings[0].kind == 'unsupported'
    assert why in plan.findings[0].reason


@pytest.mark.parametrize('old, new, widening', [
    ('integer', 'bigint', True), ('bigint', 'integer', False), ('smallint', 'integer', True),
    ('character varying(50)', 'character varying(200)', True),
    ('character varying(200)', 'character varying(50)', False),
    ('character varying(50)', 'text', True), ('text', 'character varying(50)', False),
    ('numeric(10,2)', 'numeric(12,2)', True), ('numeric(10,2)', 'numeric(10,0)', False),
    ('numeric(10,2)', 'numeric', True),
    ('integer', 'numeric(12,0)', True), ('integer', 'numeric(5,0)', False),
    ('timestamp without time zone', 'timestamp with time zone', True),
    ('timestamp with time zone', 'timestamp without time zone', False), ('date', 'timestamp without time zone', True),
    ('timestamp(3) without time zone', 'timestamp without time zone', True),
    ('timestamp without time zone', 'timestamp(3) without time zone', False),
    ('real', 'double precision', True), ('double precision', 'real', False), ('json', 'jsonb', True),
    ('integer', 'text', True), ('text', 'integer', False), ('integer[]', 'bigint[]', True),
    ('integer[]', 'integer', False),
])
def test_widening(old, new, widening):
    assert is_widening(old, new) is widening


def test_split_keeps_function_bodies_whole_and_drops_transaction_control():
    sql = "BEGIN;\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n-- c\nCOMMIT;\nSELECT 'a;b';"
    statements = split_statements(sql)
    assert [s.sql for s in statements] == ['CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql',
                                           "SELECT 'a;b'"]
    assert [s.index for s in statements] == [0, 1]


def test_refs_name_what_the_reverse_looks_up():
    node = split_statements('ALTER TABLE s.t RENAME TO u')[0].node
    assert refs_of(node) == [Ref('rel', ('s', 't')), Ref('rel', ('s', 'u'))]
    node = split_statements('COMMENT ON COLUMN s.t.c IS NULL')[0].node
    assert refs_of(node) == [Ref('rel', ('s', 't'))]
    node = split_statements('GRANT EXECUTE ON FUNCTION f(int, text) TO r')[0].node
    assert [str(r) for r in refs_of(node)] == ['func:f(integer, text)']


def test_the_snapshot_must_match_the_statements():
    with pytest.raises(ValueError, match='covers 1 statements but the up SQL has 2'):
        reverse_migration('CREATE TABLE a (x int); CREATE TABLE b (x int)', state())


def opaque(before, after):
    return {'statements': [{'refs': {}, 'opaque': True, 'before': before, 'after': after}]}


def test_a_do_block_is_reversed_from_the_catalogs_around_it():
    up = """DO $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE column_name = 'views') THEN
            ALTER TABLE posts ADD COLUMN views bigint NOT NULL DEFAULT 0;
            EXECUTE 'CREATE INDEX posts_views_idx ON posts (views)';
            CREATE TABLE post_stats (post_id int);
        END IF;
    END $$"""
    posts = table('posts', columns=[dict(name='id', type='integer')])
    grown = table('posts', columns=[dict(name='id', type='integer'),
                                    dict(name='views', type='bigint', not_null=True, default='0')],
                  indexes={'posts_views_idx': d(definition='CREATE INDEX posts_views_idx ON public.posts (views)')})
    plan = reverse_migration(up, opaque({'rel:public.posts': posts, 'rel:public.post_stats': None},
                                        {'rel:public.posts': grown, 'rel:public.post_stats': table('post_stats')}))
    assert plan.findings == []
    assert plan.sql() == ['DROP INDEX public.posts_views_idx', 'ALTER TABLE public.posts DROP COLUMN views',
                          'DROP TABLE public.post_stats']


def test_a_do_block_that_deletes_rows_is_irreversible():
    plan = reverse_migration("DO $$ BEGIN DELETE FROM sessions WHERE expired; END $$", opaque({}, {}))
    assert plan.findings[0].kind == 'irreversible'
    assert 'the DO block deletes rows (DELETE FROM sessions WHERE expired)' in plan.findings[0].reason


def test_adding_an_enum_value_recreates_the_type_and_its_columns():
    mood = {'schema': 'public', 'name': 'mood', 'kind': 'enum', 'labels': ['happy', 'sad'], 'owner': 'app',
            'acl': [], 'acl_default': [], 'comment': None, 'dependent_views': ['rel:public.moods'],
            'used_by': [{'schema': 'public', 'table': 'people', 'column': 'mood', 'array': False,
                         'default': "'happy'::mood"}]}
    view = d(kind='view', schema='public', name='moods', view_definition=' SELECT people.mood FROM people;',
             columns=[], options=[], owner='app', acl=[], acl_default=[], comment=None)
    snapshot = state({'type:mood': 'type:public.mood'}, {'type:public.mood': mood, 'rel:public.moods': view})
    plan = reverse_migration("ALTER TYPE mood ADD VALUE 'meh'", snapshot)
    assert plan.findings == []
    assert plan.sql() == [
        'DROP VIEW public.moods',
        'ALTER TYPE public.mood RENAME TO mood__bundle_rollback',
        "CREATE TYPE public.mood AS ENUM ('happy', 'sad')",
        'ALTER TYPE public.mood OWNER TO app',
        'ALTER TABLE public.people ALTER COLUMN mood DROP DEFAULT',
        'ALTER TABLE public.people ALTER COLUMN mood TYPE public.mood USING mood::text::public.mood',
        "ALTER TABLE public.people ALTER COLUMN mood SET DEFAULT 'happy'::mood",
        'DROP TYPE public.mood__bundle_rollback',
        'CREATE VIEW public.moods AS SELECT people.mood FROM people',
        'ALTER VIEW public.moods OWNER TO app',
    ]


def test_at_time_zone_between_timestamp_kinds_is_reversed_with_the_same_zone():
    up = "ALTER TABLE t ALTER COLUMN at TYPE timestamptz USING at AT TIME ZONE 'UTC'"
    snapshot = state({'rel:t': 'rel:public.t'},
                     {'rel:public.t': table('t', columns=[dict(name='at', type='timestamp without time zone')])},
                     {'rel:public.t': table('t', columns=[dict(name='at', type='timestamp with time zone')])})
    plan = reverse_migration(up, snapshot)
    assert plan.findings == []
    assert plan.sql() == ["ALTER TABLE t ALTER COLUMN at TYPE timestamp without time zone USING at AT TIME ZONE 'UTC'"]


def test_attaching_a_partition_is_undone_with_the_indexes_it_created():
    before = table('p3', indexes={})
    after = table('p3', indexes={'p3_kind_idx': d(definition='CREATE INDEX p3_kind_idx ON public.p3 (kind)')})
    snapshot = state({'rel:p': 'rel:public.p', 'rel:p3': 'rel:public.p3'},
                     {'rel:public.p': table('p'), 'rel:public.p3': before},
                     {'rel:public.p': table('p'), 'rel:public.p3': after})
    plan = reverse_migration("ALTER TABLE p ATTACH PARTITION p3 FOR VALUES IN (3)", snapshot)
    assert plan.sql() == ['ALTER TABLE p DETACH PARTITION p3', 'DROP INDEX public.p3_kind_idx']
