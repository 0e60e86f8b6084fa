"""The monitoring tier over every tier of the path (after test_app_path.py): every scrape
target up, services bound where they should be, least-privilege exporter accounts, every
panel query of every dashboard answering, validation that stops a bad rule before any
reload, Grafana's clear failure without a route to its repository, smoke naming a target
that is down, and the drill: a stopped PostgreSQL replica fires its alerts in Alertmanager
within the bound that the scrape interval and `for:` give, and they resolve once it is back.

MariaDB runs in this scenario for its exporter and dashboard (primary on mol-app-db1,
replica on mol-app-db2); the application itself uses PostgreSQL."""

import hashlib
import json
import time

import pytest
import redis
import yaml
from test_app_path import prometheus, wait_until

from bench import alert_latency
from tests.support import dashboards
from tests.support.app_scenario import ADDRESSES, APP_HOSTS, HOSTS, MONITOR, MONITOR_HOST, PROJECT, SECRETS
from tests.support.scenario import run_playbook

# Each exporter (Prometheus job) and the hosts it runs on, as the tier map places them.
EXPORTERS = {
    "node": sorted(HOSTS),
    "postgres": ["mol-app-db1", "mol-app-db2"],
    "pgbouncer": ["mol-app-db1"],
    "mysqld": ["mol-app-db1", "mol-app-db2"],
    "redis": ["mol-app-db2", *APP_HOSTS],
    "redis_sentinel": ["mol-app-db2", *APP_HOSTS],
}
PORTS = {"node": 9100, "postgres": 9187, "pgbouncer": 9127, "mysqld": 9104, "redis": 9121, "redis_sentinel": 9355}
# Many panel queries in one call on the monitoring host (Prometheus listens on its loopback).
QUERY = """
import json, sys, urllib.parse, urllib.request
out = {}
for expr in json.load(sys.stdin):
    url = "http://127.0.0.1:9090/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    answer = json.load(urllib.request.urlopen(url, timeout=10))
    out[expr] = answer["data"]["result"] if answer["status"] == "success" else answer
print(json.dumps(out))
"""
TARGETS = sorted([(job, name) for job, names in EXPORTERS.items() for name in names]
                 + [("prometheus", MONITOR_HOST), ("alertmanager", MONITOR_HOST)]
                 + [("app", name) for name in APP_HOSTS])


def test_every_scrape_target_is_up():
    targets = prometheus("/api/v1/targets", state="active")["activeTargets"]
    seen = sorted((t["labels"]["job"], t["labels"]["instance"], t["health"]) for t in targets)
    assert seen == [(job, instance, "up") for job, instance in TARGETS], \
        [(t["labels"], t["health"], t["lastError"]) for t in targets if t["health"] != "up"]


def test_rules_and_configuration_are_loaded():
    assert prometheus("/api/v1/status/runtimeinfo")["reloadConfigSuccess"] is True
    groups = {group["name"] for group in prometheus("/api/v1/rules")["groups"]}
    assert groups == {"targets", "postgresql", "pgbouncer", "redis", "mysql", "node", "app"}
    flags = prometheus("/api/v1/status/flags")
    assert flags["storage.tsdb.retention.time"] == "2d"
    assert flags["web.listen-address"] == "127.0.0.1:9090"


def test_services_listen_only_where_needed():
    listening = {str(s) for s in MONITOR.socket.get_listening_sockets()}
    own = ADDRESSES[MONITOR_HOST]
    assert "tcp://127.0.0.1:9090" in listening and "tcp://127.0.0.1:9093" in listening
    # Prometheus on loopback only; Alertmanager on the host's own address too, for the app hosts.
    assert f"tcp://{own}:9093" in listening, listening
    assert not any(s.endswith(":9090") and "127.0.0.1" not in s for s in listening), listening
    assert not any(s.endswith(":9093") and "127.0.0.1" not in s and own not in s for s in listening), listening
    assert not any(s.endswith(":9094") for s in listening), "Alertmanager's cluster port is open"
    for name in ("mol-app-db1", "mol-app-db2"):
        sockets = {str(s) for s in HOSTS[name].socket.get_listening_sockets()}
        for job in (job for job, names in EXPORTERS.items() if name in names):
            port = PORTS[job]
            assert f"tcp://{ADDRESSES[name]}:{port}" in sockets, (name, job, sockets)
            assert f"tcp://0.0.0.0:{port}" not in sockets and f"tcp://:::{port}" not in sockets, (name, job)


def test_exporter_credentials_are_readable_by_root_only():
    units = [("mol-app-db1", f"prometheus-{job}-exporter") for job in ("postgres", "pgbouncer", "mysqld")]
    units += [("mol-app-db2", f"prometheus-{job}-exporter") for job in ("redis", "redis-sentinel")]
    for name, unit in units:
        settings = HOSTS[name].file(f"/etc/default/{unit}")
        assert (settings.user, settings.group, settings.mode) == ("root", "root", 0o600), (name, unit)
        command = HOSTS[name].check_output("systemctl show -p ExecStart %s", unit)
        assert "PASS" not in command and "password" not in command.lower(), (name, unit)
    secret = (SECRETS / "postgres_exporter").read_text().strip()
    assert secret in HOSTS["mol-app-db1"].file("/etc/default/prometheus-postgres-exporter").content_string
    assert secret not in HOSTS["mol-app-db1"].check_output("journalctl -u prometheus-postgres-exporter --no-pager")


def test_postgres_exporter_role_has_pg_monitor_and_nothing_more():
    sql = ("SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolconnlimit, "
           "array_to_string(ARRAY(SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid "
           "WHERE m.member = r.oid ORDER BY 1), ',') FROM pg_roles r WHERE rolname = 'postgres_exporter'")
    row = HOSTS["mol-app-db1"].check_output("psql -X -A -t -U postgres -c %s", sql)
    assert row == "f|f|f|f|3|pg_monitor"


def test_the_sentinel_exporter_reads_as_the_monitor_user_and_is_refused_nothing():
    """Sentinel's monitor user may read (INFO, the SENTINEL state the exporter
    reads) and change nothing; Sentinel's ACL log, read as its admin, shows
    that the exporter never asked for more. Applications' sentinel-client
    still may not run INFO."""
    def sentinel(user, secret_name):
        password = (SECRETS / secret_name).read_text().strip()
        return redis.Redis(host=ADDRESSES["mol-app-db2"], port=26379, username=user, password=password,
                           socket_timeout=3, decode_responses=True)

    assert sentinel("sentinel-admin", "redis_sentinel_admin").acl_log() == []
    monitor = sentinel("monitor", "redis_monitor")
    assert monitor.info("server")["redis_mode"] == "sentinel"
    assert monitor.execute_command("SENTINEL", "CKQUORUM", "bundle").startswith("OK 3 usable Sentinels")
    for command in (["SENTINEL", "FAILOVER", "bundle"], ["SENTINEL", "SET", "bundle", "quorum", "1"],
                    ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "bundle"], ["ACL", "LIST"], ["PING"]):
        with pytest.raises(redis.exceptions.NoPermissionError):
            monitor.execute_command(*command)
    with pytest.raises(redis.exceptions.NoPermissionError):
        sentinel("sentinel-client", "redis_sentinel_client").info()


def test_every_dashboard_query_returns_data():
    """Each panel's query of every dashboard but the application's returns at least one
    series: this inventory has every data tier, with a replica and Sentinels, so no panel is
    left out. (The application's panels: test_app_path.py, after traffic that fills them.)"""
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


def probe_playbook(tmp_path, text, *args):
    path = tmp_path / "playbook.yml"
    path.write_text(text)
    result = run_playbook(path, *args)
    return result, " ".join(result.stdout.split())


def test_grafana_without_a_route_to_its_repository_fails_with_how_to_provide_the_deb(tmp_path):
    result, output = probe_playbook(tmp_path, """---
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
    assert result.returncode != 0
    assert f"Grafana's apt repository http://127.0.0.1:9/grafana is not reachable from {MONITOR_HOST}" in output
    assert "grafana_install_source: deb and grafana_deb_path" in output
    # Nothing was written: apt still works as before.
    assert not MONITOR.file("/etc/apt/sources.list.d/grafana.sources").exists
    assert not MONITOR.file("/etc/apt/keyrings/grafana.asc").exists


def test_a_rule_that_promtool_rejects_never_reaches_prometheus(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "broken.yml").write_text(
        "---\ngroups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: up ==\n")
    before = MONITOR.check_output("ls /etc/prometheus/rules")
    result, output = probe_playbook(tmp_path, f"""---
- name: Converge Prometheus with a broken rule file
  hosts: monitoring
  vars_files: [{PROJECT}/playbooks/vars/tiers.yml]
  roles:
    - bundle.stack.prometheus
""", "-e", f"prometheus_rules_source_dir={rules}")
    assert result.returncode != 0
    assert "promtool check rules" in output or "failed to validate" in output, output[-2000:]
    assert MONITOR.check_output("ls /etc/prometheus/rules") == before
    assert prometheus("/api/v1/status/runtimeinfo")["reloadConfigSuccess"] is True
    assert "broken" not in {group["name"] for group in prometheus("/api/v1/rules")["groups"]}


def test_smoke_names_a_scrape_target_that_is_down():
    """smoke.yml passing on the healthy path: test_app_path.py."""
    with_exporter_down = "mol-app-db1"
    HOSTS[with_exporter_down].check_output("systemctl stop prometheus-node-exporter")
    try:
        # Smoke reads what Prometheus last scraped: wait for the scrape that sees it down.
        query = f'up{{job="node", instance="{with_exporter_down}"}} == 0'
        wait_until(lambda: bool(prometheus("/api/v1/query", query=query)["result"]) or "still up", 30,
                   "Prometheus seeing the stopped exporter")
        failed = run_playbook(PROJECT / "playbooks" / "smoke.yml", "-e", "smoke_probe_timeout=20")
    finally:
        HOSTS[with_exporter_down].check_output("systemctl start prometheus-node-exporter")
    output = " ".join(failed.stdout.split())
    assert failed.returncode != 0
    assert f"prometheus targets ({len(TARGETS)} up expected) on {MONITOR_HOST}" in output, output[-3000:]
    assert f'"instance": "{with_exporter_down}", "job": "node"' in output, output[-3000:]
    wait_until(lambda: not prometheus("/api/v1/query", query=query)["result"] or "still down", 30,
               "the exporter scraped again")


def test_a_stopped_replica_fires_its_alerts_then_they_resolve():
    result = alert_latency.drill("molecule")
    for name, deadline in result["deadline_s"].items():
        assert name in result["fired_s"], f"{name} did not fire within {deadline} s: {result}"
        assert result["fired_s"][name] <= deadline
    assert set(result["resolved_s"]) == set(result["expected"]), f"not resolved within 120 s: {result}"
    # The replica streams again.
    deadline = time.monotonic() + 30
    sql = "SELECT state FROM pg_stat_replication"
    while HOSTS["mol-app-db1"].check_output("psql -X -A -t -U postgres -c %s", sql) != "streaming":
        assert time.monotonic() < deadline, "the replica does not stream again within 30 s"
        time.sleep(1)
