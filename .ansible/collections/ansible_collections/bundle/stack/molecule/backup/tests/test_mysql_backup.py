"""Verified backups and restores of a real MariaDB primary through backup.yml
and restore.yml: a database with awkward values, a view, a trigger and a
procedure is backed up, dropped and restored identical (row counts and
CHECKSUM TABLE of every table, the routines back); one changed byte is refused
with the target untouched; an existing database is only replaced on request,
after a safety backup; verify loads into a scratch database and drops it."""

import json
import os
import pathlib
import subprocess
import uuid

import pytest
import testinfra

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
PROJECT = pathlib.Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
SECRETS = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "secrets"
HOST = testinfra.get_host(f"ansible://mol-backup-mysql1?ansible_inventory={INVENTORY}")

SETUP = r"""
DROP TABLE IF EXISTS items, audit, empty_table;
DROP VIEW IF EXISTS recent;
DROP PROCEDURE IF EXISTS add_item;
CREATE TABLE items (id INT PRIMARY KEY AUTO_INCREMENT, body TEXT, data BLOB, price DECIMAL(10,2), at DATETIME);
CREATE TABLE audit (item INT, note VARCHAR(50));
CREATE TABLE empty_table (id INT);
INSERT INTO items (body, data, price, at)
  SELECT IF(seq % 7 = 0, NULL, CONCAT('row ', seq, '\n quote '' back\\slash ),( and ünïcode')),
         UNHEX(MD5(seq)), seq / 3, '2025-01-01' + INTERVAL seq SECOND FROM seq_1_to_3000;
INSERT INTO audit SELECT seq % 100, 'note' FROM seq_1_to_700;
CREATE VIEW recent AS SELECT id, body FROM items WHERE id > 2990;
CREATE TRIGGER items_audit AFTER INSERT ON items FOR EACH ROW INSERT INTO audit VALUES (NEW.id, 'trigger');
CREATE PROCEDURE add_item(IN b TEXT) INSERT INTO items (body) VALUES (b);
"""


def sql(statement, database="app"):
    return HOST.check_output("mariadb --batch --skip-column-names --database=%s --execute=%s", database, statement)


def databases():
    return set(sql("SHOW DATABASES", "mysql").split())


def checksums(database="app"):
    """count and CHECKSUM TABLE of every base table, and the routines and views there."""
    tables = sql("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' "
                 f"AND TABLE_SCHEMA = '{database}' ORDER BY 1", database).split()
    lines = [sql(f"SELECT '{t}', COUNT(*) FROM `{t}`", database) for t in tables]
    lines.append(sql(f"CHECKSUM TABLE {', '.join(f'`{t}`' for t in tables)} EXTENDED", database).replace(
        f"{database}.", ""))
    lines.append(sql("SELECT GROUP_CONCAT(CONCAT(ROUTINE_TYPE, ' ', ROUTINE_NAME)) FROM information_schema.ROUTINES "
                     f"WHERE ROUTINE_SCHEMA = '{database}'", database))
    lines.append(sql("SELECT GROUP_CONCAT(TRIGGER_NAME) FROM information_schema.TRIGGERS "
                     f"WHERE TRIGGER_SCHEMA = '{database}'", database))
    lines.append(sql(f"SELECT GROUP_CONCAT(TABLE_NAME) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = "
                     f"'{database}'", database))
    return "\n".join(lines)


def listing(directory):
    result = HOST.run("ls -A %s", directory)
    return sorted(result.stdout.split()) if result.rc == 0 else []


def manifest(path):
    return json.loads(HOST.check_output("cat %s/manifest.json", path))


def run_playbook(playbook, *args):
    env = dict(os.environ, BUNDLE_SECRETS_DIR=str(SECRETS), ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"),
               ANSIBLE_NOCOLOR="1")
    command = ["ansible-playbook", "-i", INVENTORY, str(PROJECT / "playbooks" / playbook), *args]
    return subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=900)


def backup(directory, *args):
    return run_playbook("backup.yml", "-e", f"backup_dir={directory}", "-e", '{"backup_engines": ["mysql"]}', *args)


def restore(directory, *args):
    return run_playbook("restore.yml", "-e", f"backup_dir={directory}", "-e", "restore_engine=mysql",
                        "-e", "restore_database=app", *args)


def fresh_dir():
    return f"/var/backups/mysql-drill-{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
def app_database():
    """app (created by the mysql role) with known contents before each test."""
    sql("CREATE DATABASE IF NOT EXISTS app", "mysql")
    sql(SETUP)


def test_backed_up_dropped_and_restored_is_identical():
    directory = fresh_dir()
    before = checksums()
    result = backup(directory)
    assert result.returncode == 0, result.stdout[-4000:]
    [name] = listing(directory)
    assert "mol-backup-mysql1 mysql    app" in result.stdout and name in result.stdout
    taken = manifest(f"{directory}/{name}")
    assert taken["row_counts"] == {"audit": 700, "empty_table": 0, "items": 3000}
    sums = HOST.check_output(f"cd {directory}/{name} && sha256sum {' '.join(sorted(taken['files']))}")
    assert {line.split()[1]: line.split()[0] for line in sums.splitlines()} == {
        path: entry["sha256"] for path, entry in taken["files"].items()}

    # Verify first: loaded into a scratch database, compared, dropped; app untouched.
    present = databases()
    verified = restore(directory, "-e", "restore_mode=verify")
    assert verified.returncode == 0, verified.stdout[-4000:]
    assert f"verified app from {name}" in verified.stdout
    assert databases() == present and checksums() == before

    sql("DROP DATABASE app", "mysql")
    assert "app" not in databases()
    result = restore(directory)
    assert result.returncode == 0, result.stdout[-4000:]
    assert f"restored app from {name}" in result.stdout
    assert checksums() == before
    # The trigger works in the restored database.
    sql("CALL add_item('after restore')")
    assert sql("SELECT COUNT(*) FROM audit WHERE note = 'trigger'") == "1"


def test_one_changed_byte_is_refused_and_the_target_is_untouched():
    directory = fresh_dir()
    assert backup(directory).returncode == 0
    [name] = listing(directory)
    HOST.check_output("python3 -c %s %s", "import sys; f = open(sys.argv[1], 'r+b'); f.seek(2000); b = f.read(1); "
                      "f.seek(2000); f.write(bytes([b[0] ^ 1])); f.close()", f"{directory}/{name}/dump.sql")
    sql("INSERT INTO audit VALUES (1, 'after the backup')")
    before, present = checksums(), databases()
    result = restore(directory, "-e", "restore_replace=true")
    assert result.returncode != 0
    output = " ".join(result.stdout.split())
    assert "dump.sql has SHA-256" in output and "nothing was changed" in output, output[-3000:]
    assert checksums() == before and databases() == present
    assert listing(directory) == [name]


def test_an_existing_database_is_refused_without_the_option_and_replaced_with_it():
    directory = fresh_dir()
    assert backup(directory).returncode == 0
    [name] = listing(directory)
    at_backup = checksums()
    sql("DELETE FROM audit; UPDATE items SET price = price + 1 WHERE id < 10")
    changed = checksums()
    refused = restore(directory)
    assert refused.returncode != 0
    assert "target app exists; set replace=true" in " ".join(refused.stdout.split())
    assert checksums() == changed

    replaced = restore(directory, "-e", "restore_replace=true")
    assert replaced.returncode == 0, replaced.stdout[-4000:]
    assert checksums() == at_backup
    [safety] = [n for n in listing(directory) if n.endswith("-safety")]
    assert manifest(f"{directory}/{safety}")["row_counts"]["audit"] == 0
