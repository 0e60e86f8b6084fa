"""Schema migrations on a real PostgreSQL converged by the postgresql role, driven
through the shipped playbooks from the control node: the example set is applied
(converge), previewed, rolled back to a schema identical to a database that never
saw a migration, re-applied; an irreversible migration is refused with the backup
it was taken before; a bad input stops before any host is touched."""

import os
import pathlib
import shutil
import subprocess
import uuid

import testinfra

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
PROJECT = pathlib.Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
EPHEMERAL = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
SECRETS = EPHEMERAL / "secrets"
EXAMPLE = ["0001_accounts", "0002_orders", "0003_order_notes", "0004_account_names"]
HOST = testinfra.get_host(f"ansible://mol-mig-pg1?ansible_inventory={INVENTORY}")


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


def new_database():
    """An empty database to compare with (created by postgres; the app user never connects to it)."""
    name = "pristine_" + uuid.uuid4().hex[:8]
    psql(f"CREATE DATABASE {name} OWNER app TEMPLATE template0", "postgres")
    return name


def test_converge_applied_the_example_set_and_recorded_the_backup():
    assert applied() == EXAMPLE
    backup = psql("SELECT backup FROM bundle_migration_ledger WHERE rolled_back_at IS NULL LIMIT 1")
    assert backup.startswith("mol-mig-pg1:/var/backups/bundle/migrate-app-")
    path = backup.split(":", 1)[1]
    assert HOST.file(f"{path}/manifest.json").exists
    assert HOST.file(path).mode == 0o700


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
        result = run_playbook("rollback-migration.yml", *options)
        output = " ".join(result.stdout.split())
        assert result.returncode != 0
        assert "Refusing to roll back 0002_drop_table: it destroyed data" in output
        assert "statement 1 `DROP TABLE legacy_orders` drops table legacy_orders and every row in it" in output
        assert "The way back is the backup taken right before it was applied: mol-mig-pg1:/var/backups/bundle/" \
               "migrate-app-" in output
        # Refused while planning: no backup was taken for it and nothing changed.
        assert "PLAY [Rollback | back up the database before it changes]" not in result.stdout
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
