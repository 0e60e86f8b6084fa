#!/usr/bin/env python
"""Benchmark: a cold converge of the lab and warm re-runs of site.yml.

Cold = the lab hosts destroyed and created anew, then site.yml (packages are
installed, replicas cloned). Warm = site.yml again on the converged lab, which
must report changed=0; it runs --rounds times and the median counts. Each run
also records the load average before it and the CPU seconds it cost (the
control node's ansible processes and the lab containers), because on a small
machine a converge is bound by CPU, not by waiting. Writes
bench/results/converge.json and the matching section of docs/benchmarks.md.

Run from the repository root, after scripts/setup.sh:
    .venv/bin/python -m bench.converge [--rounds 3]
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import re
import resource
import subprocess
import sys
import time

from tests.support.benchmark_report import write_section

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "converge.json"
COMMAND = ".venv/bin/python -m bench.converge"
WARM_GOAL_S = 60
LAB_PREFIX = "bundle-lab-"
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
# profile_tasks prints, under each task header, "(previous task's duration)  elapsed".
ELAPSED = re.compile(r"\(\d+:\d+:[\d.]+\)\s+(\d+):(\d+):([\d.]+)")


def container_cpu_seconds():
    """CPU seconds used so far by the lab containers (cgroup v2 or v1)."""
    ids = subprocess.run(["docker", "ps", "-q", "--no-trunc", "-f", f"name={LAB_PREFIX}"],
                         capture_output=True, text=True, check=True).stdout.split()
    total = 0.0
    for cid in ids:
        v2 = pathlib.Path(f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/cpu.stat")
        v1 = pathlib.Path(f"/sys/fs/cgroup/cpuacct/docker/{cid}/cpuacct.usage")
        if v2.exists():
            usage = dict(line.split() for line in v2.read_text().splitlines())
            total += int(usage["usage_usec"]) / 1e6
        elif v1.exists():
            total += int(v1.read_text()) / 1e9
    return total


def play_seconds(stdout):
    """Seconds spent in each play, from profile_tasks' elapsed stamps."""
    spans, play = {}, None
    for line in stdout.splitlines():
        if line.startswith("PLAY [") and "RECAP" not in line:
            play = line[6:line.index("]")]
        match = ELAPSED.search(line)
        if match and play:
            elapsed = int(match[1]) * 3600 + int(match[2]) * 60 + float(match[3])
            spans.setdefault(play, [elapsed, elapsed])[1] = elapsed
    plays = list(spans)
    # A play ends where the next one starts.
    for this, following in zip(plays, plays[1:], strict=False):
        spans[this][1] = spans[following][0]
    return {name: round(end - start, 1) for name, (start, end) in spans.items()}


def playbook(name, *args):
    """Run a playbook on the lab; return its wall time, CPU, load and recap."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    binary = pathlib.Path(sys.executable).parent / "ansible-playbook"
    load = os.getloadavg()[0]
    containers = container_cpu_seconds()
    control = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    run = subprocess.run([str(binary), "-i", "inventories/lab", f"playbooks/{name}", *args],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    seconds = round(time.monotonic() - start, 1)
    if run.returncode != 0:
        sys.exit(f"{name} failed:\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    recap = {m[0]: {"changed": int(m[2]), "failed": int(m[4]), "unreachable": int(m[3])}
             for m in RECAP.findall(run.stdout)}
    return {
        "seconds": seconds,
        "load_before": round(load, 2),
        "control_cpu_s": round(after.ru_utime + after.ru_stime - control.ru_utime - control.ru_stime, 1),
        "containers_cpu_s": round(container_cpu_seconds() - containers, 1),
        "changed": sum(host["changed"] for host in recap.values()),
        "plays": play_seconds(run.stdout),
        "recap": recap,
    }


def run_row(label, run):
    return (f"| {label} | {run['seconds']} | {run['changed']} | {run['control_cpu_s']} | "
            f"{run['containers_cpu_s']} | {run['load_before']} |")


def write_doc_section(result):
    warm = result["warm_median"]
    slowest = sorted(warm["plays"].items(), key=lambda item: -item[1])[:6]
    write_section("converge", "Converge: cold and warm", [
        f"Measured {result['date']} on {result['machine']} with `{COMMAND} --rounds {len(result['warm'])}` "
        f"(written by the script, not by hand). CPU columns: seconds of CPU used by the control "
        f"node's ansible processes and by the {result['hosts']} lab containers during the run; "
        f"load = 1-minute load average just before it.",
        "",
        "| run | seconds | changed | control CPU s | containers CPU s | load |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        f"| lab create (containers boot) | {result['create']['seconds']} | - | - | - | "
        f"{result['create']['load_before']} |",
        run_row("cold converge, site.yml", result["cold"]),
        *(run_row(f"warm re-run {index}, site.yml", run) for index, run in enumerate(result["warm"], 1)),
        "",
        "Slowest plays of the median warm run: "
        + "; ".join(f"{name} {seconds} s" for name, seconds in slowest) + ".",
        "",
        f"Warm goal: median under {WARM_GOAL_S} s with changed=0: "
        f"**{'met' if result['warm_goal_met'] else 'NOT met'}** "
        f"(median {warm['seconds']} s; warm/cold ratio {result['warm_over_cold']}).",
    ])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="warm re-runs (the median counts)")
    rounds = parser.parse_args().rounds
    # The release the app hosts run, as scripts/lab.sh builds it (not timed: the same sources give the same bytes).
    subprocess.run([sys.executable, str(ROOT / "app" / "build.py")], cwd=ROOT, check=True, capture_output=True)
    playbook("lab.yml", "-e", "lab_state=absent")
    create = playbook("lab.yml")
    cold = playbook("site.yml")
    warm = [playbook("site.yml") for _ in range(rounds)]
    median = sorted(warm, key=lambda run: run["seconds"])[len(warm) // 2]
    result = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "command": f"{COMMAND} --rounds {rounds}",
        "hosts": len(cold["recap"]),
        "create": create,
        "cold": cold,
        "warm": warm,
        "warm_median": median,
        "warm_over_cold": round(median["seconds"] / cold["seconds"], 2),
        "warm_goal_met": median["seconds"] < WARM_GOAL_S and all(run["changed"] == 0 for run in warm),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    write_doc_section(result)
    print(f"cold={cold['seconds']}s warm={[run['seconds'] for run in warm]} "
          f"median={median['seconds']}s changed={[run['changed'] for run in warm]} "
          f"goal_met={result['warm_goal_met']}")
    return 0 if result["warm_goal_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
