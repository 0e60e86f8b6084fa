"""Schema migrations on a real PostgreSQL and a real MariaDB converged by their
roles, driven through the shipped playbooks from the control node. PostgreSQL: the
example set is applied (converge), previewed, rolled back to a schema identical to a
database that never saw a migration, re-applied; an irreversible migration is refused
with the backup it was taken before; a bad input stops before any host is touched.
MariaDB (migrate_engine=mysql): its example set is applied, rolled back halfway and
whole, each time to the schema it found (from information_schema), re-applied; an
irreversible migration and a changed file are refused."""

import os
import pathlib
import shutil
import subprocess
import uuid

import pytest
import testinfra

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
PROJECT = pathlib.Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
EPHEMERAL = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
SECRETS = EPHEMERAL / "secrets"
EXAMPLE = ["0001_accounts", "0002_orders", "0003_order_notes", "0004_account_names"]
HOST = testinfra.get_host(f"ansible://mol-mig-pg1?ansible_inventory={INVENTORY}")
MARIADB = testinfra.get_host(f"ansible://mol-mig-mysql1?ansible_inventory={INVENTORY}")
# What the playbooks need to target MariaDB: the engine (the host, port, password and
# example set follow from it).
ON_MARIADB = ("-e", "migrate_engine=mysql")


def psql(sql, database="app"):
    """SQL as the local superuser (root maps to postgres over the socket)."""
    return HOST.check_output("psql -X -A -t -v ON_ERROR_STOP=1 -U postgres -d %s -c %s", database, sql)


def schema(database="app"):
    """pg_dump --schema-only of a database, the ledger left out, the random \\restrict key too."""
    dump = HOST.check_output("pg_dump -U postgres --schema-only --exclude-table=public.bundle_migration_ledger %s",
                             database)
    return "\n".join(line for line in dump.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))


def ledger(database="app"):
    """Every ledger row as name:rolled_back, oldest first."""
    rows = psql("SELECT name || ':' || (rolled_back_at IS NOT NULL) FROM bundle_migration_ledger ORDER BY id",
                database)
    return rows.split()


def applied(database="app"):
    return [row.split(":")[0] for row in ledger(database) if row.endswith(":false")]


def run_playbook(playbook, *args):
    env = dict(os.environ, BUNDLE_SECRETS_DIR=str(SECRETS), ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"),
               ANSIBLE_NOCOLOR="1")
    return subprocess.run(
        ["ansible-playbook", "-i", INVENTORY, str(PROJECT / "playbooks" / playbook), *args],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600,
    )


def mariadb(sql, database="app"):
    """SQL as root through the socket (unix_socket authentication), one row per line."""
    return MARIADB.check_output("mariadb -N -B -e %s %s", sql, database)


# Every schema object of the current database from information_schema, the ledger
# left out, one line each: tables, columns, indexes, constraints, views, triggers, routines.
MARIADB_SCHEMA = """
SELECT CONCAT_WS('|', 'table', table_name, table_type, engine, table_collation, create_options, table_comment)
  FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name <> 'bundle_migration_ledger'
UNION ALL SELECT CONCAT_WS('|', 'column', table_name, ordinal_position, column_name, column_type, is_nullable,
                           IFNULL(column_default, '(none)'), extra, IFNULL(collation_name, ''), column_comment)
  FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name <> 'bundle_migration_ledger'
UNION ALL SELECT CONCAT_WS('|', 'index', table_name, index_name, seq_in_index, column_name, non_unique, index_type)
  FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name <> 'bundle_migration_ledger'
UNION ALL SELECT CONCAT_WS('|', 'constraint', table_name, constraint_name, constraint_type)
  FROM information_schema.table_constraints
  WHERE constraint_schema = DATABASE() AND table_name <> 'bundle_migration_ledger'
UNION ALL SELECT CONCAT_WS('|', 'foreign key', table_name, constraint_name, referenced_table_name, update_rule,
                           delete_rule)
  FROM information_schema.referential_constraints WHERE constraint_schema = DATABASE()
UNION ALL SELECT CONCAT_WS('|', 'check', table_name, constraint_name, check_clause)
  FROM information_schema.check_constraints WHERE constraint_schema = DATABASE()
UNION ALL SELECT CONCAT_WS('|', 'view', table_name, view_definition, check_option, security_type)
  FROM information_schema.views WHERE table_schema = DATABASE()
UNION ALL SELECT CONCAT_WS('|', 'trigger', trigger_name, event_object_table, action_timing, event_manipulation,
                           action_statement)
  FROM information_schema.triggers WHERE trigger_schema = DATABASE()
UNION ALL SELECT CONCAT_WS('|', 'routine', routine_name, routine_type, routine_definition)
  FROM information_schema.routines WHERE routine_schema = DATABASE()
ORDER BY 1
"""


def mariadb_schema():
    return mariadb(MARIADB_SCHEMA).splitlines()


def mariadb_ledger(table="bundle_migration_ledger"):
    return mariadb(f"SELECT CONCAT(name, ':', rolled_back_at IS NOT NULL) FROM {table} ORDER BY id").split()


def mariadb_applied():
    return [row.split(":")[0] for row in mariadb_ledger() if row.endswith(":0")]


def refused_to_undo_the_drop(result, table, host):
    """The rollback of 0002_drop_table (tests/migrations/<engine>/irreversible) was refused while
    planning, naming the statement and the db_backup backup taken before it; no backup was taken for it."""
    output = " ".join(result.stdout.split())
    assert result.returncode != 0
    assert "Refusing to roll back 0002_drop_table: it destroyed data" in output
    assert f"statement 1 `DROP TABLE legacy_orders` drops table {table} and every row in it" in output
    assert f"The way back is the backup taken right before it was applied: {host}:/var/backups/bundle/migrate-app-" \
        in output
    assert "PLAY [Rollback | back up the database before it changes]" not in result.stdout


def new_database():
    """An empty database to compare with (created by postgres; the app user never connects to it)."""
    name = "pristine_" + uuid.uuid4().hex[:8]
    psql(f"CREATE DATABASE {name} OWNER app TEMPLATE template0", "postgres")
    return name


@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_converge_applied_the_example_set_and_recorded_the_backup(engine):
    name, host, sql, applied_names = {"postgresql": ("mol-mig-pg1", HOST, psql, applied),
                                      "mysql": ("mol-mig-mysql1", MARIADB, mariadb, mariadb_applied)}[engine]
    assert applied_names() == EXAMPLE
    backup = sql("SELECT backup FROM bundle_migration_ledger WHERE rolled_back_at IS NULL LIMIT 1")
    assert backup.startswith(f"{name}:/var/backups/bundle/migrate-app-")
    path = backup.split(":", 1)[1]
    assert host.file(f"{path}/manifest.json").exists
    assert host.file(path).mode == 0o700


def test_check_mode_prints_the_reverse_sql_and_changes_nothing():
    before, before_ledger = schema(), ledger()
    result = run_playbook("rollback-migration.yml", "--check", "--diff", "-e", "migrate_rollback_steps=2")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "DROP VIEW account_order_totals" in result.stdout
    assert "ALTER TABLE accounts RENAME COLUMN signed_up_at TO created_at" in result.stdout
    assert "DROP TRIGGER orders_touch ON orders" in result.stdout  # 0003's own down file
    assert schema() == before and ledger() == before_ledger


def test_rolling_everything_back_leaves_the_schema_of_a_database_that_never_saw_a_migration():
    pristine = new_database()
    result = run_playbook("rollback-migration.yml", "-e", "migrate_rollback_steps=4",
                          "-e", "migrate_backup_with=pg_dump")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Rolled back 4 migration(s) of app and verified the schema against the snapshot" in result.stdout
    assert schema() == schema(pristine)
    assert applied() == []
    # The pg_dump fallback wrote its backup on the control node, readable by its owner only.
    dumps = list((EPHEMERAL / "backups" / "migrations").glob("app-*-before-rollback-0004_account_names.dump"))
    assert dumps and all(oct(d.stat().st_mode & 0o777) == "0o600" for d in dumps)
    # Applied again: the ledger shows both lives of every migration.
    again = run_playbook("migrate.yml")
    assert again.returncode == 0, again.stdout[-3000:]
    assert "Applied 4 migration(s) to app" in again.stdout
    assert applied() == EXAMPLE
    assert ledger()[-8:] == [f"{name}:true" for name in EXAMPLE] + [f"{name}:false" for name in EXAMPLE]
    assert "0001_accounts: applied" in again.stdout and "rolled back" in again.stdout


def test_a_migration_that_destroyed_data_is_refused_and_names_its_backup(tmp_path):
    # In the app database (pg_hba lets app reach no other), with a ledger of its own.
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    source = PROJECT / "tests" / "migrations" / "postgresql" / "irreversible"
    options = ["-e", f"migrate_dir={migrations}", "-e", "migrate_ledger_table=irreversible_drill"]
    shutil.copy(source / "0001_base.sql", migrations)
    try:
        first = run_playbook("migrate.yml", *options)
        assert first.returncode == 0, first.stdout[-3000:]
        shutil.copy(source / "0002_drop_table.sql", migrations)
        second = run_playbook("migrate.yml", *options)
        assert second.returncode == 0, second.stdout[-3000:]
        before = schema()
        refused_to_undo_the_drop(run_playbook("rollback-migration.yml", *options), "legacy_orders", "mol-mig-pg1")
        assert schema() == before
        rows = psql("SELECT name || ':' || (rolled_back_at IS NOT NULL) FROM irreversible_drill ORDER BY id")
        assert rows.split() == ["0001_base:false", "0002_drop_table:false"]
    finally:
        psql("DROP TABLE IF EXISTS legacy_orders, customers, irreversible_drill")


def test_the_password_never_shows_in_the_output():
    password = (SECRETS / "app").read_text().strip()
    result = run_playbook("migrate.yml", "-v")
    assert result.returncode == 0, result.stdout[-3000:]
    assert password not in result.stdout + result.stderr


def test_bad_input_stops_before_any_host_is_touched():
    result = run_playbook("migrate.yml", "-e", "migrate_dir=/nonexistent/migrations")
    assert result.returncode != 0
    assert "migrate_dir=/nonexistent/migrations (a directory of *.sql migration files" in " ".join(
        result.stdout.split())
    assert "PLAY [Migrate | learn the address of the database host]" not in result.stdout


# --- MariaDB (migrate_engine=mysql) ----------------------------------------------------

def test_mariadb_rollbacks_leave_the_schema_they_found():
    applied_schema = mariadb_schema()
    halfway = run_playbook("rollback-migration.yml", *ON_MARIADB, "-e", "migrate_rollback_to=0002_orders")
    assert halfway.returncode == 0, halfway.stdout[-3000:]
    output = " ".join((halfway.stdout + halfway.stderr).split())  # warnings go to stderr
    assert "Rolled back 2 migration(s) of app and verified the schema against the snapshot" in output
    assert "ALTER TABLE `accounts` RENAME COLUMN `signed_up_at` TO `created_at`" in output
    assert "ALTER TABLE `accounts` MODIFY COLUMN `display_name` varchar(80) NOT NULL" in output
    assert "DDL is not transactional" in output
    halfway_schema = mariadb_schema()
    whole = run_playbook("rollback-migration.yml", *ON_MARIADB, "-e", "migrate_rollback_steps=2")
    assert whole.returncode == 0, whole.stdout[-3000:]
    assert mariadb_schema() == [] and mariadb_applied() == []
    # Applied afresh up to 0002: the schema the first rollback left; then all of it again.
    fresh = run_playbook("migrate.yml", *ON_MARIADB, "-e", "migrate_target=0002_orders")
    assert fresh.returncode == 0, fresh.stdout[-3000:]
    assert mariadb_schema() == halfway_schema
    again = run_playbook("migrate.yml", *ON_MARIADB, "-v")
    assert again.returncode == 0, again.stdout[-3000:]
    assert mariadb_schema() == applied_schema
    assert mariadb_applied() == EXAMPLE
    password = (SECRETS / "mysql_app").read_text().strip()
    assert password not in again.stdout + again.stderr


def test_mariadb_refuses_an_irreversible_migration_and_a_changed_file(tmp_path):
    migrations = tmp_path / "migrations"
    shutil.copytree(PROJECT / "tests" / "migrations" / "mysql" / "irreversible", migrations)
    options = [*ON_MARIADB, "-e", f"migrate_dir={migrations}", "-e", "migrate_ledger_table=irreversible_drill"]
    try:
        applied = run_playbook("migrate.yml", *options)
        assert applied.returncode == 0, applied.stdout[-3000:]
        before = mariadb_schema()
        refused_to_undo_the_drop(run_playbook("rollback-migration.yml", *options), "`legacy_orders`", "mol-mig-mysql1")
        assert mariadb_schema() == before
        assert mariadb_ledger("irreversible_drill") == ["0001_base:0", "0002_drop_table:0"]
        # An applied migration edited afterwards: nothing runs until it is restored (or forced).
        with (migrations / "0001_base.sql").open("a") as edited:
            edited.write("ALTER TABLE customers ADD COLUMN nickname VARCHAR(40);\n")
        changed = run_playbook("migrate.yml", *options)
        output = " ".join(changed.stdout.split())
        assert changed.returncode != 0
        assert "Refusing to migrate: applied migration(s) changed since they were applied: 0001_base" in output
        assert mariadb_schema() == before
    finally:
        mariadb("DROP TABLE IF EXISTS legacy_orders, customers, irreversible_drill")
