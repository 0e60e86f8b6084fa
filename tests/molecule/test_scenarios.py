"""Each molecule scenario, in full: create, converge, idempotence, verify, destroy.

conftest.py starts them all when collection ends (BUNDLE_MOLECULE_PARALLEL at a time,
longest first), beside the fast tests. Each test waits for its scenario's result."""

import pathlib
import re

import pytest

from tests.support.no_skip import skipped_in_output

PROJECT = pathlib.Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p.parent.name for p in (PROJECT / "molecule").glob("*/molecule.yml"))
ANSI = re.compile(r"\x1b\[[0-9;]*m|\\x1b\[[0-9;]*m")


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
