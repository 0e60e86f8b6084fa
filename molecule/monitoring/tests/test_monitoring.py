"""The monitoring tier on real containers, over every tier it watches
(PostgreSQL, PgBouncer, MariaDB, Redis and Sentinel, with replicas): every
scrape target up, services bound where they should be, least-privilege
exporter accounts, every panel query of every dashboard answering,
validation that stops a bad rule before any reload, Grafana's clear failure
without a route to its repository, and the drill: a stopped PostgreSQL
replica fires its alerts in Alertmanager within the bound that the scrape
interval and `for:` give, and they resolve once it is back."""

import hashlib
import json
import os
import pathlib
import subprocess
import time
import urllib.parse

import pytest
import redis
import testinfra
import yaml

from bench import alert_latency
from tests.support import dashboards

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
PROJECT = pathlib.Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
SECRETS = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "secrets"

HOSTS = ["mol-mon-db1", "mol-mon-db2", "mol-mon-pgbouncer1", "mol-mon1"]
DATABASE_HOSTS = ["mol-mon-db1", "mol-mon-db2"]
# Every exporter of a database host: node, postgres, redis, redis_sentinel, mysqld.
DATABASE_EXPORTERS = {"node": 9100, "postgres": 9187, "redis": 9121, "redis_sentinel": 9355, "mysqld": 9104}
QUERY = """
import json, sys, urllib.parse, urllib.request
out = {}
for expr in json.load(sys.stdin):
    url = "http://127.0.0.1:9090/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    answer = json.load(urllib.request.urlopen(url, timeout=10))
    out[expr] = answer["data"]["result"] if answer["status"] == "success" else answer
print(json.dumps(out))
"""


def host(name):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")


MONITOR = host("mol-mon1")


def api(path):
    return json.loads(MONITOR.check_output("python3 -c %s %s", alert_latency.FETCH, f"http://127.0.0.1:9090{path}"))


def run_playbook(playbook_text, *args):
    path = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "probe-playbook.yml"
    path.write_text(playbook_text)
    env = dict(os.environ, BUNDLE_SECRETS_DIR=str(SECRETS), ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"),
               ANSIBLE_NOCOLOR="1")
    return subprocess.run(["ansible-playbook", "-i", INVENTORY, str(path), *args],
                          cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600)


def test_every_scrape_target_is_up():
    targets = api("/api/v1/targets?state=active")["data"]["activeTargets"]
    seen = sorted((t["labels"]["job"], t["labels"]["instance"], t["health"]) for t in targets)
    expected = sorted([("prometheus", "mol-mon1"), ("alertmanager", "mol-mon1"), ("pgbouncer", "mol-mon-pgbouncer1"),
                       ("node", "mol-mon-pgbouncer1"), ("node", "mol-mon1")]
                      + [(job, name) for job in DATABASE_EXPORTERS for name in DATABASE_HOSTS])
    assert seen == [(job, instance, "up") for job, instance in expected], \
        [(t["labels"], t["health"], t["lastError"]) for t in targets if t["health"] != "up"]


def test_rules_and_configuration_are_loaded():
    assert api("/api/v1/status/runtimeinfo")["data"]["reloadConfigSuccess"] is True
    groups = {group["name"] for group in api("/api/v1/rules")["data"]["groups"]}
    assert groups == {"targets", "postgresql", "pgbouncer", "redis", "mysql", "node", "app"}
    flags = api("/api/v1/status/flags")["data"]
    assert flags["storage.tsdb.retention.time"] == "2d"
    assert flags["web.listen-address"] == "127.0.0.1:9090"


def test_services_listen_only_where_needed():
    listening = {str(s) for s in MONITOR.socket.get_listening_sockets()}
    own = MONITOR.interface("eth0").addresses[0]
    assert "tcp://127.0.0.1:9090" in listening and "tcp://127.0.0.1:9093" in listening
    # Prometheus on loopback only; Alertmanager on the host's own address too, for the app hosts.
    assert f"tcp://{own}:9093" in listening, listening
    assert not any(s.endswith(":9090") and "127.0.0.1" not in s for s in listening), listening
    assert not any(s.endswith(":9093") and "127.0.0.1" not in s and own not in s for s in listening), listening
    assert not any(s.endswith(":9094") for s in listening), "Alertmanager's cluster port is open"
    for name, ports in {"mol-mon-db1": DATABASE_EXPORTERS.values(), "mol-mon-pgbouncer1": [9100, 9127]}.items():
        target = host(name)
        address = target.interface("eth0").addresses[0]
        sockets = {str(s) for s in target.socket.get_listening_sockets()}
        for port in ports:
            assert f"tcp://{address}:{port}" in sockets, (name, port, sockets)
            assert f"tcp://0.0.0.0:{port}" not in sockets and f"tcp://:::{port}" not in sockets


def test_exporter_credentials_are_readable_by_root_only():
    units = [("mol-mon-db1", f"prometheus-{job}-exporter") for job in ("postgres", "redis", "redis-sentinel", "mysqld")]
    for name, unit in units + [("mol-mon-pgbouncer1", "prometheus-pgbouncer-exporter")]:
        settings = host(name).file(f"/etc/default/{unit}")
        assert (settings.user, settings.group, settings.mode) == ("root", "root", 0o600)
        command = host(name).check_output("systemctl show -p ExecStart %s", unit)
        assert "PASS" not in command and "password" not in command.lower()
    secret = (SECRETS / "postgres_exporter").read_text().strip()
    assert secret in host("mol-mon-db1").file("/etc/default/prometheus-postgres-exporter").content_string
    assert secret not in host("mol-mon-db1").check_output("journalctl -u prometheus-postgres-exporter --no-pager")


def test_postgres_exporter_role_has_pg_monitor_and_nothing_more():
    sql = ("SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolconnlimit, "
           "array_to_string(ARRAY(SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid "
           "WHERE m.member = r.oid ORDER BY 1), ',') FROM pg_roles r WHERE rolname = 'postgres_exporter'")
    row = host("mol-mon-db1").check_output("psql -X -A -t -U postgres -c %s", sql)
    assert row == "f|f|f|f|3|pg_monitor"


def test_the_sentinel_exporter_reads_as_the_monitor_user_and_is_refused_nothing():
    """Sentinel's monitor user may read (INFO, the SENTINEL state the exporter
    reads) and change nothing; Sentinel's ACL log, read as its admin, shows
    that the exporter never asked for more. Applications' sentinel-client
    still may not run INFO."""
    address = host("mol-mon-db1").interface("eth0").addresses[0]

    def sentinel(user, secret_name):
        password = (SECRETS / secret_name).read_text().strip()
        return redis.Redis(host=address, port=26379, username=user, password=password, socket_timeout=3,
                           decode_responses=True)

    assert sentinel("sentinel-admin", "redis_sentinel_admin").acl_log() == []
    monitor = sentinel("monitor", "redis_monitor")
    assert monitor.info("server")["redis_mode"] == "sentinel"
    assert monitor.execute_command("SENTINEL", "CKQUORUM", "bundle").startswith("OK 2 usable Sentinels")
    for command in (["SENTINEL", "FAILOVER", "bundle"], ["SENTINEL", "SET", "bundle", "quorum", "1"],
                    ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "bundle"], ["ACL", "LIST"], ["PING"]):
        with pytest.raises(redis.exceptions.NoPermissionError):
            monitor.execute_command(*command)
    with pytest.raises(redis.exceptions.NoPermissionError):
        sentinel("sentinel-client", "redis_sentinel_client").info()


def test_every_dashboard_query_returns_data():
    """Each panel's query of every dashboard but the application's, run against this
    Prometheus, returns at least one series: this inventory has every data tier, with a
    replica and Sentinels, so no panel is left out."""
    # The application's dashboard is checked by the scenario that runs the application (app).
    queries = [query for query in dashboards.panel_queries() if query[0] != "app.json"]
    assert {name for name, _, _, _ in queries} == set(dashboards.dashboard_files()) - {"app.json"}
    exprs = sorted({expr for _, _, _, expr in queries})
    answers = json.loads(MONITOR.check_output(f"echo %s | python3 -c '{QUERY}'", json.dumps(exprs)))
    empty = [(name, title, ref) for name, title, ref, expr in queries if not answers[expr]]
    assert not empty, f"queries that returned no series: {empty}"


def test_grafana_provisioning_is_written_from_the_repository():
    datasource = yaml.safe_load(MONITOR.file("/etc/grafana/provisioning/datasources/bundle.yml").content_string)
    wanted = {"uid": "prometheus", "type": "prometheus", "url": "http://127.0.0.1:9090"}
    assert wanted.items() <= datasource["datasources"][0].items()
    provider = yaml.safe_load(MONITOR.file("/etc/grafana/provisioning/dashboards/bundle.yml").content_string)
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    for name in dashboards.dashboard_files():
        local = hashlib.sha256((dashboards.DASHBOARDS / name).read_bytes()).hexdigest()
        assert MONITOR.file(f"/var/lib/grafana/dashboards/{name}").sha256sum == local, name
    # Source none: nothing installed, no grafana.ini with a password.
    assert not MONITOR.package("grafana").is_installed
    assert not MONITOR.file("/etc/grafana/grafana.ini").exists


def test_grafana_without_a_route_to_its_repository_fails_with_how_to_provide_the_deb():
    result = run_playbook("""---
- name: Install Grafana from a repository this host cannot reach
  hosts: monitoring
  gather_facts: false
  tasks:
    - name: Run the grafana role's install tasks
      ansible.builtin.include_role:
        name: bundle.stack.grafana
        tasks_from: install
""", "-e", "grafana_install_source=apt", "-e", "grafana_apt_repository_url=http://127.0.0.1:9/grafana",
                          "-e", "grafana_admin_password=not-the-default-1")
    output = " ".join(result.stdout.split())
    assert result.returncode != 0
    assert "Grafana's apt repository http://127.0.0.1:9/grafana is not reachable from mol-mon1" in output
    assert "grafana_install_source: deb and grafana_deb_path" in output
    # Nothing was written: apt still works as before.
    assert not MONITOR.file("/etc/apt/sources.list.d/grafana.sources").exists
    assert not MONITOR.file("/etc/apt/keyrings/grafana.asc").exists


def test_a_rule_that_promtool_rejects_never_reaches_prometheus(tmp_path):
    (tmp_path / "broken.yml").write_text(
        "---\ngroups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: up ==\n")
    before = MONITOR.check_output("ls /etc/prometheus/rules")
    result = run_playbook("""---
- name: Converge Prometheus with a broken rule file
  hosts: monitoring
  vars_files: [{PROJECT}/playbooks/vars/tiers.yml]
  roles:
    - bundle.stack.prometheus
""".replace("{PROJECT}", str(PROJECT)), "-e", f"prometheus_rules_source_dir={tmp_path}")
    output = " ".join(result.stdout.split())
    assert result.returncode != 0
    assert "promtool check rules" in output or "failed to validate" in output, output[-2000:]
    assert MONITOR.check_output("ls /etc/prometheus/rules") == before
    assert api("/api/v1/status/runtimeinfo")["data"]["reloadConfigSuccess"] is True
    assert "broken" not in {group["name"] for group in api("/api/v1/rules")["data"]["groups"]}


def smoke(*args):
    env = dict(os.environ, BUNDLE_SECRETS_DIR=str(SECRETS), ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"),
               ANSIBLE_NOCOLOR="1")
    return subprocess.run(["ansible-playbook", "-i", INVENTORY, str(PROJECT / "playbooks" / "smoke.yml"), *args],
                          cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600)


def test_smoke_checks_every_scrape_target_and_names_one_that_is_down():
    passed = smoke()
    assert passed.returncode == 0, passed.stdout[-3000:]
    assert "prometheus targets (15 up expected) on mol-mon1" in passed.stdout
    assert "0 failed" in passed.stdout
    exporter = host("mol-mon-pgbouncer1")
    exporter.check_output("systemctl stop prometheus-node-exporter")
    try:
        # Smoke reads what Prometheus last scraped: wait for the scrape that sees it down.
        query = urllib.parse.urlencode({"query": 'up{job="node", instance="mol-mon-pgbouncer1"} == 0'})
        deadline = time.monotonic() + 30
        while not api(f"/api/v1/query?{query}")["data"]["result"]:
            assert time.monotonic() < deadline, "Prometheus did not see the stopped exporter within 30 s"
            time.sleep(1)
        failed = smoke("-e", "smoke_probe_timeout=20")
    finally:
        exporter.check_output("systemctl start prometheus-node-exporter")
    output = " ".join(failed.stdout.split())
    assert failed.returncode != 0
    assert '"instance": "mol-mon-pgbouncer1", "job": "node"' in output, output[-3000:]


def test_a_stopped_replica_fires_its_alerts_then_they_resolve():
    result = alert_latency.drill("molecule")
    for name, deadline in result["deadline_s"].items():
        assert name in result["fired_s"], f"{name} did not fire within {deadline} s: {result}"
        assert result["fired_s"][name] <= deadline
    assert set(result["resolved_s"]) == set(result["expected"]), f"not resolved within 120 s: {result}"
    # The replica streams again.
    assert host("mol-mon-db1").check_output(
        "psql -X -A -t -U postgres -c %s", "SELECT state FROM pg_stat_replication") == "streaming"
