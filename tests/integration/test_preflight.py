"""Bad input stops site.yml with a clear message before any host is touched.

Each case builds a small inventory whose hosts point at a closed loopback port:
if preflight let anything through, Ansible would try to connect and report the
host UNREACHABLE, which the tests would see."""

import os
import pathlib
import secrets
import subprocess

import pytest
import yaml

PROJECT = pathlib.Path(__file__).resolve().parents[2]


def inventory(**overrides):
    """A healthy three-node cluster with a pooler; overrides go to group 'all'."""
    unreachable = {"ansible_host": "127.0.0.1", "ansible_port": 9, "ansible_connection": "ssh"}
    variables = {
        "postgresql_replication_password": secrets.token_hex(16),
        "pgbouncer_admin_password": secrets.token_hex(16),
        "pgbouncer_stats_password": secrets.token_hex(16),
        "postgresql_users": [{"name": "app", "password": secrets.token_hex(16)}],
        "pgbouncer_databases": [{"name": "app"}],
        "pgbouncer_auth_users": ["app"],
    }
    variables.update(overrides)
    primary = variables.pop("_primary_hosts", {"pg1": unreachable})
    return {
        "all": {
            "vars": variables,
            "children": {
                "postgres": {
                    "children": {
                        "postgres_primary": {"hosts": primary},
                        "postgres_replicas": {"hosts": {"pg2": unreachable, "pg3": unreachable}},
                    }
                },
                "pgbouncer": {"hosts": {"pgbouncer1": unreachable}},
            },
        }
    }


def run(playbook, tmp_path, inv):
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inv))
    env = dict(os.environ, ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    return subprocess.run(
        ["ansible-playbook", "-i", str(path), str(PROJECT / "playbooks" / playbook)],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300,
    )


def test_a_healthy_inventory_passes_preflight(tmp_path):
    result = run("preflight.yml", tmp_path, inventory())
    assert result.returncode == 0, result.stdout[-3000:]
    assert "UNREACHABLE" not in result.stdout


@pytest.mark.parametrize(
    ("case", "overrides", "expected"),
    [
        ("replica without a primary", {"_primary_hosts": {}},
         "group 'postgres_primary' holds 0 hosts; exactly one primary is required"),
        ("pool larger than max_connections", {"pgbouncer_max_db_connections": 500, "postgresql_max_connections": 200},
         "may open 500 server connections"),
        ("missing replication password", {"postgresql_replication_password": ""},
         "postgresql_replication_password is empty"),
        ("missing console password", {"pgbouncer_stats_password": ""},
         "pgbouncer_stats_password is empty"),
        ("missing role password", {"postgresql_users": [{"name": "app", "password": ""}]},
         "postgresql_users entry 'app' has an empty password"),
        ("version Debian does not ship", {"postgresql_version": 16},
         "postgresql_version=16 on pg1: Debian ships PostgreSQL 13, 15, 17"),
        ("non-SCRAM authentication", {"postgresql_hba_entries": [
            {"type": "host", "database": "all", "user": "all", "address": "0.0.0.0/0", "method": "md5"}]},
         "value of method must be one of: scram-sha-256, peer, reject, got: md5"),
        ("wrong type", {"postgresql_port": "fivefourthreetwo"},
         "postgresql_port"),
    ],
)
def test_bad_input_stops_site_before_any_host_is_touched(tmp_path, case, overrides, expected):
    result = run("site.yml", tmp_path, inventory(**overrides))
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, f"{case}: site.yml did not fail"
    assert expected in output, f"{case}: message not found in:\n{output[-3000:]}"
    assert "UNREACHABLE" not in result.stdout, f"{case}: a host was contacted"
    assert "PLAY [Data tier" not in result.stdout, f"{case}: a converge play started"


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_shipped_inventories_take_their_secrets_from_the_environment(environment):
    names = ["BUNDLE_APP_PASSWORD", "BUNDLE_REPLICATION_PASSWORD",
             "BUNDLE_PGBOUNCER_ADMIN_PASSWORD", "BUNDLE_PGBOUNCER_STATS_PASSWORD"]
    base = {k: v for k, v in os.environ.items() if k not in names}
    base.update(ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    command = ["ansible-playbook", "-i", f"inventories/{environment}", "playbooks/preflight.yml"]

    missing = subprocess.run(command, cwd=PROJECT, env=base, capture_output=True, text=True, timeout=300)
    assert missing.returncode != 0
    assert "postgresql_replication_password is empty" in " ".join(missing.stdout.split())

    present = dict(base, **{name: secrets.token_hex(16) for name in names})
    passed = subprocess.run(command, cwd=PROJECT, env=present, capture_output=True, text=True, timeout=300)
    assert passed.returncode == 0, passed.stdout[-3000:]
