"""Verified backups and restores on a real PostgreSQL primary, through the
playbooks an operator runs (backup.yml, restore.yml): a pgbench database is
verified, backed up, dropped and restored identical (row counts and an md5 of
every table's ordered rows); one changed byte makes the restore refuse and leaves the
target untouched; an existing database is only replaced on request, after a
safety backup; retention keeps exactly what it should, on the host and on
the copies; check mode changes nothing; a backup taken under write load
restores to exactly its manifest."""

import hashlib
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
HOST = testinfra.get_host(f"ansible://mol-backup-pg1?ansible_inventory={INVENTORY}")

# md5 of each table's rows in a fixed order: equal contents give equal lines.
CHECKSUMS = r"""
SELECT string_agg(format('%s %s %s', t.name, t.n, t.sum), ' | ' ORDER BY t.name) FROM (
  SELECT format('%I.%I', schemaname, tablename) AS name,
         (xpath('/row/n/text()', x))[1]::text AS n, (xpath('/row/m/text()', x))[1]::text AS sum
  FROM pg_tables, query_to_xml(format(
         'SELECT count(*) AS n, md5(coalesce(string_agg(r::text, E''\n'' ORDER BY r::text), '''')) AS m '
         'FROM %I.%I r', schemaname, tablename), false, true, '') AS x
  WHERE schemaname NOT IN ('pg_catalog', 'information_schema')) t
"""

EXTRA = r"""
CREATE TABLE IF NOT EXISTS odd_rows (id serial PRIMARY KEY, body text, data bytea, at timestamptz);
TRUNCATE odd_rows;
INSERT INTO odd_rows (body, data, at)
  SELECT CASE WHEN g % 5 = 0 THEN NULL ELSE format(E'row %s\nnew line, tab\t, quote '' and ünïcode', g) END,
         decode(md5(g::text), 'hex'), '2025-01-01'::timestamptz + g * interval '1 second'
  FROM generate_series(1, 2000) g;
ALTER TABLE odd_rows OWNER TO app;
"""


def psql(sql, database="postgres"):
    """SQL as the local superuser (root maps to postgres over the socket)."""
    return HOST.check_output("psql -X -A -t -v ON_ERROR_STOP=1 -U postgres -d %s -c %s", database, sql)


def databases():
    return set(psql("SELECT datname FROM pg_database").split())


def checksums(database="app"):
    return psql(CHECKSUMS, database)


def listing(directory):
    result = HOST.run("ls -A %s", directory)
    return sorted(result.stdout.split()) if result.rc == 0 else []


def manifest(path):
    return json.loads(HOST.check_output("cat %s/manifest.json", path))


def run_playbook(playbook, *args, check=False):
    env = dict(os.environ, BUNDLE_SECRETS_DIR=str(SECRETS), ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"),
               ANSIBLE_NOCOLOR="1")
    command = ["ansible-playbook", "-i", INVENTORY, str(PROJECT / "playbooks" / playbook), *args]
    if check:
        command += ["--check", "--diff"]
    return subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=900)


def backup(directory, *args, check=False):
    return run_playbook("backup.yml", "-e", f"backup_dir={directory}", "-e", '{"backup_engines": ["postgresql"]}',
                        *args, check=check)


def restore(directory, *args, check=False):
    return run_playbook("restore.yml", "-e", f"backup_dir={directory}", "-e", "restore_database=app", *args,
                        check=check)


def newest(directory):
    names = [n for n in listing(directory) if not n.endswith("-safety")]
    return max(names, key=lambda n: manifest(f"{directory}/{n}")["started_at"] + n)


def fresh_dir():
    return f"/var/backups/drill-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module", autouse=True)
def pgbench_database():
    """app, owned by app, initialised by pgbench (scale 2: 200000 accounts) plus
    a table of awkward values."""
    HOST.check_output("cd /tmp && runuser -u postgres -- pgbench -i -s 2 -q --foreign-keys app")
    psql("ALTER TABLE pgbench_accounts OWNER TO app; ALTER TABLE pgbench_branches OWNER TO app; "
         "ALTER TABLE pgbench_tellers OWNER TO app; ALTER TABLE pgbench_history OWNER TO app", "app")
    psql(EXTRA, "app")


def test_backed_up_dropped_and_restored_is_identical():
    directory = fresh_dir()
    before = checksums()
    result = backup(directory)
    assert result.returncode == 0, result.stdout[-4000:]
    name = newest(directory)
    # The report: one line for the database, with its backup and how long it took.
    assert "mol-backup-pg1 postgresql app" in result.stdout and name in result.stdout
    assert "files verified" in result.stdout
    assert "total " in result.stdout

    taken = manifest(f"{directory}/{name}")
    counts = {line.split()[0]: int(line.split()[1]) for line in before.split(" | ")}
    assert taken["row_counts"] == counts
    assert taken["row_counts"]["public.pgbench_accounts"] == 200000
    # Every checksum of the manifest, recomputed on the host by another tool.
    sums = HOST.check_output(f"cd {directory}/{name} && sha256sum {' '.join(sorted(taken['files']))}")
    assert {line.split()[1]: line.split()[0] for line in sums.splitlines()} == {
        path: entry["sha256"] for path, entry in taken["files"].items()}
    assert HOST.file(f"{directory}/{name}").mode == 0o700

    # Verify first: restored into a scratch database, compared, dropped; app untouched.
    present = databases()
    verified = restore(directory, "-e", "restore_mode=verify")
    assert verified.returncode == 0, verified.stdout[-4000:]
    assert f"verified app from {name}" in verified.stdout and "tables match the manifest" in verified.stdout
    assert databases() == present and checksums() == before

    psql("DROP DATABASE app WITH (FORCE)")
    assert "app" not in databases()
    result = restore(directory)
    assert result.returncode == 0, result.stdout[-4000:]
    assert f"restored app from {name}" in result.stdout
    assert checksums() == before
    assert psql("SELECT tableowner FROM pg_tables WHERE tablename = 'pgbench_accounts'", "app") == "app"
    # The restored database serves the application again.
    password = (SECRETS / "app").read_text().strip()
    bench = HOST.run("PGPASSWORD=%s pgbench -n -t 20 -c 2 -h 127.0.0.1 -U app app", password)
    assert bench.rc == 0, bench.stderr
    assert "number of transactions actually processed: 40/40" in bench.stdout


def test_one_changed_byte_is_refused_and_the_target_is_untouched():
    directory = fresh_dir()
    assert backup(directory).returncode == 0
    name = newest(directory)
    data = manifest(f"{directory}/{name}")["files"]
    victim = max((path for path in data if path.startswith("data/") and path.endswith(".gz")),
                 key=lambda path: data[path]["size"])
    HOST.check_output("python3 -c %s %s", "import sys; f = open(sys.argv[1], 'r+b'); f.seek(100); b = f.read(1); "
                      "f.seek(100); f.write(bytes([b[0] ^ 1])); f.close()", f"{directory}/{name}/{victim}")
    psql("INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, 1, 1, now())", "app")
    before, present = checksums(), databases()

    result = restore(directory, "-e", "restore_replace=true")
    assert result.returncode != 0
    output = " ".join(result.stdout.split())
    assert f"{victim} has SHA-256" in output, output[-3000:]
    assert "nothing was changed" in output
    assert checksums() == before
    assert databases() == present
    assert listing(directory) == [name], "no safety backup was taken of a target that was not touched"


def test_an_existing_database_is_refused_without_the_option_and_replaced_with_it():
    directory = fresh_dir()
    assert backup(directory).returncode == 0
    name = newest(directory)
    at_backup = checksums()
    psql("DELETE FROM pgbench_history; UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid < 100", "app")
    changed = checksums()
    assert changed != at_backup

    refused = restore(directory)
    assert refused.returncode != 0
    assert "target app exists; set replace=true to replace it" in " ".join(refused.stdout.split())
    assert checksums() == changed

    replaced = restore(directory, "-e", "restore_replace=true")
    assert replaced.returncode == 0, replaced.stdout[-4000:]
    assert f"replaced app from {name}" in replaced.stdout
    assert checksums() == at_backup
    safety = [n for n in listing(directory) if n.endswith("-safety")]
    assert len(safety) == 1
    kept = manifest(f"{directory}/{safety[0]}")
    assert kept["kind"] == "safety" and kept["row_counts"]["public.pgbench_history"] == 0
    assert not [d for d in databases() if "__" in d], "no scratch or replaced database is left"


def test_a_backup_under_write_load_restores_to_exactly_its_manifest():
    """pgbench writes while the backup runs; the counts come from the dump's
    snapshot, so the verification of that backup must still match exactly."""
    directory = fresh_dir()
    password = (SECRETS / "app").read_text().strip()
    HOST.check_output("rm -f /tmp/load.out; PGPASSWORD=%s nohup timeout 60 pgbench -n -T 8 -c 2 -h 127.0.0.1 "
                      "-U app app > /tmp/load.out 2>&1 &", password)
    try:
        result = backup(directory)
        assert result.returncode == 0, result.stdout[-4000:]
    finally:
        HOST.run("pkill -f 'pgbench -n -T 8'")
    verified = restore(directory, "-e", "restore_mode=verify")
    assert verified.returncode == 0, verified.stdout[-4000:]
    assert "tables match the manifest" in verified.stdout


def test_retention_keeps_exactly_the_newest_and_only_after_success():
    directory = fresh_dir()
    names = []
    for _ in range(3):
        result = backup(directory, "-e", "backup_keep_last=2")
        assert result.returncode == 0, result.stdout[-4000:]
        names.append(newest(directory))
    assert listing(directory) == sorted(names[-2:])

    # A failed backup removes nothing, even with the tightest retention.
    failed = backup(directory, "-e", '{"backup_postgres_databases": ["no_such_db"], "backup_keep_last": 1}')
    assert failed.returncode != 0
    assert "no_such_db" in failed.stdout and "FAILED" in failed.stdout
    assert listing(directory) == sorted(names[-2:])

    # By age: a backup that started three days ago goes with keep_days=1; the
    # count rule is off (0), so the two recent ones stay.
    old = names[-2]
    text = HOST.check_output("cat %s/%s/manifest.json", directory, old)
    aged = json.dumps(dict(json.loads(text), started_at="2000-01-01T00:00:00Z"), indent=2, sort_keys=True) + "\n"
    digest = hashlib.sha256(aged.encode()).hexdigest()
    HOST.check_output("printf '%%s' %s > %s/%s/manifest.json && printf '%%s  manifest.json\\n' %s > "
                      "%s/%s/manifest.json.sha256", aged, directory, old, digest, directory, old)
    result = backup(directory, "-e", "backup_keep_last=0", "-e", "backup_keep_days=1")
    assert result.returncode == 0, result.stdout[-4000:]
    assert f"removed {old}" in result.stdout
    assert listing(directory) == sorted([names[-1], newest(directory)])


def test_check_mode_changes_nothing():
    directory = fresh_dir()
    assert backup(directory).returncode == 0
    files, before, present = listing(directory), checksums(), databases()
    dry = backup(directory, "-e", "backup_keep_last=1", check=True)
    assert dry.returncode == 0, dry.stdout[-4000:]
    assert "would back up postgresql app to" in dry.stdout and "pg_dump" in dry.stdout
    assert "--format=directory" in dry.stdout
    assert f"and remove {files[0]}" in " ".join(dry.stdout.split()), "retention would remove the old one"
    dry = restore(directory, "-e", "restore_replace=true", check=True)
    assert dry.returncode == 0, dry.stdout[-4000:]
    assert "checksums of" in dry.stdout and "would replace app" in dry.stdout
    assert listing(directory) == files
    assert checksums() == before and databases() == present


def test_copies_go_to_the_control_node_and_the_backup_host_and_follow_retention(tmp_path):
    directory, copies = fresh_dir(), f"/srv/backup-copies-{uuid.uuid4().hex[:8]}"
    for _ in range(3):
        result = backup(directory, "-e", f"backup_controller_dir={tmp_path}", "-e", "backup_copy_host=mol-backup-pg1",
                        "-e", f"backup_copy_dir={copies}", "-e", "backup_keep_last=2")
        assert result.returncode == 0, result.stdout[-4000:]
    # The copies keep what the host keeps: the newest two, removed only after the new copy verified.
    kept = listing(directory)
    assert len(kept) == 2
    assert sorted(os.listdir(tmp_path / "mol-backup-pg1")) == kept
    assert listing(f"{copies}/mol-backup-pg1") == kept

    name = newest(directory)
    taken = manifest(f"{directory}/{name}")
    local = tmp_path / "mol-backup-pg1" / name
    assert oct((tmp_path / "mol-backup-pg1").stat().st_mode & 0o777) == "0o700"
    for path, entry in taken["files"].items():
        assert hashlib.sha256((local / path).read_bytes()).hexdigest() == entry["sha256"], path
    assert json.loads((local / "manifest.json").read_text()) == taken
    remote = HOST.check_output(f"cd {copies}/mol-backup-pg1/{name} && "
                               f"sha256sum {' '.join(sorted(taken['files']))}")
    assert {line.split()[1]: line.split()[0] for line in remote.splitlines()} == {
        path: entry["sha256"] for path, entry in taken["files"].items()}


def test_a_copy_cut_short_by_a_full_disk_leaves_no_partial_copy(tmp_path):
    """The control node's disk fills during the fetch: the run fails naming the copy, the
    partial copy is removed, and the backup on the host stays complete."""
    full = tmp_path / "full"
    full.mkdir()
    # Room for the small files of the backup, not for the table data.
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k,mode=0700", "tmpfs", str(full)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        directory = fresh_dir()
        result = backup(directory, "-e", f"backup_controller_dir={full}")
        assert result.returncode != 0, result.stdout[-4000:]
        text = " ".join(result.stdout.split())
        name = newest(directory)
        assert f"Copying {name} of mol-backup-pg1 to {full} on the control node failed" in text
        assert "The partial copy was removed" in text
        assert os.listdir(full / "mol-backup-pg1") == []
        # The backup on the host is whole: every file matches its manifest.
        taken = manifest(f"{directory}/{name}")
        remote = HOST.check_output(f"cd {directory}/{name} && sha256sum {' '.join(sorted(taken['files']))}")
        assert {line.split()[1]: line.split()[0] for line in remote.splitlines()} == {
            path: entry["sha256"] for path, entry in taken["files"].items()}
    finally:
        subprocess.run(["umount", str(full)], check=True)
