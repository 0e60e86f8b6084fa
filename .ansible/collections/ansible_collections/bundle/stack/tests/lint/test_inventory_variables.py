"""The staging and production inventories set only real variables.

They hold what differs from the role defaults, so a misspelt or retired name
would silently change nothing: every variable they set must be one a role
documents (defaults/main.yml or meta/argument_specs.yml), a setting one of the
playbooks reads (playbooks/vars/*.yml), a bundle-wide setting some role or
playbook reads (bundle_*), an Ansible connection variable, or a helper another
variable of the same inventory is built from."""

import pathlib
import re

import pytest
import yaml

PROJECT = pathlib.Path(__file__).resolve().parents[2]
ENVIRONMENTS = ["staging", "production"]

# Ansible's own connection and privilege variables an inventory may set.
CONNECTION_VARIABLES = re.compile(
    r"^ansible_(host|port|user|password|connection|python_interpreter|private_key_file|shell_type|shell_executable"
    r"|ssh_\w+|become|become_\w+)$"
)
# A variable name read by a Jinja expression: before a filter or a test, or alone in {{ }}.
READ = re.compile(r"\b([a-z_][a-z0-9_]*)\s*(?:\||is\s+(?:not\s+)?defined|}})")
IDENTIFIER = re.compile(r"\b([a-z_][a-z0-9_]*)\b")


def role_variables():
    names = set()
    for defaults in PROJECT.glob("roles/*/defaults/main.yml"):
        names |= set(yaml.safe_load(defaults.read_text()) or {})
    for specs in PROJECT.glob("roles/*/meta/argument_specs.yml"):
        for entry in (yaml.safe_load(specs.read_text()) or {}).get("argument_specs", {}).values():
            names |= set(entry.get("options", {}))
    return names


def playbook_settings():
    """The operator's names the playbooks' vars files read (`backup_dir | default(...)`)."""
    names = set()
    for path in PROJECT.glob("playbooks/vars/*.yml"):
        names |= set(READ.findall(path.read_text()))
    return names


def bundle_settings():
    """bundle_* names read by a role, a playbook or a template."""
    names = set()
    for path in [*PROJECT.glob("roles/**/*.yml"), *PROJECT.glob("roles/**/*.j2"), *PROJECT.glob("playbooks/**/*.yml")]:
        names |= {name for name in IDENTIFIER.findall(path.read_text()) if name.startswith("bundle_")}
    return names


def inventory_variables(environment):
    """(file, name, value) of every variable the inventory sets: group_vars files and hosts.yml."""
    base = PROJECT / "inventories" / environment
    found = []
    for path in sorted((base / "group_vars").rglob("*.yml")):
        found += [(path, name, value) for name, value in (yaml.safe_load(path.read_text()) or {}).items()]

    def walk(group):
        for name, value in (group.get("vars") or {}).items():
            found.append((base / "hosts.yml", name, value))
        for host in (group.get("hosts") or {}).values():
            found.extend((base / "hosts.yml", name, value) for name, value in (host or {}).items())
        for child in (group.get("children") or {}).values():
            walk(child or {})

    for group in (yaml.safe_load((base / "hosts.yml").read_text()) or {}).values():
        walk(group or {})
    return found


def unknown_variables(variables, known):
    """Names no role, playbook or connection knows of, unless another variable of the inventory reads them."""
    read_here = {name for _, _, value in variables for name in IDENTIFIER.findall(yaml.safe_dump(value))}
    return [
        f"{path.relative_to(PROJECT)}: {name}"
        for path, name, _ in variables
        if name not in known and not CONNECTION_VARIABLES.match(name) and name not in read_here
    ]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_inventory_sets_only_known_variables(environment):
    known = role_variables() | playbook_settings() | bundle_settings()
    unknown = unknown_variables(inventory_variables(environment), known)
    assert not unknown, "set but no role or playbook has such a variable: " + ", ".join(unknown)


def test_a_misspelt_variable_is_named_with_its_file():
    path = PROJECT / "inventories" / "staging" / "group_vars" / "all" / "redis.yml"
    variables = [(path, "redis_maxmemroy", "4gb"), (path, "redis_maxmemory", "4gb")]
    assert unknown_variables(variables, role_variables()) == [
        "inventories/staging/group_vars/all/redis.yml: redis_maxmemroy"
    ]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_inventory_leaves_role_defaults_to_the_roles(environment):
    """A value equal to the role's default is a copy that drifts when the default changes."""
    defaults = {}
    for path in PROJECT.glob("roles/*/defaults/main.yml"):
        defaults.update(yaml.safe_load(path.read_text()) or {})
    copies = [
        f"{path.relative_to(PROJECT)}: {name}"
        for path, name, value in inventory_variables(environment)
        if name in defaults and defaults[name] == value
    ]
    assert not copies, "set to the role's default (remove them): " + ", ".join(copies)
