"""Release drills on the converged path: playbooks/deploy.yml rolls
real releases out to both app hosts, one at a time, under a bounded load loop of requests
through nginx that counts every failed one. A good release goes out with none failed; drill
releases (app/build.py --drill) that crash, are not ready, fail 10 % of reads or are slow are
caught by the gate and rolled back in the same run. Releases bringing a migration
(app/build.py --migration, app/drills/): a reversible one is rolled back with the code and the
schema is the one before the deploy; an irreversible one stops the rollback before any host
switches back; one that breaks the release before is refused before any host changes. The
last drill rolls back by hand to the release the scenario converged with."""

import json
import pathlib
import subprocess
import sys

import pytest

from bench.alert_latency import FETCH
from tests.support.app_scenario import (
    APP_HOSTS,
    GROUPS,
    HOSTS,
    MONITOR,
    PROJECT,
    PROXY,
    PROXY_HOST,
    SECRETS,
    VERSION,
    get,
)
from tests.support.load import Load
from tests.support.scenario import run_playbook

DRILLS = SECRETS.parent / "drill-releases"
# Short waits for drills; the defaults (60 s bake, 30 s per probe) are for real deploys.
FAST = ["-e", "deploy_bake_seconds=10", "-e", "deploy_health_deadline=15", "-e", f"deploy_release_dir={DRILLS}"]
FIRST, SECOND = APP_HOSTS
# version: (drill, drill migration)
RELEASES = {"1.1.0": ("", ""), "1.2.1": ("crash", ""), "1.2.2": ("wrong-database", ""), "1.2.3": ("errors", ""),
            "1.2.4": ("slow", ""), "1.2.5": ("wrong-port", "reversible"), "1.2.6": ("crash", "irreversible"),
            "1.2.7": ("", "breaking")}
DATABASE = HOSTS[GROUPS["postgres_primary"][0]]


@pytest.fixture(scope="module", autouse=True)
def drill_releases():
    for version, (drill, migration) in RELEASES.items():
        subprocess.run([sys.executable, str(PROJECT / "app" / "build.py"), "--version", version, "--out", str(DRILLS),
                        *(["--drill", drill] if drill else []), *(["--migration", migration] if migration else [])],
                       check=True, capture_output=True)


def schema():
    """The app database's schema as pg_dump prints it (the ledger's rows are data, not schema),
    without the random key of its \\restrict lines."""
    dump = DATABASE.check_output("sudo -u postgres pg_dump --schema-only --no-comments app")
    return "\n".join(line for line in dump.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))


def applied_migrations():
    return DATABASE.check_output(
        "sudo -u postgres psql -d app -AtXc %s",
        "SELECT name FROM bundle_migration_ledger WHERE rolled_back_at IS NULL ORDER BY name").split()


def proxy_load():
    """GET /api/items through nginx, 10 a second, for at most 300 s."""
    return Load(f"{PROXY}/api/items")


def playbook(name, *args):
    """run_playbook, with the output's whitespace folded (the table's lines wrap)."""
    result = run_playbook(PROJECT / "playbooks" / name, *args)
    result.text = " ".join(result.stdout.replace("'", " ").split())
    return result


def deploy(version, *extra):
    return playbook("deploy.yml", "-e", f"deploy_version={version}", *FAST, *extra)


def current(name):
    return pathlib.PurePath(HOSTS[name].file("/opt/refapp/current").linked_to).name


def ledger(name):
    return json.loads(HOSTS[name].file("/opt/refapp/releases.json").content_string)["releases"]


def ledger_sums():
    """Each app host's release ledger by its checksum: what a refused run must leave as it was."""
    return {name: HOSTS[name].file("/opt/refapp/releases.json").sha256sum for name in APP_HOSTS}


def test_a_good_release_rolls_out_to_both_hosts_with_no_failed_request():
    with proxy_load() as load:
        result = deploy("1.1.0")
    assert result.returncode == 0, result.stdout[-4000:]
    assert [current(name) for name in APP_HOSTS] == ["1.1.0", "1.1.0"]
    assert load.failed == [] and load.sent > 50, (load.sent, load.failed)
    for name in APP_HOSTS:
        record = ledger(name)[-1]
        assert (record["version"], record["previous"], record["gate"]["verdict"]) == ("1.1.0", VERSION, "passed")
        assert {"health", "error_rate", "p95_latency"} <= {check["check"] for check in record["gate"]["checks"]}
        assert f"{name}: {VERSION} -> 1.1.0, gate passed" in result.text
    assert get(f"{PROXY}/api/version")[1]["version"] == "1.1.0"


def test_a_release_that_is_current_changes_nothing():
    result = deploy("1.1.0")
    assert result.returncode == 0, result.stdout[-3000:]
    recap = [line for line in result.stdout.splitlines() if line.split(" ")[0] in APP_HOSTS]
    assert recap and all("changed=0" in line for line in recap), recap
    assert f"{FIRST}: 1.1.0 -> 1.1.0, already current" in result.text


def test_check_mode_shows_the_switch_and_changes_nothing():
    before = ledger_sums()
    nginx = HOSTS[PROXY_HOST].file("/etc/nginx/nginx.conf").sha256sum
    result = deploy("1.2.3", "--check", "--diff")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "+current: 1.2.3" in result.stdout and "-current: 1.1.0" in result.stdout
    assert f"{FIRST}: 1.1.0 -> 1.2.3, would switch (check mode)" in result.text
    assert ledger_sums() == before
    assert [current(name) for name in APP_HOSTS] == ["1.1.0", "1.1.0"]
    assert HOSTS[PROXY_HOST].file("/etc/nginx/nginx.conf").sha256sum == nginx
    assert not HOSTS[FIRST].file("/opt/refapp/releases/1.2.3").exists


def rolled_back(result, version, why):
    """The run failed naming the check; the first host went back, the second was never touched;
    Alertmanager was told."""
    assert result.returncode != 0 and why in result.text, result.stdout[-4000:]
    assert [current(name) for name in APP_HOSTS] == ["1.1.0", "1.1.0"]
    bad, back = ledger(FIRST)[-2:]
    assert bad["version"] == version and bad["gate"]["verdict"] == "failed" and bad["rolled_back"]["to"] == "1.1.0"
    assert why in bad["rolled_back"]["reason"]
    assert (back["action"], back["version"], back["gate"]["verdict"]) == ("rollback", "1.1.0", "passed")
    assert version not in {record["version"] for record in ledger(SECOND)}
    assert f"{SECOND}: 1.1.0 -> 1.1.0, not switched" in result.text
    # Checked at once: Alertmanager resolves an alert nobody re-sends after its resolve_timeout.
    alerts = json.loads(MONITOR.check_output("python3 -c %s %s", FETCH, "http://127.0.0.1:9093/api/v2/alerts"))
    told = {(a["labels"]["instance"], a["labels"]["version"]) for a in alerts
            if a["labels"]["alertname"] == "ReleaseRolledBack"}
    assert (FIRST, version) in told, told


@pytest.mark.parametrize(("version", "why"), [("1.2.1", "refapp-backend"), ("1.2.2", "/ready")],
                         ids=["crashes at start", "not ready (wrong database)"])
def test_a_release_that_fails_its_health_contract_is_rolled_back_before_the_second_host(version, why):
    with proxy_load() as load:
        result = deploy(version)
    rolled_back(result, version, why)
    # The host was out of nginx from before its switch until it was back on 1.1.0.
    assert load.failed == [], load.failed


@pytest.mark.parametrize(("version", "why"), [("1.2.3", "error rate"), ("1.2.4", "p95 latency")],
                         ids=["10 % of 5xx", "slow"])
def test_a_release_that_serves_badly_is_caught_by_the_metrics_gate_and_rolled_back(version, why):
    with proxy_load() as load:
        result = deploy(version)
    rolled_back(result, version, why)
    # At most the requests the bad host answered during its bake: a tenth of them failed.
    assert len(load.failed) <= max(3, load.sent // 10), (load.sent, load.failed)


def test_a_reversible_migration_with_broken_code_goes_back_with_the_code():
    before, converged = schema(), applied_migrations()
    with proxy_load() as load:
        result = deploy("1.2.5")
    # Listening one port off: nothing answers on the backend's port.
    rolled_back(result, "1.2.5", "connection refused")
    assert load.failed == [], load.failed
    assert "Applied 1 migration(s) to app" in result.text and "0003_drill_item_labels" in result.text
    assert applied_migrations() == converged
    assert schema() == before


def test_an_irreversible_migration_stops_the_rollback_before_any_host_switches_back():
    before, nginx = schema(), HOSTS[PROXY_HOST].file("/etc/nginx/nginx.conf").content_string
    result = deploy("1.2.6")
    assert result.returncode != 0, result.stdout[-4000:]
    assert "Refusing to roll back 0003_drill_purge_job_results: it destroyed data" in result.text, result.stdout[-4000:]
    assert "/var/backups/bundle/migrate-app-" in result.text
    # The code stays on the new release (out of nginx: it failed its health check), the
    # schema with its migration, the other host untouched.
    assert [current(name) for name in APP_HOSTS] == ["1.2.6", "1.1.0"]
    assert applied_migrations()[-1] == "0003_drill_purge_job_results" and schema() == before
    assert ledger(FIRST)[-1]["version"] == "1.2.6" and ledger(FIRST)[-1]["rolled_back"] is None
    assert "1.2.6" not in {record["version"] for record in ledger(SECOND)}
    drained = HOSTS[PROXY_HOST].file("/etc/nginx/nginx.conf").content_string
    assert drained != nginx and drained.count("s down;") == 2, drained
    # Undone as an operator would, knowing the purged rows were old: the structure forced back.
    undone = playbook("rollback-release.yml", "-e", "release_rollback_to=1.1.0", "-e", "migrate_force=true",
                      "-e", "deploy_bake_seconds=10")
    assert undone.returncode == 0, undone.stdout[-4000:]
    assert [current(name) for name in APP_HOSTS] == ["1.1.0", "1.1.0"]
    assert "0003_drill_purge_job_results" not in applied_migrations() and schema() == before


def test_a_migration_that_breaks_the_release_before_is_refused_before_any_host_changes():
    before = ledger_sums()
    schema_before = schema()
    result = deploy("1.2.7")
    assert result.returncode != 0
    assert "Refusing to apply 0003_drill_rename_item_name: marked -- migrate:up breaking:true" in result.text, \
        result.stdout[-4000:]
    assert "deploy_allow_breaking=true" in result.text
    assert ledger_sums() == before
    assert not HOSTS[FIRST].file("/opt/refapp/releases/1.2.7").exists
    assert schema() == schema_before


def test_a_rollback_target_that_never_passed_its_gate_is_refused():
    before = ledger_sums()
    result = playbook("rollback-release.yml", "-e", "release_rollback_to=1.2.3")
    assert result.returncode != 0 and f"1.2.3 never passed its gate on {FIRST}" in result.text, result.stdout[-3000:]
    assert ledger_sums() == before


def test_a_manual_rollback_returns_both_hosts_to_the_converged_release():
    with proxy_load() as load:
        result = playbook("rollback-release.yml", "-e", f"release_rollback_to={VERSION}",
                          "-e", "deploy_bake_seconds=10")
    assert result.returncode == 0, result.stdout[-4000:]
    assert [current(name) for name in APP_HOSTS] == [VERSION, VERSION]
    assert load.failed == [], load.failed
    for name in APP_HOSTS:
        assert f"{name}: 1.1.0 -> {VERSION}, rolled back by hand, gate passed" in result.text
        assert ledger(name)[-1]["gate"]["verdict"] == "passed"
