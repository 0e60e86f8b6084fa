#!/usr/bin/env python
"""Benchmark: how long a broken release costs, and what a gated deploy costs against a bare switch.

Runs against the containers of the molecule scenario `release`, converged with the real site.yml
into a known ephemeral directory (the benchmark runs the playbooks on its inventory):

    source .venv/bin/activate
    export MOLECULE_EPHEMERAL_DIRECTORY=$PWD/.cache/molecule-release
    molecule create -s release && molecule prepare -s release && molecule converge -s release
    python -m bench.release_recovery          # --bake N seconds (default 30)
    molecule destroy -s release

Under a load loop of real requests through nginx (GET /api/items, 10 a second), in one run:

  gated good       deploy.yml of a good release (1.1.0) to both app hosts, one at a time
  bare switch      the plain tool deploy.yml wraps: `current` relinked and the units
                   restarted on both hosts at once, no drain, no gate (1.0.0 -> 1.1.0 again),
                   timed until nginx serves 20 reads in a row again
  crash            deploy.yml of a release that exits at start
  wrong port       ... that listens one port off
  migration        ... that listens one port off and brings a reversible migration
                   (applied before the switch, rolled back after the code)
  not ready        ... whose database name is wrong (/health answers, /ready fails)
  errors           ... that fails every tenth read (caught by the error rate)
  slow             ... that delays every fifth read by 3 s (caught by p95)

For each: the wall time and the failed requests; for the broken ones the recovery time,
from the start of the deploy to the previous release serving again with its gate passed
(the time deploy.yml's table prints for the host it rolled back). Before each run the path
settles (20 reads in a row through nginx), so that no run's failures spill into the next
(nginx's passive checks keep a failed upstream out for 10 s). The scenario ends on the
release it converged with (rollback-release.yml). Writes bench/results/release_recovery.json
and the matching section of docs/benchmarks.md. Traffic goes only to the scenario's containers.
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

import requests

from tests.support.benchmark_report import write_section
from tests.support.load import Load
from tests.support.scenario import run_playbook

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "release_recovery.json"
COMMAND = ".venv/bin/python -m bench.release_recovery"
APP_HOSTS, PROXY = ["mol-rel-app1", "mol-rel-app2"], "mol-rel-proxy1"
GOOD = "1.1.0"
BROKEN = {"crash": "1.3.1", "wrong port": "1.3.5", "migration": "1.3.6", "not ready": "1.3.2", "errors": "1.3.3",
          "slow": "1.3.4"}
DRILL_OF = {"crash": "crash", "wrong port": "wrong-port", "migration": "wrong-port", "not ready": "wrong-database",
            "errors": "errors", "slow": "slow"}
MIGRATION_OF = {"migration": "reversible"}
HEALTH_DEADLINE = 15


def scenario_env():
    ephemeral = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY")
    if not ephemeral or not (pathlib.Path(ephemeral) / "inventory").is_dir():
        sys.exit("Converge the release scenario with MOLECULE_EPHEMERAL_DIRECTORY exported first (see the docstring).")
    os.environ.setdefault("MOLECULE_PROJECT_DIRECTORY", str(ROOT))
    inventory = pathlib.Path(ephemeral) / "inventory" / "ansible_inventory.yml"
    os.environ.setdefault("MOLECULE_INVENTORY_FILE", str(inventory))
    return pathlib.Path(ephemeral)


def docker(host, command):
    return subprocess.run(["docker", "exec", host, "sh", "-c", command], capture_output=True, text=True, check=True)


def address(host):
    return docker(host, "hostname -I").stdout.split()[0]


def playbook(name, *args):
    started = time.monotonic()
    result = run_playbook(ROOT / "playbooks" / name, *args)
    return result, time.monotonic() - started


def serving_again(stdout, host):
    """When deploy.yml's table says host's previous release served again (the line wraps)."""
    text = " ".join(stdout.replace("'", " ").split())
    found = re.search(rf"{host}: .*? previous release serving again at ([0-9.]+) s", text)
    return float(found.group(1)) if found else None


def ready(url):
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def settle(proxy_url, seconds=90):
    """Until 20 reads in a row through nginx succeed: a run's failures (and nginx's passive
    checks, which keep a failed upstream out for fail_timeout) must not spill into the next."""
    deadline, streak = time.monotonic() + seconds, 0
    while streak < 20 and time.monotonic() < deadline:
        streak = streak + 1 if ready(f"{proxy_url}/api/items") else 0
        time.sleep(0.1)
    return streak >= 20


def bare_switch(version, proxy_url):
    """Relink current and restart the units on both hosts at once; until nginx serves again."""
    with Load(f"{proxy_url}/api/items") as load:
        started = time.monotonic()
        procs = [subprocess.Popen(["docker", "exec", host, "sh", "-c",
                                   f"ln -sfn /opt/refapp/releases/{version} /opt/refapp/current && "
                                   "systemctl restart refapp-backend refapp-frontend 'refapp-worker@*'"])
                 for host in APP_HOSTS]
        for proc in procs:
            proc.wait()
        time.sleep(1)  # the restarted backends take a moment to stop answering, then to start
        backends = [f"http://{address(host)}:8000/ready" for host in APP_HOSTS]
        while time.monotonic() - started < 120:
            if all(ready(url) for url in backends) and settle(proxy_url, 5):
                break
            time.sleep(0.2)
        seconds = time.monotonic() - started
    return dict(seconds=round(seconds, 1), sent=load.sent, failed=len(load.failed))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bake", type=int, default=30, help="bake window of each deploy, seconds (default 30)")
    args = parser.parse_args()
    ephemeral = scenario_env()
    drills = ephemeral / "bench-releases"
    for name, version in [("good", GOOD), *BROKEN.items()]:
        subprocess.run([sys.executable, str(ROOT / "app" / "build.py"), "--version", version, "--out", str(drills),
                        *(["--drill", DRILL_OF[name]] if name in DRILL_OF else []),
                        *(["--migration", MIGRATION_OF[name]] if name in MIGRATION_OF else [])],
                       check=True, capture_output=True)
    proxy_url = f"http://{address(PROXY)}"
    converged = pathlib.PurePath(docker(APP_HOSTS[0], "readlink /opt/refapp/current").stdout.strip()).name
    settings = ["-e", f"deploy_bake_seconds={args.bake}", "-e", f"deploy_health_deadline={HEALTH_DEADLINE}",
                "-e", f"deploy_release_dir={drills}"]
    runs = {}

    with Load(f"{proxy_url}/api/items") as load:
        result, seconds = playbook("deploy.yml", "-e", f"deploy_version={GOOD}", *settings)
    if result.returncode != 0:
        sys.exit(f"the good release did not deploy:\n{result.stdout[-3000:]}")
    runs["gated good"] = dict(seconds=round(seconds, 1), sent=load.sent, failed=len(load.failed))
    bare_switch(converged, proxy_url)  # back, bare, to measure the bare switch forward
    settle(proxy_url)
    runs["bare switch"] = bare_switch(GOOD, proxy_url)

    for name, version in BROKEN.items():
        settle(proxy_url)
        with Load(f"{proxy_url}/api/items") as load:
            result, seconds = playbook("deploy.yml", "-e", f"deploy_version={version}", *settings)
        back = pathlib.PurePath(docker(APP_HOSTS[0], "readlink /opt/refapp/current").stdout.strip()).name
        runs[name] = dict(seconds=round(seconds, 1), sent=load.sent, failed=len(load.failed),
                          recovery_seconds=serving_again(result.stdout, APP_HOSTS[0]),
                          rolled_back=result.returncode != 0 and back == GOOD)
    result, _ = playbook("rollback-release.yml", "-e", f"release_rollback_to={converged}", *settings[:2])
    if result.returncode != 0:
        print(f"warning: the scenario could not go back to {converged}:\n{result.stdout[-2000:]}", file=sys.stderr)

    bake = args.bake
    goals = {
        "good release: zero failed requests": runs["gated good"]["failed"] == 0,
        "crash: recovery under 30 s": (runs["crash"]["recovery_seconds"] or 1e9) < 30,
        "wrong port: recovery under 30 s": (runs["wrong port"]["recovery_seconds"] or 1e9) < 30,
        "not ready: recovery under 30 s": (runs["not ready"]["recovery_seconds"] or 1e9) < 30,
        f"errors: recovery under bake + 30 s ({bake + 30} s)": (runs["errors"]["recovery_seconds"] or 1e9) < bake + 30,
        f"slow: recovery under bake + 30 s ({bake + 30} s)": (runs["slow"]["recovery_seconds"] or 1e9) < bake + 30,
        "every broken release rolled back": all(runs[name]["rolled_back"] for name in BROKEN),
    }
    document = dict(
        when=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"), command=f"{COMMAND} --bake {bake}",
        machine=f"{platform.machine()}, {os.cpu_count()} cores", bake_seconds=bake, health_deadline=HEALTH_DEADLINE,
        runs=runs, goals=goals,
        ratios={"gated/bare deploy time": round(runs["gated good"]["seconds"] / runs["bare switch"]["seconds"], 2)})
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    write_section("release-recovery", "Releases: recovery from a broken release", report(document).splitlines())
    print(json.dumps(document, indent=2))


def report(doc):
    lines = [f"`{doc['command']}` on the molecule scenario `release` ({doc['machine']}, {doc['when']}); bake window "
             f"{doc['bake_seconds']} s, health deadline {doc['health_deadline']} s per probe, lab scrape interval 5 s, "
             "load 10 requests a second through nginx.", "",
             "| run | wall time (s) | recovery (s) | requests | failed |", "| --- | --- | --- | --- | --- |"]
    for name, run in doc["runs"].items():
        recovery = run.get("recovery_seconds")
        lines.append(f"| {name} | {run['seconds']} | {'-' if recovery is None else recovery} | {run['sent']} | "
                     f"{run['failed']} |")
    lines += ["", f"Gated deploy against the bare switch, wall time: {doc['ratios']['gated/bare deploy time']} x "
              f"(the bare switch restarts both hosts at once: its failed requests are its cost).", "", "Goals:"]
    lines += [f"- {goal}: {'met' if met else 'NOT met'}" for goal, met in doc["goals"].items()]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
