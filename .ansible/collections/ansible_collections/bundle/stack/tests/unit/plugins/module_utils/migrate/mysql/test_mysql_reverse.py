"""The MySQL/MariaDB reverse-SQL generator (sqlglot), one case per statement kind.

Table snapshots are built the way the engine builds them: from SHOW CREATE TABLE
text as MariaDB prints it, cut into elements by parse_create_table. Every
generated statement must parse with sqlglot's MySQL grammar.
"""

import pytest
import sqlglot
from ansible_collections.bundle.stack.plugins.module_utils.migrate.mysql.catalog import (
    parse_create_table,
    strip_definer,
)
from ansible_collections.bundle.stack.plugins.module_utils.migrate.mysql.reverse import (
    is_widening,
    reverse_migration,
    split_statements,
)

USERS_CREATE = """CREATE TABLE `users` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `email` varchar(120) NOT NULL,
  `name` varchar(50) DEFAULT 'anon' COMMENT 'shown, (publicly)',
  `score` decimal(10,2) NOT NULL DEFAULT 0.00,
  `team_id` int(11) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `users_email_key` (`email`),
  KEY `users_team_idx` (`team_id`),
  CONSTRAINT `users_team_fk` FOREIGN KEY (`team_id`) REFERENCES `teams` (`id`) ON DELETE SET NULL,
  CONSTRAINT `users_score_check` CHECK (`score` >= 0)
) ENGINE=InnoDB AUTO_INCREMENT=42 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='people'"""


def users(**changes):
    desc = parse_create_table(USERS_CREATE)
    desc.update(kind='table', name='users', engine='InnoDB', comment='people')
    desc.update(changes)
    return desc


def state(refs=None, before=None, after=None):
    refs = {k: [v, None] for k, v in (refs or {}).items()}
    return {'statements': [{'refs': refs, 'before': before or {}, 'after': after or {}}]}


U = 'table:app.users'
USERS_STATE = state({'table:users': U}, {U: users()}, {U: users()})


def with_elements(desc, **extra):
    return dict(desc, elements=dict(desc['elements'], **extra))


CASES = [
    ('create table', 'CREATE TABLE t (id INT PRIMARY KEY)', None, ['DROP TABLE `t`']),
    ('create table if not exists, existing', 'CREATE TABLE IF NOT EXISTS users (id INT)', USERS_STATE, []),
    ('create view', 'CREATE VIEW v AS SELECT 1', None, ['DROP VIEW `v`']),
    ('create or replace view, existing', 'CREATE OR REPLACE VIEW v AS SELECT 2',
     state({'view:v': 'view:app.v'}, {'view:app.v': dict(kind='view', definition='select 1 AS `1`',
                                                         security='DEFINER', check_option='NONE')}),
     ['CREATE OR REPLACE SQL SECURITY DEFINER VIEW `v` AS select 1 AS `1`']),
    ('create index', 'CREATE UNIQUE INDEX i ON t (a, b)', None, ['DROP INDEX `i` ON `t`']),
    ('create trigger', 'CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 1; END', None,
     ['DROP TRIGGER `tr`']),
    ('create procedure', 'CREATE DEFINER=`root`@`%` PROCEDURE p() BEGIN IF 1 THEN SELECT 1; END IF; END', None,
     ['DROP PROCEDURE `p`']),
    ('create function', 'CREATE FUNCTION f(a INT) RETURNS INT DETERMINISTIC RETURN a + 1', None,
     ['DROP FUNCTION `f`']),
    ('create database', 'CREATE DATABASE reports', None, ['DROP DATABASE `reports`']),
    ('add column', 'ALTER TABLE users ADD COLUMN age INT NULL AFTER name', None,
     ['ALTER TABLE `users` DROP COLUMN `age`']),
    ('add index', 'ALTER TABLE users ADD INDEX users_name_idx (name)',
     state({'table:users': U}, {U: users()},
           {U: with_elements(users(), **{'index:users_name_idx': 'KEY `users_name_idx` (`name`)'})}),
     ['ALTER TABLE `users` DROP INDEX `users_name_idx`']),
    ('add foreign key with its index',
     'ALTER TABLE users ADD CONSTRAINT users_boss_fk FOREIGN KEY (boss_id) REFERENCES users (id)',
     state({'table:users': U}, {U: users()},
           {U: with_elements(users(), **{'fk:users_boss_fk': 'CONSTRAINT ...', 'index:users_boss_fk': 'KEY ...'})}),
     ['ALTER TABLE `users` DROP FOREIGN KEY `users_boss_fk`', 'ALTER TABLE `users` DROP INDEX `users_boss_fk`']),
    ('modify column, widening', 'ALTER TABLE users MODIFY COLUMN name VARCHAR(100)',
     state({'table:users': U}, {U: users()},
           {U: users(columns=dict(users()['columns'], name=dict(users()['columns']['name'], type='varchar(100)')))}),
     ["ALTER TABLE `users` MODIFY COLUMN `name` varchar(50) DEFAULT 'anon' COMMENT 'shown, (publicly)'"]),
    ('change column (rename and retype)', 'ALTER TABLE users CHANGE COLUMN name full_name VARCHAR(80)',
     state({'table:users': U}, {U: users()},
           {U: users(columns=dict(users()['columns'], full_name=dict(type='varchar(80)',
                                                                     definition='varchar(80) DEFAULT NULL')))}),
     ["ALTER TABLE `users` CHANGE COLUMN `full_name` `name` varchar(50) DEFAULT 'anon' COMMENT 'shown, (publicly)'"]),
    ('rename column', 'ALTER TABLE users RENAME COLUMN a TO b', None, ['ALTER TABLE `users` RENAME COLUMN `b` TO `a`']),
    ('rename index', 'ALTER TABLE users RENAME INDEX a TO b', None, ['ALTER TABLE `users` RENAME INDEX `b` TO `a`']),
    ('rename table (alter)', 'ALTER TABLE users RENAME TO people', None, ['RENAME TABLE `people` TO `users`']),
    ('rename tables', 'RENAME TABLE a TO b, c TO d', None, ['RENAME TABLE `d` TO `c`, `b` TO `a`']),
    ('set default', "ALTER TABLE users ALTER COLUMN name SET DEFAULT 'x'", USERS_STATE,
     ["ALTER TABLE `users` ALTER COLUMN `name` SET DEFAULT 'anon'"]),
    ('drop default', 'ALTER TABLE users ALTER COLUMN score DROP DEFAULT', USERS_STATE,
     ['ALTER TABLE `users` ALTER COLUMN `score` SET DEFAULT 0.00']),
    ('set default where there was none', 'ALTER TABLE users ALTER COLUMN email SET DEFAULT 1', USERS_STATE,
     ['ALTER TABLE `users` ALTER COLUMN `email` DROP DEFAULT']),
    ('drop index', 'ALTER TABLE users DROP INDEX users_team_idx', USERS_STATE,
     ['ALTER TABLE `users` ADD KEY `users_team_idx` (`team_id`)']),
    ('drop foreign key', 'ALTER TABLE users DROP FOREIGN KEY users_team_fk', USERS_STATE,
     ['ALTER TABLE `users` ADD CONSTRAINT `users_team_fk` FOREIGN KEY (`team_id`) REFERENCES `teams` (`id`) '
      'ON DELETE SET NULL']),
    ('drop primary key', 'ALTER TABLE users DROP PRIMARY KEY', USERS_STATE,
     ['ALTER TABLE `users` ADD PRIMARY KEY (`id`)']),
    ('drop index statement', 'DROP INDEX users_email_key ON users', USERS_STATE,
     ['ALTER TABLE `users` ADD UNIQUE KEY `users_email_key` (`email`)']),
    ('table comment', "ALTER TABLE users COMMENT = 'humans'", USERS_STATE,
     ["ALTER TABLE `users` COMMENT = 'people'"]),
    ('engine', 'ALTER TABLE users ENGINE = Aria', USERS_STATE, ['ALTER TABLE `users` ENGINE = InnoDB']),
    ('drop view', 'DROP VIEW v',
     state({'view:v': 'view:app.v'}, {'view:app.v': dict(kind='view', definition='select 1 AS `1`',
                                                         security='INVOKER', check_option='CASCADED')}),
     ['CREATE SQL SECURITY INVOKER VIEW `v` AS select 1 AS `1` WITH CASCADED CHECK OPTION']),
    ('drop trigger', 'DROP TRIGGER tr',
     state({'trigger:tr': 'trigger:app.tr'}, {'trigger:app.tr': dict(
         create='CREATE TRIGGER `tr` BEFORE INSERT ON `t` FOR EACH ROW SET NEW.a = 1')}),
     ['CREATE TRIGGER `tr` BEFORE INSERT ON `t` FOR EACH ROW SET NEW.a = 1']),
    ('grant', "GRANT SELECT, INSERT ON app.users TO 'report'@'%' WITH GRANT OPTION", None,
     ["REVOKE SELECT, INSERT ON app.users FROM 'report'@'%'"]),
    ('revoke', "REVOKE UPDATE (name) ON app.users FROM 'report'@'%'", None,
     ["GRANT UPDATE (name) ON app.users TO 'report'@'%'"]),
    ('insert rows', "INSERT INTO users (id, email) VALUES (1, 'a@x'), (2, 'b@x')", USERS_STATE,
     ['DELETE FROM `users` WHERE (`id`) IN ((1), (2))']),
    ('backfill of a column added here', "ALTER TABLE users ADD COLUMN c INT; UPDATE users SET c = 1", None,
     ['ALTER TABLE `users` DROP COLUMN `c`']),
    ('settings are replayed', 'SET FOREIGN_KEY_CHECKS = 0; CREATE TABLE t (id INT)', None,
     ['SET FOREIGN_KEY_CHECKS = 0', 'DROP TABLE `t`']),
    ('transaction control is left out', 'START TRANSACTION; CREATE TABLE t (id INT); COMMIT;', None,
     ['DROP TABLE `t`']),
]


@pytest.mark.parametrize('case, up, snapshot, expected', CASES, ids=[c[0] for c in CASES])
def test_reverse(case, up, snapshot, expected):
    plan = reverse_migration(up, snapshot)
    assert plan.findings == []
    assert plan.sql() == expected
    for sql in plan.sql():
        sqlglot.parse_one(sql, read='mysql')


@pytest.mark.parametrize('up, reason', [
    ('DROP TABLE orders', 'drops table `orders` and every row in it'),
    ('ALTER TABLE users DROP COLUMN email', 'drops column `email` of `users`'),
    ('DELETE FROM users WHERE id = 1', 'deletes rows of `users`'),
    ('TRUNCATE TABLE users', 'empties `users`'),
    ('UPDATE users SET email = LOWER(email)', 'overwrites email of `users`'),
    ('DROP DATABASE old', 'drops database old'),
])
def test_destroying_data_is_irreversible(up, reason):
    plan = reverse_migration(up)
    assert plan.findings[0].kind == 'irreversible'
    assert reason in plan.findings[0].reason


def test_narrowing_modify_is_irreversible_and_force_restores_the_definition():
    up = 'ALTER TABLE users MODIFY COLUMN name VARCHAR(20)'
    after = users(columns=dict(users()['columns'], name=dict(users()['columns']['name'], type='varchar(20)')))
    snapshot = state({'table:users': U}, {U: users()}, {U: after})
    plan = reverse_migration(up, snapshot)
    assert plan.findings[0].kind == 'irreversible'
    assert 'from varchar(50) to varchar(20) (narrowing)' in plan.findings[0].reason
    forced = reverse_migration(up, snapshot, force=True)
    assert [f.kind for f in forced.findings] == ['forced']
    assert forced.sql() == ["ALTER TABLE `users` MODIFY COLUMN `name` varchar(50) DEFAULT 'anon' "
                            "COMMENT 'shown, (publicly)'"]


def test_parse_create_table_cuts_elements_and_drops_the_counter():
    desc = parse_create_table(USERS_CREATE)
    assert desc['elements']['column:name'] == "`name` varchar(50) DEFAULT 'anon' COMMENT 'shown, (publicly)'"
    assert desc['elements']['primary:PRIMARY'] == 'PRIMARY KEY (`id`)'
    assert desc['elements']['check:users_score_check'] == 'CONSTRAINT `users_score_check` CHECK (`score` >= 0)'
    assert desc['columns']['score'] == dict(definition='decimal(10,2) NOT NULL DEFAULT 0.00', type='decimal(10,2)',
                                            default='0.00', default_sql='0.00')
    assert desc['columns']['team_id']['default'] is None  # DEFAULT NULL: no default of its own
    assert desc['keys'] == [['id'], ['email']]
    assert desc['column_order'] == ['id', 'email', 'name', 'score', 'team_id']
    assert desc['options'] == "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='people'"


def test_definer_is_stripped_from_routines():
    assert strip_definer('CREATE DEFINER=`root`@`localhost` PROCEDURE `p`() BEGIN END') == \
        'CREATE PROCEDURE `p`() BEGIN END'


@pytest.mark.parametrize('old, new, widening', [
    ('int(11)', 'bigint(20)', True), ('bigint(20)', 'int(11)', False), ('int(10) unsigned', 'bigint(20)', True),
    ('varchar(50)', 'varchar(100)', True), ('varchar(100)', 'varchar(50)', False), ('varchar(255)', 'text', True),
    ('text', 'varchar(255)', False), ('decimal(10,2)', 'decimal(12,2)', True),
    ('decimal(10,2)', 'decimal(10,0)', False),
    ('float', 'double', True), ('datetime', 'date', False), ('date', 'datetime', True),
])
def test_widening(old, new, widening):
    assert is_widening(old, new) is widening


def test_split_keeps_compound_bodies_whole():
    sql = ('CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN IF NEW.a IS NULL THEN SET NEW.a = 1; END IF; '
           'END;\nINSERT INTO t VALUES (1);')
    assert [s.sql for s in split_statements(sql)] == [
        'CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN IF NEW.a IS NULL THEN SET NEW.a = 1; END IF; END',
        'INSERT INTO t VALUES (1)']


def test_force_recreates_a_dropped_table_from_its_elements():
    snapshot = state({'table:users': U}, {U: users()})
    plan = reverse_migration('DROP TABLE users', snapshot, force=True)
    assert [f.kind for f in plan.findings] == ['forced']
    create = plan.sql()[0]
    assert create.startswith('CREATE TABLE `users` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  `email`')
    assert create.endswith("ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='people'")
    sqlglot.parse_one(create, read='mysql')
