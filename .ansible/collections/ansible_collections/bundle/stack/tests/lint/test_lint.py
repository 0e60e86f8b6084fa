"""Lint and documentation checks: the tree is clean for ansible-lint (production
profile), yamllint and ruff; every module renders with ansible-doc; every role
documents exactly the variables its argument specs validate."""

import os
import pathlib
import subprocess

import pytest
import yaml

PROJECT = pathlib.Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (PROJECT / "roles").iterdir() if (p / "defaults" / "main.yml").exists())
MODULES = sorted(p.stem for p in (PROJECT / "plugins" / "modules").glob("*.py"))


def run(*command):
    env = dict(os.environ, ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"), NO_COLOR="1")
    return subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(
    "command",
    [
        ("yamllint", "--strict", "."),
        ("ansible-lint", "--offline", "--profile", "production"),
        ("ruff", "check", "."),
    ],
    ids=["yamllint", "ansible-lint", "ruff"],
)
def test_linter_is_clean(command):
    result = run(*command)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]


@pytest.mark.parametrize("module", MODULES)
def test_module_documentation_renders(module):
    result = run("ansible-doc", f"bundle.stack.{module}")
    assert result.returncode == 0, result.stderr
    assert "EXAMPLES" in result.stdout and "RETURN VALUES" in result.stdout


@pytest.mark.parametrize("role", ROLES)
def test_defaults_and_argument_specs_agree(role):
    base = PROJECT / "roles" / role
    defaults = set(yaml.safe_load((base / "defaults" / "main.yml").read_text()) or {})
    spec = yaml.safe_load((base / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]
    assert defaults == set(spec["options"]), (
        f"in defaults only: {sorted(defaults - set(spec['options']))}; "
        f"in argument_specs only: {sorted(set(spec['options']) - defaults)}"
    )
    assert all(name.startswith(role + "_") for name in defaults), "every variable is prefixed with the role name"


@pytest.mark.parametrize("role", ROLES)
def test_role_has_a_readme(role):
    assert (PROJECT / "roles" / role / "README.md").is_file()
