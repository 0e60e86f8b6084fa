"""Pure parts of the backup engines: PostgreSQL globals parsing and names,
MySQL dump row counting and option file, Redis INFO and redis-check-rdb parsing."""

import pytest
from ansible_collections.bundle.stack.plugins.module_utils.backup.engine import BackupError
from ansible_collections.bundle.stack.plugins.module_utils.backup.engines import mysql, redis
from ansible_collections.bundle.stack.plugins.module_utils.backup.engines import postgresql as postgres

GLOBALS = '''--
-- PostgreSQL database cluster dump
--

SET default_transaction_read_only = off;

--
-- Roles
--

CREATE ROLE app;
ALTER ROLE app WITH NOSUPERUSER LOGIN PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$a:b';
CREATE ROLE "Odd ""Role""";
ALTER ROLE "Odd ""Role""" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;
COMMENT ON ROLE "Odd ""Role""" IS 'odd';
CREATE ROLE postgres;
ALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS;
ALTER ROLE app SET search_path TO 'app';
ALTER ROLE app IN DATABASE app SET work_mem TO '8MB';

--
-- Role memberships
--

GRANT pg_monitor TO app GRANTED BY postgres;
GRANT app TO postgres GRANTED BY postgres;
'''


def test_roles_in_a_globals_file():
    assert postgres.roles_in(GLOBALS) == ['app', 'Odd "Role"', 'postgres']


def test_statements_create_only_the_missing_roles():
    statements = postgres.role_statements(GLOBALS, {'app', 'Odd "Role"'})
    assert statements == [
        'CREATE ROLE app;',
        "ALTER ROLE app WITH NOSUPERUSER LOGIN PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$a:b';",
        'CREATE ROLE "Odd ""Role""";',
        'ALTER ROLE "Odd ""Role""" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION '
        'NOBYPASSRLS;',
        'COMMENT ON ROLE "Odd ""Role""" IS \'odd\';',
        "ALTER ROLE app SET search_path TO 'app';",
        'GRANT pg_monitor TO app GRANTED BY postgres;',
    ]
    assert postgres.role_statements(GLOBALS, set()) == []


@pytest.mark.parametrize('target', ['app', 'x' * 63, 'ü' * 40])
def test_scratch_names_fit_postgres_identifiers(target):
    name = postgres.scratch_name(target, 'restore', 'abcd1234')
    assert len(name.encode()) <= 63
    assert name.endswith('__restore_abcd1234')
    assert len(mysql.scratch_name(target, 'verify', 'abcd1234')) <= 64


def test_quoting():
    assert postgres.quote_ident('a"b') == '"a""b"'
    assert postgres.quote_literal("it's") == "'it''s'"
    assert postgres.libpq_value("a'b\\c") == "'a\\'b\\\\c'"
    assert mysql.quote_ident('a`b') == '`a``b`'
    assert mysql.quote_literal("it's\\") == "'it\\'s\\\\'"


DUMP = r"""-- MariaDB dump 10.19
/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
DROP TABLE IF EXISTS `items`;
CREATE TABLE `items` (
  `id` int(11) NOT NULL,
  `body` text DEFAULT NULL
) ENGINE=InnoDB;
LOCK TABLES `items` WRITE;
INSERT INTO `items` VALUES (1,'plain'),(2,'has ),( inside'),(3,'quote \' and ),( again'),(4,NULL);
INSERT INTO `items` VALUES (5,'a\\'),(6,0x0A29282C);
UNLOCK TABLES;
CREATE TABLE `empty` (
  `id` int(11)
);
CREATE TABLE `we``ird` (
  `v` varchar(10)
);
INSERT INTO `we``ird` (`v`) VALUES ('x');
/*!50001 CREATE VIEW `v` AS SELECT 1 AS `id` */;
"""

# mariadb-dump 10.11.8 and later: one row per line.
DUMP_ROWS_PER_LINE = r"""CREATE TABLE `audit` (
  `item` int(11) DEFAULT NULL
) ENGINE=InnoDB;
INSERT INTO `audit` VALUES
(1,'note'),
(2,'ends like a statement );'),
(3,'x\nnot a new line');
INSERT INTO `audit` VALUES
(4,NULL);
/*M!999999\- enable the sandbox mode */
"""


def test_mysql_rows_are_counted_in_the_dump():
    assert mysql.count_dump_rows(DUMP.splitlines(keepends=True)) == {'empty': 0, 'items': 6, 'we`ird': 1}
    assert mysql.count_dump_rows(DUMP_ROWS_PER_LINE.splitlines(keepends=True)) == {'audit': 4}


def test_mysql_option_file_holds_the_password_not_the_command_line():
    text = mysql.option_file_text(dict(login_user='root', login_unix_socket='/run/mysqld/mysqld.sock', port=3306,
                                       login_password='p"w\\x'))
    assert text.splitlines() == ['[client]', 'user=root', 'socket=/run/mysqld/mysqld.sock', 'port=3306',
                                 'password="p\\"w\\\\x"']


INFO = """# Persistence\r
loading:0\r
rdb_bgsave_in_progress:0\r
rdb_last_save_time:1719748800\r
rdb_last_bgsave_status:ok\r
aof_enabled:1\r
"""


def test_redis_info_and_keyspace():
    info = redis.parse_info(INFO)
    assert info['rdb_last_save_time'] == '1719748800' and info['aof_enabled'] == '1'
    assert redis.keyspace_keys('# Keyspace\r\ndb0:keys=25,expires=1,avg_ttl=0\r\ndb3:keys=4,expires=0\r\n') == 29
    assert redis.keyspace_keys('# Keyspace\r\n') == 0


CHECK_OK = """[offset 0] Checking RDB file dump.rdb
[offset 26] AUX FIELD redis-ver = '7.0.15'
[offset 123] Selecting DB ID 0
[offset 456] Checksum OK
[offset 456] \\o/ RDB looks OK! \\o/
[info] 26 keys read
[info] 1 expires
[info] 0 already expired
"""


def test_redis_check_rdb_output():
    assert redis.parse_check_rdb(CHECK_OK) == (26, 1, 0)
    with pytest.raises(BackupError, match='redis-check-rdb did not accept the copied RDB'):
        redis.parse_check_rdb('[offset 0] Checking RDB file dump.rdb\n--- RDB ERROR DETECTED ---\n')


def test_redis_aof_manifest_and_expiry_tolerance():
    assert redis.aof_manifest('appendonly.aof.1.base.rdb') == 'file appendonly.aof.1.base.rdb seq 1 type b\n'
    manifest = dict(row_counts={'keys': 26}, details={'expires': 1})
    assert [redis.expected_keys_match(manifest, n) for n in (24, 25, 26, 27)] == [False, True, True, False]
