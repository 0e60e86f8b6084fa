"""The molecule scenarios start as soon as collection ends, BUNDLE_MOLECULE_PARALLEL at a
time (default 2), longest first, each in its own process with its own log under reports/:
their converges then run while the lint, unit and bad-input tests run (those use about
one core; a converge waits on package installs and service starts much of its time).
Each scenario's test waits for its result."""

import os
import pathlib
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

PROJECT = pathlib.Path(__file__).resolve().parents[2]
# The longest first, so that the last ones to start are short (measured: minutes each).
LONGEST_FIRST = ["app", "release", "backup", "redis", "postgresql", "migrations", "mysql"]
PARALLEL = int(os.environ.get("BUNDLE_MOLECULE_PARALLEL", "2"))
# A safety limit per scenario, not the budget (the whole test command: under 45 min).
TIMEOUT = 2700
RUNS = pytest.StashKey[dict]()
POOL = pytest.StashKey[ThreadPoolExecutor]()


def run_scenario(scenario):
    log = PROJECT / "reports" / f"molecule-{scenario}.log"
    log.parent.mkdir(exist_ok=True)
    started = time.monotonic()
    with log.open("w") as out:
        # Its own process group: on timeout the whole run stops, ansible-playbook's forks
        # included, and the test still shows the log's end (where it was).
        process = subprocess.Popen(["molecule", "test", "-s", scenario], cwd=PROJECT, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            returncode = process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            returncode = f"killed after its safety limit of {TIMEOUT} s"
            # Its hosts would go on taking the other scenarios' cores.
            subprocess.run(["molecule", "destroy", "-s", scenario], cwd=PROJECT, stdout=out,
                           stderr=subprocess.STDOUT, timeout=300, check=False)
        # The scenario's own time, for the test budget (the pytest durations are waits).
        print(f"\nscenario {scenario}: exit {returncode} after {time.monotonic() - started:.0f} s", file=out)
    return returncode, log


def pytest_collection_finish(session):
    selected = [item.callspec.params["scenario"] for item in session.items
                if item.originalname == "test_scenario"]
    if session.config.option.collectonly or not selected:
        return
    order = sorted(selected, key=lambda name: LONGEST_FIRST.index(name) if name in LONGEST_FIRST else -1)
    pool = ThreadPoolExecutor(max_workers=max(PARALLEL, 1), thread_name_prefix="molecule")
    session.config.stash[POOL] = pool
    session.config.stash[RUNS] = {name: pool.submit(run_scenario, name) for name in order}


def pytest_sessionfinish(session):
    # An interrupted run does not start the scenarios still waiting; running ones finish.
    if POOL in session.config.stash:
        session.config.stash[POOL].shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session")
def scenario_runs(pytestconfig):
    """The scenarios started after collection: their futures by name."""
    return pytestconfig.stash[RUNS]
