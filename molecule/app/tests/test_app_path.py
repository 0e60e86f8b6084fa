"""The application's whole path on real containers: nginx -> two backends -> PgBouncer ->
PostgreSQL (reads from the replica), Redis through Sentinel, a worker per app host.

Every endpoint of the health contract answers through the proxy; drills stop the
PostgreSQL primary, the replica, a worker and freeze the Redis master, each checking
what the application reports while it is broken, and each undoing what it broke
before the next test runs. Requests go from the control node to the scenario's
containers only, in bounded loops."""

import contextlib
import json
import re
import subprocess
import time
import urllib.parse
import xml.etree.ElementTree as ET

import pytest
import requests

from bench.alert_latency import FETCH
from tests.support import browser, dashboards
from tests.support.app_scenario import (
    ADDRESSES,
    APP_HOSTS,
    BACKENDS,
    HOSTS,
    MONITOR,
    PROJECT,
    PROXY,
    SCENARIO,
    SECRETS,
    VERSION,
    get,
)
from tests.support.scenario import run_playbook

POSTGRES_UNIT = "postgresql@15-main"


def wait_until(condition, seconds, what):
    """Poll condition() every 0.5 s for at most `seconds`; fail naming `what` and the last answer."""
    deadline, last = time.monotonic() + seconds, None
    while time.monotonic() < deadline:
        try:
            last = condition()
            if last is True:
                return
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.5)
    pytest.fail(f"{what} not within {seconds} s (last: {last})")


@contextlib.contextmanager
def stopped(name, unit):
    """unit stopped on host name for the block, started again however the block ends."""
    HOSTS[name].check_output(f"systemctl stop {unit}")
    try:
        yield
    finally:
        HOSTS[name].check_output(f"systemctl start {unit}")


def ready_everywhere():
    answers = {url: get(f"{url}/ready") for url in [PROXY, *BACKENDS.values()]}
    return True if all(code == 200 for code, _ in answers.values()) else answers


def metric(text, name, **labels):
    """The sum of a counter's samples whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{key}="{value}"' in line for key, value in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


# --- what the converge left ---

def test_release_is_installed_in_its_own_directory_and_current_points_at_it():
    for name in APP_HOSTS:
        target = HOSTS[name]
        release = f"/opt/refapp/releases/{VERSION}"
        assert target.file("/opt/refapp/current").linked_to == release
        assert (target.file(release).user, target.file(release).mode) == ("root", 0o755)
        assert target.check_output(f"{release}/venv/bin/refapp-backend --version") == f"refapp-backend {VERSION}"
        # Code is root's: the application's user cannot rewrite its release.
        assert target.run(f"runuser -u refapp -- touch {release}/venv/bin/refapp-backend").rc != 0


def test_units_run_as_their_own_user_with_restart_limits_and_hardening():
    wanted = {"User": "refapp", "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
              "PrivateTmp": "yes", "CapabilityBoundingSet": "", "StartLimitBurst": "5",
              "StartLimitIntervalUSec": "5min", "Restart": "on-failure"}
    for name in APP_HOSTS:
        for unit in ("refapp-backend", "refapp-frontend", "refapp-worker@default"):
            service = HOSTS[name].service(unit)
            assert service.is_running and service.is_enabled, (name, unit)
            shown = HOSTS[name].check_output(f"systemctl show {unit} " + " ".join(f"-p {key}" for key in wanted))
            props = dict(line.split("=", 1) for line in shown.splitlines())
            assert props == wanted, (name, unit, props)


def test_secrets_are_files_only_the_application_reads_never_in_the_environment():
    password = (SECRETS / "app").read_text().strip()
    for name in APP_HOSTS:
        target = HOSTS[name]
        env = target.file("/etc/refapp/refapp.env")
        assert (env.user, env.group, env.mode) == ("root", "refapp", 0o640)
        assert password not in env.content_string
        assert "REFAPP_DB_PASSWORD_FILE=/etc/refapp/secrets/db_password" in env.content_string
        secret = target.file("/etc/refapp/secrets/db_password")
        assert (secret.user, secret.mode) == ("refapp", 0o600)
        assert secret.content_string.strip() == password


def test_the_dsn_comes_from_the_inventory():
    env = HOSTS["mol-app1"].file("/etc/refapp/refapp.env").content_string
    settings = dict(line.split("=", 1) for line in env.splitlines() if line and not line.startswith("#"))
    assert settings["REFAPP_DB_ENGINE"] == "postgresql"
    assert (settings["REFAPP_DB_HOST"], settings["REFAPP_DB_PORT"]) == ("mol-app-db1", "6432")
    assert settings["REFAPP_DB_READ_HOSTS"] == "mol-app-db2:5432"
    assert settings["REFAPP_REDIS_SENTINELS"] == "mol-app-db2:26379,mol-app1:26379,mol-app2:26379"
    assert settings["REFAPP_WORKER_URLS"] == "default=http://mol-app1:9000,default=http://mol-app2:9000"


def test_services_listen_on_the_addresses_they_need():
    for name in APP_HOSTS:
        listening = set(HOSTS[name].check_output(
            "ss -Hltn '( sport = :8000 or sport = :3000 or sport = :9000 )' | awk '{print $4}'").split())
        assert listening == {f"{ADDRESSES[name]}:{port}" for port in (8000, 3000, 9000)}, (name, listening)
    listening = set(HOSTS["mol-app-proxy1"].check_output("ss -Hltn '( sport = :80 )' | awk '{print $4}'").split())
    assert listening == {"127.0.0.1:80", f"{ADDRESSES['mol-app-proxy1']}:80"}


# --- the health contract through nginx ---

ENDPOINTS = {
    "/health": lambda body: "uptimeSeconds" in body,
    "/healthz": lambda body: "uptimeSeconds" in body,
    "/ready": lambda body: body["checks"] == {"database": "connected", "cache": "connected",
                                              "migrations": "up-to-date"},
    "/api/health/db": lambda body: body["database"] == "connected" and body["latencyMs"] >= 0,
    "/api/health/cache": lambda body: body["cache"] == "connected" and body["masterName"] == "bundle",
    "/api/health/queues": lambda body: set(body["queues"]["default"]) >= {"status", "waiting", "active"},
    "/api/health/schema": lambda body: {"items", "job_results"} <= set(body["tables"])
    and body["count"] == len(body["tables"]),
    "/api/health/migrations": lambda body: body["migrations"] == "up-to-date" and body["applied"],
    "/api/version": lambda body: body["version"] == VERSION and body["environment"] == "lab"
    and body["python"].startswith("3.11"),
    # From Alertmanager on the monitoring host (the inventory has one), not the app's own view.
    "/api/health/alerts": lambda body: body["source"] == "alertmanager"
    and all(isinstance(body[s], list) for s in ("critical", "warning", "info")),
    "/api/health/workers/default": lambda body: len(body["instances"]) == 2 and "jobsProcessed" in body,
}


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_endpoint_answers_through_the_proxy(path):
    code, body = get(PROXY + path)
    assert code == 200, (path, body)
    assert body["status"] == "ok" and re.match(r"^\d{4}-\d\d-\d\dT.*Z$", body["timestamp"]), body
    assert ENDPOINTS[path](body), (path, body)


def test_metrics_and_the_status_page_through_the_proxy():
    response = requests.get(f"{PROXY}/metrics", timeout=5)
    assert response.status_code == 200
    assert "http_requests_total{" in response.text and "http_request_duration_seconds_bucket{" in response.text
    page = requests.get(f"{PROXY}/", timeout=5)
    assert page.status_code == 200 and "<html" in page.text.lower()


def test_requests_reach_both_backends_and_the_log_has_upstream_timing():
    for _ in range(20):
        assert get(f"{PROXY}/health")[0] == 200
    log = HOSTS["mol-app-proxy1"].check_output("tail -n 20 /var/log/nginx/access.log")
    upstreams = set(re.findall(r"upstream=(\S+):8000", log))
    assert upstreams == {ADDRESSES[name] for name in APP_HOSTS}, log
    assert re.search(r"rt=[0-9.]+ upstream=\S+ us=200 uct=[0-9.]+ uht=[0-9.]+ urt=[0-9.]+", log), log


def test_a_job_is_taken_by_a_worker():
    before = get(f"{PROXY}/api/health/workers/default")[1]["jobsProcessed"]
    response = requests.post(f"{PROXY}/api/jobs", json={"queue": "default", "payload": {"drill": True}}, timeout=5)
    assert response.status_code == 202, response.text
    wait_until(lambda: get(f"{PROXY}/api/health/workers/default")[1]["jobsProcessed"] > before or "waiting",
               20, "a worker finishing the job")


# --- the status page, in a real browser ---

TIERS = ["data", "pooling", "cache", "app", "worker", "monitoring"]


def status_page(screenshot_name):
    """What the status page through the proxy shows a person once its scripts have run: each
    tier's state, the release version; a screenshot kept under reports/."""
    reports = PROJECT / "reports"
    reports.mkdir(exist_ok=True)
    browser.screenshot(f"{PROXY}/", reports / screenshot_name)
    elements = browser.elements_by_id(browser.dom(f"{PROXY}/"))
    return ({tier: elements[f"tier-{tier}"]["data-state"] for tier in TIERS},
            elements["release-version"]["data-version"], elements["last-refresh"]["data-refreshed-at"], elements)


def test_the_status_page_shows_every_tier_healthy_then_names_the_stopped_database():
    states, version, refreshed, _ = status_page("status-page-healthy.png")
    assert states == {tier: "ok" for tier in TIERS}, states
    assert version == VERSION and refreshed, (version, refreshed)
    with stopped("mol-app-db1", POSTGRES_UNIT):
        wait_until(lambda: get(f"{PROXY}/api/health/db")[0] == 503 or "still 200", 15, "/api/health/db 503")
        states, _, _, elements = status_page("status-page-database-stopped.png")
    assert states["data"] == "fail" and states["app"] == "fail", states
    assert "database" in elements["tier-app"]["text"], elements["tier-app"]["text"]
    assert states["cache"] == "ok" and states["pooling"] == "ok", states
    wait_until(ready_everywhere, 30, "every backend ready again")


# --- drills: each restores what it broke ---

def test_stopped_primary_gives_503_naming_the_database_while_liveness_stays_200():
    with stopped("mol-app-db1", POSTGRES_UNIT):
        wait_until(lambda: get(f"{PROXY}/api/health/db")[0] == 503 or "still 200", 15, "/api/health/db 503")
        for url in BACKENDS.values():
            code, body = get(f"{url}/api/health/db")
            assert code == 503 and body["failing"] == ["database"] and body["status"] != "ok", body
            code, body = get(f"{url}/ready")
            assert code == 503 and "database" in body["failing"] and "cache" not in body["failing"], body
            code, body = get(f"{url}/health")
            assert code == 200 and body["status"] == "ok", body
        assert get(f"{PROXY}/health")[0] == 200
    wait_until(ready_everywhere, 30, "every backend ready again")


def test_stopped_replica_moves_reads_to_the_primary_with_no_failed_request():
    def primary_reads():
        return sum(metric(requests.get(f"{url}/metrics", timeout=5).text, "refapp_db_reads_total", target="primary")
                   for url in BACKENDS.values())

    wait_until(lambda: get(f"{PROXY}/api/items")[1]["readFrom"] != "primary" or "primary", 20,
               "reads from the replica before the drill")
    before = primary_reads()
    with stopped("mol-app-db2", POSTGRES_UNIT):
        answers = [get(f"{PROXY}/api/items?limit=5") for _ in range(60)]
        assert [code for code, _ in answers if code != 200] == [], answers
        assert answers[-1][1]["readFrom"] == "primary", answers[-1]
        assert primary_reads() - before >= 30
    wait_until(lambda: get(f"{PROXY}/api/items")[1]["readFrom"] != "primary" or "primary", 30,
               "reads back on the replica")


def test_stopped_worker_is_reported_unhealthy_by_the_backends():
    with stopped("mol-app1", "refapp-worker@default"):
        for url in BACKENDS.values():
            code, body = get(f"{url}/api/health/workers/default")
            assert code == 503 and body["status"] == "unhealthy" and body["failing"] == ["worker"], body
            down = [each for each in body["instances"] if each["status"] != "ok"]
            assert [each["url"] for each in down] == ["http://mol-app1:9000"], body
    wait_until(lambda: get(f"{PROXY}/api/health/workers/default")[0] == 200 or "unhealthy", 20,
               "the worker healthy again")


def test_a_config_that_fails_nginx_t_is_never_used():
    """The template task validates with nginx -t: a broken config fails the run and the proxy keeps serving."""
    nginx_conf = HOSTS["mol-app-proxy1"].file("/etc/nginx/nginx.conf").sha256sum
    result = run_playbook(SCENARIO / "proxy.yml", "-e", "nginx_access_log=/nonexistent/dir/access.log")
    assert result.returncode != 0 and "failed to validate" in result.stdout, result.stdout[-3000:]
    assert HOSTS["mol-app-proxy1"].file("/etc/nginx/nginx.conf").sha256sum == nginx_conf
    assert get(f"{PROXY}/health")[0] == 200


# --- Prometheus on the application ---

def prometheus(path, **query):
    url = f"http://127.0.0.1:9090{path}" + (("?" + urllib.parse.urlencode(query)) if query else "")
    return json.loads(MONITOR.check_output("python3 -c %s %s", FETCH, url))["data"]


def test_the_error_rate_alert_fires_on_real_traffic_then_every_app_panel_has_data():
    """With PostgreSQL's primary stopped, /api/health/db answers 503 through nginx: bounded
    traffic (at most 120 s, 5 requests a second) until AppHighErrorRate fires in Prometheus,
    within a scrape, its `for:` (30 s in this scenario) and two evaluations, plus margin."""
    started, fired, sent = time.monotonic(), None, 0
    with stopped("mol-app-db1", POSTGRES_UNIT):
        while time.monotonic() - started < 120 and not fired:
            for path in ("/api/health/db", "/health"):  # the write path's check: 503 while the primary is down
                requests.get(PROXY + path, timeout=5)
                sent += 1
            if sent % 20 == 0:
                alerts = prometheus("/api/v1/alerts")["alerts"]
                if any(a["labels"]["alertname"] == "AppHighErrorRate" and a["state"] == "firing" for a in alerts):
                    fired = round(time.monotonic() - started, 1)
            time.sleep(0.2)
        assert fired, f"AppHighErrorRate did not fire within 120 s ({sent} requests)"
        assert fired <= 5 + 30 + 2 * 5 + 30, fired
        print(f"AppHighErrorRate fired {fired} s after the primary stopped ({sent} requests)")

        # Prometheus sends a firing alert to Alertmanager at once; the backends read it there.
        def alertmanager_lists_it():
            code, body = get(f"{PROXY}/api/health/alerts")
            names = [alert["name"] for alert in body.get("critical", [])]
            return code == 200 and body["source"] == "alertmanager" and "AppHighErrorRate" in names

        wait_until(alertmanager_lists_it, 20, "/api/health/alerts listing AppHighErrorRate from Alertmanager")
    wait_until(ready_everywhere, 30, "every backend ready again")
    requests.post(f"{PROXY}/api/jobs", json={"queue": "default", "payload": {"drill": True}}, timeout=5)

    def panels_without_data():
        empty = [title for name, title, _ref, expr in dashboards.panel_queries()
                 if name == "app.json" and not prometheus("/api/v1/query", query=expr)["result"]]
        return empty or True

    # A rate needs two scrapes of its series: the job just enqueued shows within seconds.
    wait_until(panels_without_data, 30, "every panel of the app dashboard with data")


def test_smoke_probes_every_endpoint_on_each_backend_through_the_proxy_and_each_worker():
    report = SECRETS.parent / "smoke.xml"
    result = run_playbook(PROJECT / "playbooks" / "smoke.yml", "-e", f"smoke_junit_path={report}")
    assert result.returncode == 0, result.stdout[-4000:]
    cases = {case.get("name"): case for case in ET.parse(report).getroot().iter("testcase")}
    backend_paths = [*ENDPOINTS, "/metrics"]
    wanted = [f"{name} refapp-backend {path} on {name} (http)" for name in APP_HOSTS for path in backend_paths]
    wanted += [f"{name} refapp-frontend on {name} (http)" for name in APP_HOSTS]
    wanted += [f"{name} refapp-worker@default on {name} (worker)" for name in APP_HOSTS]
    wanted += [f"mol-app-proxy1 nginx {path} on mol-app-proxy1 (http)" for path in [*ENDPOINTS, "/"]]
    assert sorted(set(wanted) - set(cases)) == [], f"probes missing from the report: {sorted(set(wanted) - set(cases))}"
    failed = {name: [child.get("message") for child in case] for name, case in cases.items() if len(case)}
    assert failed == {}, f"probes that did not pass: {json.dumps(failed, indent=1)}"


# --- last: the failover leaves the Redis master where Sentinel put it ---

def test_a_redis_failover_costs_cache_errors_within_its_window_and_no_5xx_on_database_endpoints():
    """Freezing the Redis master's host (docker pause: Sentinel promotes only a master that
    stops answering) makes the Sentinels on the app hosts promote the replica; until the
    application sees the new master, only the cache endpoints fail. The host also holds the
    PostgreSQL replica, so reads fall back to the primary meanwhile."""
    code, cache = get(f"{PROXY}/api/health/cache")
    assert code == 200, cache
    frozen = "mol-app-db2"
    if not cache["master"].startswith(("mol-app-db2:", f"{ADDRESSES[frozen]}:")):
        pytest.fail(f"the Redis master is at {cache['master']}, not on {frozen} where this drill freezes it: an "
                    "earlier run of this drill moved it (Sentinel's choice stands). Converge a new scenario.")
    started, cache_failures, other_failures, moved = time.monotonic(), [], [], None
    subprocess.run(["docker", "pause", frozen], check=True)
    try:
        while time.monotonic() - started < 90 and not moved:
            for path in ("/api/items?limit=5", "/api/health/db"):
                try:
                    code, body = get(PROXY + path, timeout=10)
                except requests.RequestException as exc:
                    code, body = "no answer", str(exc)
                if code != 200:
                    other_failures.append((round(time.monotonic() - started, 1), path, code, body))
            code, body = get(f"{PROXY}/api/health/cache", timeout=10)
            if code != 200:
                cache_failures.append(round(time.monotonic() - started, 1))
            elif not body["master"].startswith(("mol-app-db2:", f"{ADDRESSES[frozen]}:")):
                moved = (round(time.monotonic() - started, 1), body["master"])
            time.sleep(0.2)
    finally:
        subprocess.run(["docker", "unpause", frozen], check=True)
    assert moved, f"the application never saw a new master within 90 s (cache failures at {cache_failures})"
    assert other_failures == [], other_failures
    # down-after-milliseconds (5 s) plus the election and the clients' rediscovery.
    assert not cache_failures or cache_failures[-1] - cache_failures[0] <= 30, cache_failures
    print(f"failover: new master {moved[1]} seen after {moved[0]} s; cache errors at {cache_failures}")
    wait_until(ready_everywhere, 60, "every backend ready again after the failover")
    wait_until(lambda: get(f"{PROXY}/api/items")[1]["readFrom"] == "replica", 60, "reads back on the replica")
    # The frozen host's exporters missed their scrapes: the next drills find them up again.
    wait_until(lambda: all(t["health"] == "up" for t in prometheus("/api/v1/targets", state="active")["activeTargets"]
                           if t["labels"]["instance"] == frozen), 60, f"Prometheus scraping {frozen} again")
