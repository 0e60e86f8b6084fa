"""The dashboards of files/grafana/dashboards and what their queries need.

Shared by tests/monitoring/test_dashboards.py (static checks) and the molecule
scenario `monitoring`, which runs every panel's query against its live
Prometheus and requires at least one series from each.
"""

import json
import pathlib

PROJECT = pathlib.Path(__file__).resolve().parents[2]
DASHBOARDS = PROJECT / "files" / "grafana" / "dashboards"
REQUIRED = ["overview", "postgresql", "pgbouncer", "redis", "mysql", "node"]

# Inventory groups whose hosts produce a dashboard's data. The live check skips
# a dashboard while none of its groups has hosts in the inventory under test:
# Redis and MySQL are verified once those tiers are in the tested inventory.
DASHBOARD_GROUPS = {
    "overview.json": [],
    "node.json": [],
    "postgresql.json": ["postgres"],
    "pgbouncer.json": ["pgbouncer"],
    "redis.json": ["redis"],
    "mysql.json": ["mysql"],
}
# Panels that need more than their dashboard: replicas, Sentinels.
PANEL_GROUPS = {
    ("postgresql.json", "Replication slots active"): ["postgres_replicas"],
    ("redis.json", "Replica link to master"): ["redis_replicas"],
    ("redis.json", "Sentinel quorum (1 = reachable)"): ["redis_sentinel"],
    ("redis.json", "Sentinels that agree the master is up"): ["redis_sentinel"],
    ("mysql.json", "Replica threads running"): ["mysql_replicas"],
    ("mysql.json", "Seconds behind the primary"): ["mysql_replicas"],
}


def load(name):
    return json.loads((DASHBOARDS / name).read_text())


def dashboard_files():
    return sorted(path.name for path in DASHBOARDS.glob("*.json"))


def panel_queries():
    """(dashboard file, panel title, refId, expr) for every query of every panel."""
    for name in dashboard_files():
        for panel in load(name)["panels"]:
            for target in panel.get("targets", []):
                yield name, panel["title"], target.get("refId"), target.get("expr", "")


def needed_groups(name, title):
    return DASHBOARD_GROUPS.get(name, []) + PANEL_GROUPS.get((name, title), [])


def live_plan(groups_with_hosts):
    """Split the queries into those to run and those skipped, with the reason."""
    run, skipped = [], []
    for name, title, ref, expr in panel_queries():
        missing = [group for group in needed_groups(name, title) if group not in groups_with_hosts]
        if missing:
            skipped.append((name, title, ref, f"no hosts in {', '.join(missing)}"))
        else:
            run.append((name, title, ref, expr))
    return run, skipped
