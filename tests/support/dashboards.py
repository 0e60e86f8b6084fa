"""The dashboards of files/grafana/dashboards and their panels' queries.

Shared by tests/monitoring/test_dashboards.py (static checks) and the molecule
scenario `app`, which runs every panel's query against its live
Prometheus and requires at least one series from each.
"""

import json
import pathlib

PROJECT = pathlib.Path(__file__).resolve().parents[2]
DASHBOARDS = PROJECT / "files" / "grafana" / "dashboards"
REQUIRED = ["overview", "app", "postgresql", "pgbouncer", "redis", "mysql", "node"]


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
