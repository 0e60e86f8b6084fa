#!/usr/bin/env python
"""Benchmark: from a stopped PostgreSQL replica to its alert firing in Alertmanager.

The drill stops PostgreSQL on a replica, polls Alertmanager's API (once a
second, bounded) until PostgreSQLDown fires for that replica and
PostgreSQLReplicationBroken fires for its slot on the primary, starts the
replica again and polls until both are resolved. What bounds the time to
firing is read from the monitoring host itself: the scrape and evaluation
intervals of prometheus.yml and the rules' `for:`.

It runs against the molecule scenario `app` (its own containers,
converged first when needed; --destroy removes them afterwards) or, with
--target lab, against a converged lab with a monitoring host. Writes
bench/results/alert_latency.json and the matching section of docs/benchmarks.md.

Run from the repository root, after scripts/setup.sh:
    .venv/bin/python -m bench.alert_latency [--runs 3] [--target molecule|lab] [--destroy]

The molecule scenario imports drill() for its own firing and resolution test.
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import re
import subprocess
import sys
import time

import yaml

from tests.support.benchmark_report import write_section

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "alert_latency.json"
COMMAND = ".venv/bin/python -m bench.alert_latency"
UNIT = "postgresql@15-main"
ALERTMANAGER = "http://127.0.0.1:9093/api/v2/alerts"
# Container and inventory names of the replica, its primary and the monitoring host.
TARGETS = {
    "molecule": {"monitor": ("mol-app-proxy1", "mol-app-proxy1"), "replica": ("mol-app-db2", "mol-app-db2"),
                 "primary": ("mol-app-db1", "mol-app-db1")},
    "lab": {"monitor": ("bundle-lab-monitor1", "monitor1"), "replica": ("bundle-lab-pg2", "pg2"),
            "primary": ("bundle-lab-pg1", "pg1")},
}
FETCH = "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())"


def docker_exec(container, *argv):
    result = subprocess.run(["docker", "exec", container, *argv], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"docker exec {container} {' '.join(argv)}: {result.stderr.strip()}")
    return result.stdout


def http_json(container, url):
    """GET url from inside the container (the APIs listen on its loopback only)."""
    return json.loads(docker_exec(container, "python3", "-c", FETCH, url))


def active_alerts(monitor):
    return [alert for alert in http_json(monitor, ALERTMANAGER) if alert["status"]["state"] == "active"]


def firing(alerts, alertname, **labels):
    return any(alert["labels"].get("alertname") == alertname
               and all(alert["labels"].get(key) == value for key, value in labels.items()) for alert in alerts)


def bounds(monitor):
    """What bounds the time to firing, as the monitoring host has it."""
    config = yaml.safe_load(docker_exec(monitor, "cat", "/etc/prometheus/prometheus.yml"))
    rules = yaml.safe_load(docker_exec(monitor, "cat", "/etc/prometheus/rules/postgresql.yml"))
    fors = {rule["alert"]: rule["for"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule}
    return {
        "scrape_interval": config["global"]["scrape_interval"],
        "evaluation_interval": config["global"]["evaluation_interval"],
        "for": {name: fors[name] for name in ("PostgreSQLDown", "PostgreSQLReplicationBroken")},
    }


def seconds(duration):
    """A Prometheus duration such as 30s, 1m or 1m30s, in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    return sum(int(number) * units[unit] for number, unit in re.findall(r"(\d+)(ms|s|m|h|d)", duration))


def upper_bound(limits, alertname):
    """Longest expected time to firing: a scrape, the `for:` and two evaluations
    (one to start pending, one to fire), plus two seconds for delivery and polling."""
    return (seconds(limits["scrape_interval"]) + seconds(limits["for"][alertname])
            + 2 * seconds(limits["evaluation_interval"]) + 2)


def drill(target="molecule", poll=1.0, resolve_timeout=120):
    """Stop the replica, time both alerts firing, start it, time their resolution."""
    names = TARGETS[target]
    monitor, (replica, replica_name), (_, primary_name) = names["monitor"][0], names["replica"], names["primary"]
    limits = bounds(monitor)
    expected = {
        "PostgreSQLDown": {"instance": replica_name},
        "PostgreSQLReplicationBroken": {"instance": primary_name, "slot_name": re.sub("[^a-z0-9_]", "_", replica_name)},
    }
    deadline = {name: upper_bound(limits, name) for name in expected}
    # Start from a quiet state: nothing left over from an earlier drill.
    quiet_by = time.monotonic() + resolve_timeout
    while any(firing(active_alerts(monitor), name, **labels) for name, labels in expected.items()):
        if time.monotonic() > quiet_by:
            raise RuntimeError("alerts of an earlier drill are still active")
        time.sleep(poll)

    fired, resolved = {}, {}
    docker_exec(replica, "systemctl", "stop", UNIT)
    stopped = time.monotonic()
    try:
        while len(fired) < len(expected):
            elapsed = time.monotonic() - stopped
            alerts = active_alerts(monitor)
            for name, labels in expected.items():
                if name not in fired and firing(alerts, name, **labels):
                    fired[name] = round(time.monotonic() - stopped, 1)
            if elapsed > max(deadline.values()):
                break
            time.sleep(poll)
    finally:
        docker_exec(replica, "systemctl", "start", UNIT)
    started = time.monotonic()
    while len(resolved) < len(expected) and time.monotonic() - started < resolve_timeout:
        alerts = active_alerts(monitor)
        for name, labels in expected.items():
            if name not in resolved and not firing(alerts, name, **labels):
                resolved[name] = round(time.monotonic() - started, 1)
        time.sleep(poll)
    return {"limits": limits, "deadline_s": deadline, "fired_s": fired, "resolved_s": resolved,
            "expected": expected}


def write_doc_section(result):
    limits = result["runs"][0]["limits"]
    rows = [f"| {index} | {run['fired_s'].get('PostgreSQLDown', 'never')} | "
            f"{run['fired_s'].get('PostgreSQLReplicationBroken', 'never')} | "
            f"{max(run['resolved_s'].values()) if len(run['resolved_s']) == 2 else 'never'} |"
            for index, run in enumerate(result["runs"], 1)]
    bound = result["runs"][0]["deadline_s"]["PostgreSQLDown"]
    write_section("alert-latency", "Alert latency: a stopped replica to a firing alert", [
        f"Measured {result['date']} on {result['machine']} against the {result['target']} "
        f"with `{COMMAND}` (written by the script, not by hand). Each run stops PostgreSQL on "
        f"a replica and polls Alertmanager's API once a second.",
        "",
        "| run | stop → PostgreSQLDown firing (s) | stop → PostgreSQLReplicationBroken firing (s) "
        "| start → both resolved (s) |",
        "| ---: | ---: | ---: | ---: |",
        *rows,
        "",
        f"What bounds it: `scrape_interval` {limits['scrape_interval']}, `evaluation_interval` "
        f"{limits['evaluation_interval']}, `for:` {limits['for']['PostgreSQLDown']} (PostgreSQLDown) and "
        f"{limits['for']['PostgreSQLReplicationBroken']} (PostgreSQLReplicationBroken): at most one scrape, "
        f"the `for:` and two evaluations, {bound - 2:g} s, plus 2 s for delivery and polling = {bound:g} s. "
        f"All runs within it: **{'yes' if result['within_bound'] else 'NO'}**.",
    ])


def molecule(*args):
    env = dict(os.environ, PATH=f"{pathlib.Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    run = subprocess.run(["molecule", *args, "-s", "app"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=1800)
    if run.returncode != 0:
        sys.exit(f"molecule {' '.join(args)} -s app failed:\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="drills to run (1-10)")
    parser.add_argument("--target", choices=sorted(TARGETS), default="molecule")
    parser.add_argument("--destroy", action="store_true", help="destroy the molecule scenario afterwards")
    args = parser.parse_args()
    runs = max(1, min(args.runs, 10))
    if args.target == "molecule":
        molecule("converge")
    result = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "command": COMMAND,
        "target": "molecule scenario `app`" if args.target == "molecule" else "lab",
        "runs": [drill(args.target) for _ in range(runs)],
    }
    result["within_bound"] = all(
        len(run["fired_s"]) == 2 and all(run["fired_s"][name] <= run["deadline_s"][name] for name in run["fired_s"])
        and len(run["resolved_s"]) == 2 for run in result["runs"])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    write_doc_section(result)
    if args.destroy and args.target == "molecule":
        molecule("destroy")
    for index, run in enumerate(result["runs"], 1):
        print(f"run {index}: fired {run['fired_s']} (bound {run['deadline_s']}), resolved {run['resolved_s']}")
    return 0 if result["within_bound"] else 1


if __name__ == "__main__":
    sys.exit(main())
