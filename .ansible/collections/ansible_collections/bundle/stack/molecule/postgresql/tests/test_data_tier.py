"""The data and pooling tiers on real containers: replication streams, writes
reach every replica, PgBouncer caps server connections, and a stopped replica
makes the probes fail with the service, its state and its log lines."""

import os
import pathlib
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET

import testinfra

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
PROJECT = pathlib.Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
SECRETS = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "secrets"
UNIT = "postgresql@15-main"


def host(name):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")


PRIMARY = host("mol-pg1")
REPLICAS = {"mol-pg2": host("mol-pg2"), "mol-pg3": host("mol-pg3")}
POOLER_ADDRESS = "mol-pgbouncer1"


def psql(target, sql, database="postgres"):
    """Run SQL as the local superuser (root maps to postgres over the socket)."""
    return target.check_output("psql -X -A -t -U postgres -d %s -c %s", database, sql)


def run_playbook(playbook, *args):
    env = dict(os.environ, BUNDLE_SECRETS_DIR=str(SECRETS), ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"))
    return subprocess.run(
        ["ansible-playbook", "-i", INVENTORY, str(PROJECT / "playbooks" / playbook), *args],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600,
    )


def test_every_replica_streams_from_the_primary():
    rows = psql(PRIMARY, "SELECT application_name || ':' || state FROM pg_stat_replication").split()
    assert sorted(rows) == ["mol_pg2:streaming", "mol_pg3:streaming"]


def test_a_row_written_on_the_primary_is_read_on_every_replica_within_5s():
    token = uuid.uuid4().hex
    psql(PRIMARY, "CREATE TABLE IF NOT EXISTS replication_drill (token text PRIMARY KEY)", "app")
    psql(PRIMARY, f"INSERT INTO replication_drill VALUES ('{token}')", "app")
    written = time.monotonic()
    for name, replica in REPLICAS.items():
        while psql(replica, f"SELECT count(*) FROM replication_drill WHERE token = '{token}'", "app") != "1":
            assert time.monotonic() - written < 5, f"{name} did not show the row within 5 s"
            time.sleep(0.1)


def test_replicas_are_read_only():
    for replica in REPLICAS.values():
        result = replica.run("psql -X -U postgres -d app -c %s", "CREATE TABLE must_fail (id int)")
        assert result.rc != 0
        assert "read-only transaction" in result.stderr


def test_pgbench_with_200_clients_through_pgbouncer_stays_within_the_pool_limit():
    password = (SECRETS / "app").read_text().strip()
    pool_limit = int(host("mol-pgbouncer1").check_output(
        "sed -n 's/^max_db_connections = //p' /etc/pgbouncer/pgbouncer.ini"))
    client = REPLICAS["mol-pg3"]
    init = PRIMARY.run("PGPASSWORD=%s pgbench -i -s 1 -q -h 127.0.0.1 -U app app", password)
    assert init.rc == 0, init.stderr
    # Sample the primary's server connections from the pooler while the load
    # runs: a bounded loop (at most 600 samples, 0.1 s apart) in the background.
    sampler = (
        "for i in $(seq 600); do psql -X -A -t -U postgres -c "
        "\"SELECT count(*) FROM pg_stat_activity WHERE usename = 'app' AND client_addr IS NOT NULL"
        " AND client_addr <> '127.0.0.1'\" >> /tmp/pool-samples; sleep 0.1; done"
    )
    PRIMARY.check_output("rm -f /tmp/pool-samples; nohup sh -c %s >/dev/null 2>&1 &", sampler)
    bench = client.run(
        "PGPASSWORD=%s timeout 300 pgbench -n -c 200 -j 2 -t 25 -h %s -p 6432 -U app app",
        password, POOLER_ADDRESS,
    )
    PRIMARY.run("pkill -f pool-samples")
    assert bench.rc == 0, bench.stdout + bench.stderr
    assert "number of transactions actually processed: 5000/5000" in bench.stdout
    samples = [int(line) for line in PRIMARY.check_output("cat /tmp/pool-samples").split()]
    assert samples, "no connection samples were taken"
    assert max(samples) <= pool_limit, f"server connections peaked at {max(samples)} > {pool_limit}"
    assert max(samples) > 1, "the load never reached the server through the pool"


def test_smoke_passes_on_a_healthy_cluster():
    result = run_playbook("smoke.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "4 passed, 0 warned, 0 failed" in result.stdout


def test_probe_fails_with_its_message_against_a_stopped_replica():
    replica = REPLICAS["mol-pg2"]
    replica.check_output("systemctl stop %s", UNIT)
    try:
        result = run_playbook("smoke.yml", "-e", "smoke_probe_timeout=4")
        assert result.returncode != 0
        assert "mol-pg2" in result.stdout and "FAIL" in result.stdout
        # The message names the service, its state and its last log lines.
        assert f"Unit {UNIT}" in result.stdout or UNIT in result.stdout
        assert "ActiveState=inactive" in result.stdout
        junit = ET.parse(PROJECT / "reports" / "smoke.xml").getroot()
        failed = {case.get("name") for case in junit.iter("testcase") if case.find("failure") is not None}
        assert any("mol-pg2" in name for name in failed), failed
    finally:
        replica.check_output("systemctl start %s", UNIT)
    # Back in the cluster: the smoke check passes again once it streams, with nothing
    # written on the primary meanwhile (an idle primary's restarted replica has lag 0).
    deadline = time.monotonic() + 60
    while run_playbook("smoke.yml").returncode != 0:
        assert time.monotonic() < deadline, "mol-pg2 did not rejoin within 60 s"
        time.sleep(2)
