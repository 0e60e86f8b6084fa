"""The tier map (playbooks/vars/tiers.yml) is the one list of which role runs on
which group and which probe gates it: preflight, the gates and smoke read it, so
a role missing from it is never checked nor probed. These tests hold the map to
what exists: every role under roles/ is in it, and every role, group, probe task
file, probe kind and registered result it names is real."""

import ast
import pathlib

import pytest
import yaml

PROJECT = pathlib.Path(__file__).resolve().parents[2]
TIERS = yaml.safe_load((PROJECT / "playbooks" / "vars" / "tiers.yml").read_text())["bundle_tiers"]
SERVICES = [service for tier in TIERS for service in tier["services"]]
PROBES = [(service["role"], probe) for service in SERVICES for probe in service["probes"]]
INVENTORIES = ["lab", "staging", "production"]
HEALTH_PROBE = {"health_probe", "bundle.stack.health_probe"}


def role_names():
    return sorted(p.name for p in (PROJECT / "roles").iterdir() if (p / "tasks" / "main.yml").is_file())


def inventory_groups(environment):
    """Every group an inventory's hosts.yml defines, at any depth."""
    groups = set()

    def walk(children):
        for name, group in (children or {}).items():
            groups.add(name)
            walk((group or {}).get("children"))

    walk(yaml.safe_load((PROJECT / "inventories" / environment / "hosts.yml").read_text())["all"].get("children"))
    return groups


def tasks_of(path):
    """Every task of a task file, blocks opened."""
    def walk(tasks):
        for task in tasks or []:
            yield task
            for section in ("block", "rescue", "always"):
                yield from walk(task.get(section))

    return list(walk(yaml.safe_load(path.read_text())))


def health_probe_kinds():
    module = ast.parse((PROJECT / "plugins" / "modules" / "health_probe.py").read_text())
    documentation = next(node.value.value for node in module.body if isinstance(node, ast.Assign)
                         and node.targets[0].id == "DOCUMENTATION")
    return set(yaml.safe_load(documentation)["options"]["kind"]["choices"])


def test_every_role_under_roles_is_in_the_map():
    mapped = [service["role"] for service in SERVICES]
    assert sorted(set(role_names()) - set(mapped)) == [], "roles outside the tier map (add them to a tier)"
    assert len(mapped) == len(set(mapped)), f"a role appears twice in the map: {mapped}"


def test_every_role_of_the_map_exists():
    assert sorted({service["role"] for service in SERVICES} - set(role_names())) == [], "no such role under roles/"


@pytest.mark.parametrize("environment", INVENTORIES)
def test_every_group_of_the_map_is_a_group_of_the_shipped_inventories(environment):
    named = {service["group"] for service in SERVICES} | {s["only_with"] for s in SERVICES if "only_with" in s}
    assert sorted(named - inventory_groups(environment) - {"all"}) == [], f"groups not in inventories/{environment}"


@pytest.mark.parametrize(("role", "probe"), PROBES, ids=[f"{role}-{probe['registers']}" for role, probe in PROBES])
def test_each_probe_is_a_health_probe_task_of_its_role_with_the_kind_and_result_the_map_names(role, probe):
    tasks = PROJECT / "roles" / role / "tasks"
    assert (tasks / f"{probe['tasks_from']}.yml").is_file(), f"roles/{role}/tasks/{probe['tasks_from']}.yml"
    assert probe["kind"] in health_probe_kinds(), f"health_probe has no kind {probe['kind']}"
    calls = [next(task[name] for name in HEALTH_PROBE if name in task)
             for path in sorted(tasks.glob("*.yml")) for task in tasks_of(path)
             if HEALTH_PROBE & set(task) and task.get("register") == probe["registers"]]
    assert [call["kind"] for call in calls] == [probe["kind"]], (
        f"roles/{role}/tasks should hold one health_probe task of kind {probe['kind']} registering "
        f"{probe['registers']}; found kinds {[call['kind'] for call in calls]}")


def test_site_converges_the_tiers_in_map_order_each_followed_by_its_gate():
    """Each converge play's roles belong to the tier whose gate comes next, and the
    gates follow the map's order: a tier starts only when the one below passed."""
    plays = yaml.safe_load((PROJECT / "playbooks" / "site.yml").read_text())
    names = [tier["name"] for tier in TIERS]
    position = {service["role"]: names.index(tier["name"]) for tier in TIERS for service in tier["services"]}
    converged, gates = [], []
    for play in plays:
        if play.get("ansible.builtin.import_playbook") == "gate.yml":
            gates.append(play["vars"]["bundle_gate_tier"])
        for role in (name.removeprefix("bundle.stack.") for name in play.get("roles", [])):
            assert gates == names[:position[role]], f"{role} converges with gates {gates} passed"
            converged.append(role)
    assert gates == names
    assert converged == [service["role"] for service in SERVICES], "site.yml converges the map's roles in map order"
