"""Each molecule scenario, in full: create, converge, idempotence, verify, destroy."""

import pathlib
import subprocess

import pytest

PROJECT = pathlib.Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p.parent.name for p in (PROJECT / "molecule").glob("*/molecule.yml"))


@pytest.mark.molecule
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(scenario):
    log = PROJECT / "reports" / f"molecule-{scenario}.log"
    log.parent.mkdir(exist_ok=True)
    with log.open("w") as out:
        result = subprocess.run(
            ["molecule", "test", "-s", scenario], cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT,
            timeout=1800,
        )
    tail = "\n".join(log.read_text().splitlines()[-80:])
    assert result.returncode == 0, f"molecule test -s {scenario} failed (full log: {log}):\n{tail}"
