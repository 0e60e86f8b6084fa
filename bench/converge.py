#!/usr/bin/env python3
"""Benchmark: a cold converge of the lab and a warm re-run of site.yml.

Cold = the lab hosts destroyed and created anew, then site.yml (packages are
installed, replicas cloned). Warm = site.yml again on the converged lab, which
must report changed=0. Writes bench/results/converge.json and the matching
section of docs/benchmarks.md.

Run from the repository root, after scripts/setup.sh:
    .venv/bin/python bench/converge.py
"""

import datetime
import json
import os
import pathlib
import platform
import re
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "converge.json"
DOC = ROOT / "docs" / "benchmarks.md"
COMMAND = ".venv/bin/python bench/converge.py"
WARM_GOAL_S = 60
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def playbook(name, *args):
    """Run a playbook on the lab; return (seconds, changed per host)."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    binary = pathlib.Path(sys.executable).parent / "ansible-playbook"
    start = time.monotonic()
    run = subprocess.run([str(binary), "-i", "inventories/lab", f"playbooks/{name}", *args],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    seconds = round(time.monotonic() - start, 1)
    if run.returncode != 0:
        sys.exit(f"{name} failed:\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}")
    recap = {m[0]: {"changed": int(m[2]), "failed": int(m[4]), "unreachable": int(m[3])}
             for m in RECAP.findall(run.stdout)}
    return seconds, recap


def write_doc_section(result):
    marker_start, marker_end = "<!-- converge:start -->", "<!-- converge:end -->"
    changed = sum(h["changed"] for h in result["warm"]["recap"].values())
    section = "\n".join([
        marker_start,
        f"Measured {result['date']} on {result['machine']} with `{COMMAND}` "
        f"(written by the script, not by hand):",
        "",
        "| run | seconds | changed |",
        "| --- | ---: | ---: |",
        f"| lab create (containers boot) | {result['create_s']} | - |",
        f"| cold converge, site.yml | {result['cold']['seconds']} | "
        f"{sum(h['changed'] for h in result['cold']['recap'].values())} |",
        f"| warm re-run, site.yml | {result['warm']['seconds']} | {changed} |",
        "",
        f"Warm goal: under {WARM_GOAL_S} s with changed=0: "
        f"**{'met' if result['warm_goal_met'] else 'NOT met'}** "
        f"(warm/cold ratio {result['warm_over_cold']}).",
        marker_end,
    ])
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if marker_start in text:
        text = re.sub(re.escape(marker_start) + ".*?" + re.escape(marker_end), lambda _: section, text, flags=re.S)
    else:
        text += f"\n## Converge: cold and warm\n\n{section}\n"
    DOC.write_text(text)


def main():
    playbook("lab.yml", "-e", "lab_state=absent")
    create_s, _ = playbook("lab.yml")
    cold_s, cold_recap = playbook("site.yml")
    warm_s, warm_recap = playbook("site.yml")
    warm_changed = sum(h["changed"] for h in warm_recap.values())
    result = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "command": COMMAND,
        "create_s": create_s,
        "cold": {"seconds": cold_s, "recap": cold_recap},
        "warm": {"seconds": warm_s, "recap": warm_recap},
        "warm_over_cold": round(warm_s / cold_s, 2),
        "warm_goal_met": warm_s < WARM_GOAL_S and warm_changed == 0,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    write_doc_section(result)
    print(json.dumps({k: result[k] for k in ("create_s", "warm_over_cold", "warm_goal_met")}),
          f"cold={cold_s}s warm={warm_s}s warm_changed={warm_changed}")
    return 0 if result["warm_goal_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
