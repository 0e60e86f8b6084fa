"""The MySQL half of the data tier on real containers: MariaDB primary and GTID
replica. Writes reach the replica, the replica refuses application writes, the
installation is secured, and the probe fails with its message (and smoke.yml
shows FAIL) against a stopped replica, which then catches up by GTID."""

import json
import os
import pathlib
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET

import pytest
import testinfra

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
PROJECT = pathlib.Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
SCENARIO = pathlib.Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])
SECRETS = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "secrets"
UNIT = "mariadb"
SOCKET = "/run/mysqld/mysqld.sock"


def host(name):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")


PRIMARY = host("mol-mysql1")
REPLICA = host("mol-mysql2")


def sql(target, query, database=""):
    """Run SQL as root through the socket (unix_socket authentication)."""
    return target.check_output("mariadb -N -B -e %s %s", query, database)


def as_app(target, server, query):
    """Run SQL as the application user over TCP, from target to server."""
    password = (SECRETS / "mysql_app").read_text().strip()
    return target.run("MYSQL_PWD=%s mariadb -N -B -h %s -u app app -e %s", password, server, query)


def replica_status(target=REPLICA):
    out = target.check_output("mariadb -e 'SHOW REPLICA STATUS\\G'")
    return {key.strip(): value.strip() for key, _, value in
            (line.partition(":") for line in out.splitlines()) if _}


def ansible_env():
    return dict(os.environ, BUNDLE_SECRETS_DIR=str(SECRETS), ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"),
                ANSIBLE_NOCOLOR="1")


def run_playbook(playbook, *args):
    return subprocess.run(["ansible-playbook", "-i", INVENTORY, str(playbook), *args],
                          cwd=PROJECT, env=ansible_env(), capture_output=True, text=True, timeout=600)


def probe(target_name, **args):
    """health_probe on a host, as the gates run it; returns (rc, result)."""
    # Not the project's ansible.cfg (nor its directory, which Ansible would read it from):
    # its timing callback would print ahead of the JSON.
    env = dict(ansible_env(), ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_COLLECTIONS_PATH=str(PROJECT / ".collections"),
               ANSIBLE_PYTHON_INTERPRETER="auto_silent")
    env.pop("ANSIBLE_CONFIG")
    completed = subprocess.run(["ansible", "-i", INVENTORY, target_name, "-m", "bundle.stack.health_probe",
                                "-a", json.dumps(dict(kind="mysql", login_unix_socket=SOCKET, **args))],
                               cwd=SCENARIO, env=env, capture_output=True, text=True, timeout=300)
    result = json.loads(completed.stdout)["plays"][0]["tasks"][0]["hosts"][target_name]
    return completed.returncode, result


def wait_for_row(token, seconds):
    written = time.monotonic()
    while sql(REPLICA, f"SELECT COUNT(*) FROM replication_drill WHERE token = '{token}'", "app") != "1":
        assert time.monotonic() - written < seconds, f"mol-mysql2 did not show the row within {seconds} s"
        time.sleep(0.1)


@pytest.fixture(scope="module", autouse=True)
def drill_table():
    sql(PRIMARY, "CREATE TABLE IF NOT EXISTS replication_drill (token CHAR(32) PRIMARY KEY)", "app")


def test_the_replica_follows_the_primary_by_gtid():
    status = replica_status()
    assert status["Slave_IO_Running"] == "Yes", status.get("Last_IO_Error")
    assert status["Slave_SQL_Running"] == "Yes", status.get("Last_SQL_Error")
    assert status["Using_Gtid"] == "Slave_Pos"
    assert status["Master_Host"] == "mol-mysql1"
    for target in (PRIMARY, REPLICA):
        assert sql(target, "SELECT @@gtid_strict_mode, @@log_bin, @@log_slave_updates") == "1\t1\t1"
    assert sql(PRIMARY, "SELECT @@server_id") != sql(REPLICA, "SELECT @@server_id")


def test_a_row_written_on_the_primary_is_read_on_the_replica_within_5s():
    token = uuid.uuid4().hex
    written = as_app(REPLICA, "mol-mysql1", f"INSERT INTO replication_drill VALUES ('{token}')")
    assert written.rc == 0, written.stderr
    wait_for_row(token, 5)
    # The same transaction, by GTID: the replica has applied what the primary logged.
    primary_pos = sql(PRIMARY, "SELECT @@gtid_binlog_pos")
    deadline = time.monotonic() + 5
    while sql(REPLICA, "SELECT @@gtid_slave_pos") != primary_pos:
        assert time.monotonic() < deadline, "gtid_slave_pos did not reach the primary's gtid_binlog_pos"
        time.sleep(0.1)


def test_the_replica_refuses_application_writes():
    assert sql(REPLICA, "SELECT @@read_only") == "1"
    refused = as_app(PRIMARY, "mol-mysql2", f"INSERT INTO replication_drill VALUES ('{uuid.uuid4().hex}')")
    assert refused.rc != 0
    assert "read-only" in refused.stderr
    # The same user writes on the primary: the refusal is the replica's, not a missing grant.
    assert as_app(REPLICA, "mol-mysql1", f"INSERT INTO replication_drill VALUES ('{uuid.uuid4().hex}')").rc == 0


@pytest.mark.parametrize("target", [PRIMARY, REPLICA], ids=["primary", "replica"])
def test_the_installation_is_secured(target):
    assert sql(target, "SELECT COUNT(*) FROM mysql.user WHERE user = ''") == "0"
    assert sql(target, "SELECT COUNT(*) FROM mysql.user WHERE user = 'root' "
                       "AND host NOT IN ('localhost', '127.0.0.1', '::1')") == "0"
    assert sql(target, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE schema_name = 'test'") == "0"
    assert sql(target, "SELECT COUNT(*) FROM mysql.db WHERE Db = 'test' OR Db LIKE 'test\\_%'") == "0"
    # root has no password: only the system root user gets in, through the socket.
    over_tcp = target.run("mariadb -h 127.0.0.1 -u root -e 'SELECT 1'")
    assert over_tcp.rc != 0 and "Host '127.0.0.1' is not allowed to connect" in over_tcp.stderr
    other_user = target.run("runuser -u nobody -- mariadb -u root -e 'SELECT 1'")
    assert other_user.rc != 0 and "Access denied" in other_user.stderr


@pytest.mark.parametrize("target", [PRIMARY, REPLICA], ids=["primary", "replica"])
def test_listens_on_loopback_and_its_own_address_only(target):
    address = target.ansible("setup", "filter=ansible_default_ipv4")["ansible_facts"]["ansible_default_ipv4"]["address"]
    listening = {line.split()[3] for line in target.check_output("ss -Htln").splitlines()}
    mysql_sockets = {entry for entry in listening if entry.endswith(":3306")}
    assert mysql_sockets == {"127.0.0.1:3306", f"{address}:3306"}


def test_monitor_user_reads_replication_state_and_nothing_else():
    password = (SECRETS / "mysql_monitor").read_text().strip()
    rc, result = probe("mol-mysql2", login_user="monitor", login_password=password, expect_role="replica",
                       max_lag_seconds=30, timeout=10)
    assert rc == 0, result["msg"]
    assert result["observed"]["using_gtid"] == "Slave_Pos"
    assert password not in json.dumps(result)
    denied = REPLICA.run("MYSQL_PWD=%s mariadb -u monitor app -e 'SELECT * FROM replication_drill'", password)
    assert denied.rc != 0 and "denied" in denied.stderr


def test_smoke_passes_on_a_healthy_pair():
    result = run_playbook(PROJECT / "playbooks" / "smoke.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 passed, 0 warned, 0 failed" in result.stdout


def test_probe_names_a_stopped_sql_thread():
    sql(REPLICA, "STOP REPLICA SQL_THREAD")
    try:
        rc, result = probe("mol-mysql2", unit=UNIT, expect_role="replica", timeout=0)
        assert rc != 0 and result["verdict"] == "fail"
        assert "expected role=replica, replica IO and SQL threads running, read_only=ON; " \
               "saw replica SQL thread No after 1 attempt" in result["msg"]
        assert result["observed"]["io_running"] == "Yes"
    finally:
        sql(REPLICA, "START REPLICA SQL_THREAD")


def test_probe_fails_with_its_message_against_a_stopped_replica():
    REPLICA.check_output("systemctl stop %s", UNIT)
    token = uuid.uuid4().hex
    try:
        result = run_playbook(PROJECT / "playbooks" / "smoke.yml", "-e", "smoke_probe_timeout=4")
        assert result.returncode != 0
        assert "mol-mysql2" in result.stdout and "FAIL" in result.stdout
        # The message names the service, what was expected, what was seen, the unit's state and its log.
        assert "mariadb on mol-mysql2 (mariadb): expected role=replica" in result.stdout
        assert "socket not found" in result.stdout
        assert "ActiveState=inactive" in result.stdout
        junit = ET.parse(PROJECT / "reports" / "smoke.xml").getroot()
        failed = {case.get("name") for case in junit.iter("testcase") if case.find("failure") is not None}
        assert any("mol-mysql2" in name for name in failed), failed
        # Written while the replica is down: it must arrive once the replica is back.
        sql(PRIMARY, f"INSERT INTO replication_drill VALUES ('{token}')", "app")
    finally:
        REPLICA.check_output("systemctl start %s", UNIT)
    wait_for_row(token, 30)
    deadline = time.monotonic() + 60
    while run_playbook(PROJECT / "playbooks" / "smoke.yml").returncode != 0:
        assert time.monotonic() < deadline, "mol-mysql2 did not pass smoke again within 60 s"
        time.sleep(2)


def test_an_unreachable_vendor_repository_stops_with_a_clear_message():
    # The repository URL is the container's own closed loopback port: no traffic leaves the host.
    before = REPLICA.check_output("ls /etc/apt/sources.list.d /etc/apt/keyrings")
    result = run_playbook(SCENARIO / "vendor_repository.yml")
    output = " ".join(result.stdout.split())
    assert result.returncode != 0
    assert ("mysql_flavor=mysql on mol-mysql2 installs from the MySQL vendor repository, but "
            "http://127.0.0.1:9/apt/debian/dists/bookworm/Release is unreachable from this host") in output
    assert "use mysql_flavor=mariadb (Debian's packages)" in output
    assert REPLICA.check_output("ls /etc/apt/sources.list.d /etc/apt/keyrings") == before
