"""The dashboards of files/grafana/dashboards: the six the issue asks for, each
valid for Grafana's file provisioning, every panel querying the provisioned
Prometheus datasource with valid PromQL (promtool parses each query as a
recording rule). That every query returns data is checked against a live
Prometheus by the molecule scenario `app` (see tests/support/dashboards.py)."""

import pathlib
import subprocess

import pytest
import yaml

from tests.support.dashboards import REQUIRED, dashboard_files, load, panel_queries

PROJECT = pathlib.Path(__file__).resolve().parents[2]
GRAFANA_DEFAULTS = yaml.safe_load((PROJECT / "roles" / "grafana" / "defaults" / "main.yml").read_text())


def test_every_required_dashboard_exists():
    assert sorted(f"{name}.json" for name in REQUIRED) == dashboard_files()


@pytest.mark.parametrize("name", dashboard_files())
def test_dashboard_is_provisionable(name):
    board = load(name)
    assert board["uid"] and board["title"] and board["panels"]
    assert board["uid"].startswith("bundle-") and len(board["uid"]) <= 40
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for panel in board["panels"]:
        assert panel["datasource"]["uid"] == GRAFANA_DEFAULTS["grafana_datasource_uid"], panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert target["expr"].strip(), f"{panel['title']} {target['refId']} has an empty query"
            assert target["datasource"]["uid"] == GRAFANA_DEFAULTS["grafana_datasource_uid"]


def test_dashboard_uids_are_unique():
    uids = [load(name)["uid"] for name in dashboard_files()]
    assert len(uids) == len(set(uids))


def test_every_query_is_valid_promql(promtool, tmp_path):
    rules = [{"record": f"dashboard:query:{index}", "expr": expr}
             for index, (_, _, _, expr) in enumerate(panel_queries())]
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = subprocess.run([str(promtool), "check", "rules", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout
