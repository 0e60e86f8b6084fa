"""Each molecule scenario, in full: create, converge, idempotence, verify, destroy.

The scenarios run BUNDLE_MOLECULE_PARALLEL at a time (default 2), longest first, each in
its own process with its own log: they share nothing (their own containers, network and
subnet, ephemeral directory), and much of a converge waits on package installs and
service starts: on this 2-core machine monitoring and app side by side took 17 min
together, against 12 and 13 min one after the other (stop 13). Each test waits for its
scenario's result."""

import os
import pathlib
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.no_skip import skipped_in_output

PROJECT = pathlib.Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p.parent.name for p in (PROJECT / "molecule").glob("*/molecule.yml"))
# The longest first, so that the last ones to start are short (measured: minutes each).
LONGEST_FIRST = ["monitoring", "app", "postgresql", "backup", "redis", "migrations", "mysql"]
PARALLEL = int(os.environ.get("BUNDLE_MOLECULE_PARALLEL", "2"))
ANSI = re.compile(r"\x1b\[[0-9;]*m|\\x1b\[[0-9;]*m")


def run_scenario(scenario):
    log = PROJECT / "reports" / f"molecule-{scenario}.log"
    log.parent.mkdir(exist_ok=True)
    with log.open("w") as out:
        result = subprocess.run(["molecule", "test", "-s", scenario], cwd=PROJECT, stdout=out,
                                stderr=subprocess.STDOUT, timeout=1800, check=False)
    return result.returncode, log


@pytest.fixture(scope="session")
def scenario_runs(request):
    """Start every selected scenario (BUNDLE_MOLECULE_PARALLEL at a time); their futures by name."""
    selected = [item.callspec.params["scenario"] for item in request.session.items
                if item.originalname == "test_scenario"]
    order = sorted(selected, key=lambda name: LONGEST_FIRST.index(name) if name in LONGEST_FIRST else -1)
    with ThreadPoolExecutor(max_workers=max(PARALLEL, 1), thread_name_prefix="molecule") as pool:
        yield {name: pool.submit(run_scenario, name) for name in order}


def failure_excerpt(text):
    """What a failed run shows an operator: the verifier's failures when it ran (the
    lines before its short summary), and the end of the log, where molecule names the step."""
    lines = ANSI.sub("", text).splitlines()
    summaries = [i for i, line in enumerate(lines) if "short test summary info" in line]
    verifier = lines[max(0, summaries[-1] - 120):summaries[-1] + 12] if summaries else []
    return "\n".join([*verifier, "[...]", *lines[-60:]])


@pytest.mark.molecule
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(scenario, scenario_runs):
    returncode, log = scenario_runs[scenario].result()
    text = log.read_text()
    assert returncode == 0, f"molecule test -s {scenario} failed (full log: {log}):\n{failure_excerpt(text)}"
    # The verifier's pytest fails a skip itself (molecule/conftest.py); this also catches a
    # verifier run without that rule, and molecule's own skip of a verify step with no tests.
    assert skipped_in_output(text) == 0, f"molecule verify -s {scenario} skipped tests (full log: {log})"
    assert "Skipping, no tests found." not in text, f"molecule verify -s {scenario} found no tests (full log: {log})"
