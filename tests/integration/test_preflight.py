"""Bad input stops site.yml with a clear message before any host is touched.

Each case builds a small inventory whose hosts point at a closed loopback port:
if preflight let anything through, Ansible would try to connect and report the
host UNREACHABLE, which the tests would see."""

import hashlib
import json
import os
import pathlib
import re
import secrets
import subprocess
import tarfile

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
    # Optional MySQL hosts, as lists of names (see mysql_inventory()); none by default.
    mysql_primary = variables.pop("_mysql_primary_hosts", None)
    mysql_replicas = variables.pop("_mysql_replica_hosts", None)
    mysql = {"mysql": {"children": {
        "mysql_primary": {"hosts": {name: unreachable for name in mysql_primary or []}},
        "mysql_replicas": {"hosts": {name: unreachable for name in mysql_replicas or []}},
    }}} if mysql_primary is not None or mysql_replicas is not None else {}
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
                **mysql,
            },
        }
    }


def run(playbook, tmp_path, inv, *extra):
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inv))
    env = dict(os.environ, ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    return subprocess.run(
        ["ansible-playbook", "-i", str(path), str(PROJECT / "playbooks" / playbook), *extra],
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
def test_shipped_inventories_take_their_secrets_from_the_environment(environment, tmp_path):
    names = ["BUNDLE_APP_PASSWORD", "BUNDLE_REPLICATION_PASSWORD",
             "BUNDLE_PGBOUNCER_ADMIN_PASSWORD", "BUNDLE_PGBOUNCER_STATS_PASSWORD"]
    names += ["BUNDLE_MYSQL_APP_PASSWORD", "BUNDLE_MYSQL_REPLICATION_PASSWORD", "BUNDLE_MYSQL_MONITOR_PASSWORD"]
    names += ["BUNDLE_BACKUP_REDIS_PASSWORD"]
    names += ["BUNDLE_EXPORTER_POSTGRES_PASSWORD", "BUNDLE_GRAFANA_ADMIN_PASSWORD", "BUNDLE_ALERTMANAGER_SLACK_TOKEN"]
    names += ["BUNDLE_REDIS_PASSWORD", "BUNDLE_REDIS_REPLICATION_PASSWORD", "BUNDLE_REDIS_MONITOR_PASSWORD",
              "BUNDLE_REDIS_FAILOVER_PASSWORD", "BUNDLE_REDIS_SENTINEL_ADMIN_PASSWORD",
              "BUNDLE_REDIS_SENTINEL_CLIENT_PASSWORD"]
    base = {k: v for k, v in os.environ.items() if k not in names}
    base.update(ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                BUNDLE_APP_RELEASE=str(release_artifact(tmp_path)))
    command = ["ansible-playbook", "-i", f"inventories/{environment}", "playbooks/preflight.yml"]

    missing = subprocess.run(command, cwd=PROJECT, env=base, capture_output=True, text=True, timeout=300)
    assert missing.returncode != 0
    # Hosts check their roles side by side, so the first missing secret reported may be any of them.
    assert re.search(r"\b[a-z_]+_password is empty for ", " ".join(missing.stdout.split()))

    present = dict(base, **{name: secrets.token_hex(16) for name in names})
    passed = subprocess.run(command, cwd=PROJECT, env=present, capture_output=True, text=True, timeout=300)
    assert passed.returncode == 0, passed.stdout[-3000:]


def mysql_inventory(**overrides):
    """inventory() plus a healthy MariaDB primary and replica."""
    variables = {
        "_mysql_primary_hosts": ["mysql1"],
        "_mysql_replica_hosts": ["mysql2"],
        "mysql_replication_password": secrets.token_hex(16),
        "mysql_replication_host": "10.0.0.%",
        "mysql_monitor_password": secrets.token_hex(16),
        "mysql_users": [{"name": "app", "password": secrets.token_hex(16), "host": "10.0.0.%", "priv": "app.*:ALL"}],
    }
    variables.update(overrides)
    return inventory(**variables)


def test_a_healthy_mysql_inventory_passes_preflight(tmp_path):
    result = run("preflight.yml", tmp_path, mysql_inventory())
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Check the host is the MySQL primary or has exactly one" in result.stdout
    assert "UNREACHABLE" not in result.stdout


@pytest.mark.parametrize(
    ("case", "overrides", "expected"),
    [
        ("replica without a primary", {"_mysql_primary_hosts": []},
         "mysql2 is a MySQL replica but group 'mysql_primary' holds 0 hosts; exactly one primary is required"),
        ("two primaries", {"_mysql_primary_hosts": ["mysql1", "mysql3"]},
         "group 'mysql_primary' holds 2 hosts; exactly one primary is required"),
        ("host both primary and replica", {"_mysql_replica_hosts": ["mysql1", "mysql2"]},
         "mysql1 is in both 'mysql_primary' and 'mysql_replicas'"),
        ("missing replication password", {"mysql_replication_password": ""},
         "mysql_replication_password is empty for mysql1 and the cluster has replicas"),
        ("missing replication host pattern", {"mysql_replication_host": ""},
         "mysql_replication_host is empty for mysql1 and the cluster has replicas: set the host pattern"),
        ("missing monitoring password", {"mysql_monitor_password": ""},
         "mysql_monitor_password is empty for mysql1"),
        ("missing user password", {"mysql_users": [{"name": "app", "password": "", "host": "10.0.0.%"}]},
         "mysql_users entry 'app' has an empty password"),
        ("root among the users", {"mysql_users": [{"name": "root", "password": "x", "host": "%"}]},
         "mysql_users entry 'root' is an account the role manages itself"),
        ("CIDR host pattern", {"mysql_replication_host": "10.0.0.0/24"},
         "mysql_replication_host host '10.0.0.0/24' is CIDR notation, which MariaDB does not match"),
        ("server_id out of range", {"mysql_server_id": 0},
         "mysql_server_id=0 on mysql1: it must be between 1 and 4294967295"),
        ("unknown flavor", {"mysql_flavor": "percona"},
         "value of mysql_flavor must be one of: mariadb, mysql, got: percona"),
        ("wrong type", {"mysql_port": "threethreeohsix"},
         "mysql_port"),
    ],
)
def test_bad_mysql_input_stops_site_before_any_host_is_touched(tmp_path, case, overrides, expected):
    result = run("site.yml", tmp_path, mysql_inventory(**overrides))
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, f"{case}: site.yml did not fail"
    assert expected in output, f"{case}: message not found in:\n{output[-3000:]}"
    assert "UNREACHABLE" not in result.stdout, f"{case}: a host was contacted"
    assert "PLAY [Data tier" not in result.stdout, f"{case}: a converge play started"


# --- backup.yml and restore.yml (issue 5) ----------------------------------------------

def backup_inventory(**overrides):
    """inventory() with a database to back up."""
    return inventory(**dict({"postgresql_databases": [{"name": "app", "owner": "app"}]}, **overrides))


def test_good_backup_settings_pass_the_checks(tmp_path):
    """The checks pass and the backup play starts (it then cannot reach the hosts)."""
    result = run("backup.yml", tmp_path, backup_inventory(backup_keep_last=3, backup_keep_days=14))
    assert "PLAY [Backup | every engine on its primary]" in result.stdout, result.stdout[-3000:]


@pytest.mark.parametrize(
    ("playbook", "overrides", "expected"),
    [
        ("backup.yml", {"backup_dir": "var/backups"}, "backup_dir=var/backups and backup_controller_dir= on pg1: "
         "both must be absolute paths"),
        ("backup.yml", {"backup_keep_last": -1}, "backup_keep_last=-1, backup_keep_days=0 on pg1: jobs must be"),
        ("backup.yml", {"backup_jobs": 0}, "backup_jobs=0, backup_keep_last=7"),
        ("backup.yml", {"backup_engines": ["postgres", "oracle"]}, "backup_engines=['postgres', 'oracle']: it must be "
         "a list of engines drawn from postgresql, mysql and redis"),
        ("backup.yml", {"backup_postgres_format": "tar"}, "backup_postgres_format=tar (directory or custom)"),
        ("backup.yml", {"backup_postgres_databases": []}, "backup_postgres_databases=[] (a list of at least one"),
        ("backup.yml", {"backup_postgres_databases": "app"}, "backup_postgres_databases=app (a list of at least one"),
        ("backup.yml", {"backup_copy_host": "vault9", "backup_controller_dir": "/srv/b"},
         "backup_copy_host=vault9: it must be a host of the inventory"),
        ("backup.yml", {"backup_copy_host": "pg2"}, "and backup_controller_dir set, because the copy goes through"),
        ("restore.yml", {}, "restore_database must name the database to restore (it was '')"),
        ("restore.yml", {"restore_database": "app", "restore_backup": "../etc"},
         "restore_backup=../etc must be 'latest' or a backup directory name"),
        ("restore.yml", {"restore_database": "app", "restore_engine": "oracle"}, "restore_engine=oracle (postgresql, "),
        ("restore.yml", {"restore_database": "app", "restore_mode": "dry"}, "restore_mode=dry (restore or verify)"),
        ("restore.yml", {"restore_database": "app", "restore_replace": "maybe"}, "restore_replace=maybe (true or "),
        ("restore.yml", {"restore_database": "app", "restore_engine": "mysql"},
         "restore_engine=mysql restores on the one host of group 'mysql_primary', which holds 0 hosts"),
    ],
)
def test_bad_backup_or_restore_input_stops_before_any_host_is_touched(tmp_path, playbook, overrides, expected):
    result = run(playbook, tmp_path, backup_inventory(**overrides))
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, f"{playbook} {overrides}: did not fail"
    assert expected in output, f"{playbook} {overrides}: message not found in:\n{output[-3000:]}"
    assert "UNREACHABLE" not in result.stdout, f"{playbook} {overrides}: a host was contacted"
    assert "PLAY [Backup | every engine" not in result.stdout and "PLAY [Restore | restore" not in result.stdout


# --- monitoring tier (issue 4) ----------------------------------------------------------

def monitoring_inventory(**overrides):
    """inventory() plus a monitoring host, with the monitoring tier's secrets set."""
    variables = {
        "prometheus_exporters_postgres_password": secrets.token_hex(16),
        "grafana_admin_password": secrets.token_hex(16),
    }
    variables.update(overrides)
    result = inventory(**variables)
    unreachable = {"ansible_host": "127.0.0.1", "ansible_port": 9, "ansible_connection": "ssh"}
    result["all"]["children"]["monitoring"] = {"hosts": {"mon1": unreachable}}
    return result


def test_a_healthy_monitoring_inventory_passes_preflight(tmp_path):
    result = run("preflight.yml", tmp_path, monitoring_inventory(
        alertmanager_receivers=[{"name": "oncall", "type": "slack", "url": "https://hooks.example.invalid/T/B/x"}],
        alertmanager_critical_receivers=["oncall"]))
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Check every alert threshold is a number" in result.stdout
    assert "UNREACHABLE" not in result.stdout


@pytest.mark.parametrize(
    ("case", "overrides", "expected"),
    [
        ("receiver without its URL", {"alertmanager_receivers": [{"name": "oncall", "type": "slack"}],
                                      "alertmanager_critical_receivers": ["oncall"]},
         "alertmanager_receivers entry 'oncall' (type slack) has no url: a slack receiver posts each notification"),
        ("receiver URL that is not a URL", {"alertmanager_receivers": [
            {"name": "tickets", "type": "webhook", "url": "tickets.example.invalid/hook"}]},
         "alertmanager_receivers entry 'tickets' (type webhook) has a url that is not an http:// or https:// URL"),
        ("route to an undefined receiver", {"alertmanager_critical_receivers": ["pager"]},
         "alertmanager_critical_receivers names pager, which alertmanager_receivers does not define"),
        ("threshold that is not a number", {"prometheus_alert_node_disk_warning_percent": "eighty"},
         'prometheus_alert_node_disk_warning_percent is "eighty", which is not a number'),
        ("warning above critical", {"prometheus_alert_postgres_replica_lag_warning_seconds": 60},
         "prometheus_alert_postgres_replica_lag_warning_seconds (60) must be below "
         "prometheus_alert_postgres_replica_lag_critical_seconds (30)"),
        ("not a duration", {"prometheus_alert_down_for": "one minute"},
         'prometheus_alert_down_for is "one minute", which is not a Prometheus duration'),
        ("scrape job group not in the inventory",
         {"prometheus_scrape_jobs": [{"name": "web", "group": "web_servers", "port": 8080}]},
         "prometheus_scrape_jobs entry 'web' names group 'web_servers', which is not in the inventory"),
        ("exporter group not in the inventory", {"prometheus_exporters_list": [
            {"name": "node", "kind": "node", "group": "all", "port": 9100},
            {"name": "postgres", "kind": "postgres", "group": "postgresql", "port": 9187}]},
         "prometheus_exporters_list entry 'postgres' names group 'postgresql', which is not in the inventory"),
        ("missing exporter password", {"prometheus_exporters_postgres_password": ""},
         "prometheus_exporters_postgres_password for exporter 'postgres' on pg1 is empty"),
        ("Grafana's admin/admin", {"grafana_admin_password": "admin"},
         "grafana_admin_password for mon1 is a default (admin or the user name)"),
        ("Grafana .deb that is not there", {"grafana_install_source": "deb", "grafana_deb_path": "/nonexistent/g.deb"},
         "grafana_deb_path is '/nonexistent/g.deb', which is not a file on the control node"),
        ("unknown Grafana source", {"grafana_install_source": "docker"},
         "value of grafana_install_source must be one of: apt, deb, none, got: docker"),
    ],
)
def test_bad_monitoring_input_stops_site_before_any_host_is_touched(tmp_path, case, overrides, expected):
    result = run("site.yml", tmp_path, monitoring_inventory(**overrides))
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, f"{case}: site.yml did not fail"
    assert expected in output, f"{case}: message not found in:\n{output[-3000:]}"
    assert "UNREACHABLE" not in result.stdout, f"{case}: a host was contacted"
    assert "PLAY [Data tier" not in result.stdout, f"{case}: a converge play started"


@pytest.mark.parametrize("role", ["prometheus", "prometheus_exporters"])
def test_a_monitoring_role_applied_without_the_tier_map_says_where_the_exporters_are(tmp_path, role):
    """The exporters' list lives in playbooks/vars/tiers.yml: a play that applies the role
    without loading it stops in the role's own checks, naming the file, before any host."""
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(monitoring_inventory()))
    (tmp_path / "play.yml").write_text(yaml.safe_dump([
        {"name": "Apply the role alone", "hosts": "monitoring", "gather_facts": False,
         "roles": [f"bundle.stack.{role}"]}]))
    env = dict(os.environ, ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    result = subprocess.run(["ansible-playbook", "-i", str(tmp_path / "hosts.yml"), str(tmp_path / "play.yml")],
                            cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300)
    output = " ".join(result.stdout.split())
    assert result.returncode != 0
    assert "bundle_exporters is undefined: the exporters' list is in the tier map" in output, output[-3000:]
    assert "UNREACHABLE" not in result.stdout


# --- cache tier: Redis and Sentinel (issue 3) ---------------------------------------------

def redis_inventory(**overrides):
    """inventory() plus a Redis master, two replicas and a Sentinel on each, secrets set.
    _redis_master_hosts and _redis_sentinels (lists of names) change the groups."""
    unreachable = {"ansible_host": "127.0.0.1", "ansible_port": 9, "ansible_connection": "ssh"}
    variables = {name: secrets.token_hex(16) for name in (
        "redis_password", "redis_replication_password", "redis_monitor_password", "redis_failover_password",
        "redis_sentinel_admin_password", "redis_sentinel_client_password")}
    variables.update(overrides)
    masters = variables.pop("_redis_master_hosts", ["redis1"])
    sentinels = variables.pop("_redis_sentinels", ["redis1", "redis2", "redis3"])
    result = inventory(**variables)
    result["all"]["children"]["redis"] = {"children": {
        "redis_master": {"hosts": {name: unreachable for name in masters}},
        "redis_replicas": {"hosts": {"redis2": unreachable, "redis3": unreachable}},
    }}
    result["all"]["children"]["redis_sentinel"] = {"hosts": {name: unreachable for name in sentinels}}
    return result


def test_a_healthy_redis_inventory_passes_preflight(tmp_path):
    result = run("preflight.yml", tmp_path, redis_inventory(bundle_environment="production"))
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Check the quorum can be reached" in result.stdout
    assert "UNREACHABLE" not in result.stdout


@pytest.mark.parametrize(
    ("case", "overrides", "expected"),
    [
        ("quorum larger than the Sentinels", {"redis_sentinel_quorum": 4},
         "redis_sentinel_quorum=4 but group 'redis_sentinel' holds 3 Sentinels: the quorum must be between 1 "
         "and the number of Sentinels, or no failover could ever start"),
        ("fewer than three Sentinels in production",
         {"bundle_environment": "production", "_redis_sentinels": ["redis1", "redis2"]},
         "group 'redis_sentinel' holds 2 Sentinels, but bundle_environment=production needs at least 3"),
        ("replica without a master", {"_redis_master_hosts": []},
         "is a Redis replica but group 'redis_master' holds 0 hosts; exactly one master is required"),
        ("two masters", {"_redis_master_hosts": ["redis1", "redis4"]},
         "group 'redis_master' holds 2 hosts; exactly one master is required"),
        ("missing password", {"redis_password": ""},
         "redis_password is empty for redis1: set it from Ansible Vault or the environment"),
        ("missing Sentinel password", {"redis_sentinel_client_password": ""},
         "redis_sentinel_client_password is empty for redis1"),
        ("Sentinel users sharing a name", {"redis_sentinel_monitor_user": "sentinel-client"},
         "redis_sentinel_monitor_user are sentinel-admin, sentinel-client, sentinel-client on redis1: each needs "
         "its own name"),
        ("password Redis cannot write back", {"redis_replication_password": "two words"},
         "redis_replication_password for redis1 contains a space, a quote or a backslash"),
        ("renamed command Sentinel needs", {"redis_renamed_commands": {"CONFIG": ""}},
         "redis_renamed_commands renames CONFIG on redis1: Sentinel and replication send these commands by name"),
        ("more replicas to write than replicas", {"redis_min_replicas_to_write": 3},
         "redis_min_replicas_to_write=3 but group 'redis_replicas' holds 2 replicas: the master would refuse"),
        ("memory limit Redis would rewrite", {"redis_maxmemory": "1.5gb"},
         "redis_maxmemory=1.5gb on redis1: give bytes or a whole number of kb, mb or gb"),
        ("unknown eviction policy", {"redis_maxmemory_policy": "lru"},
         "value of redis_maxmemory_policy must be one of"),
    ],
)
def test_bad_redis_input_stops_site_before_any_host_is_touched(tmp_path, case, overrides, expected):
    result = run("site.yml", tmp_path, redis_inventory(**overrides))
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, f"{case}: site.yml did not fail"
    assert expected in output, f"{case}: message not found in:\n{output[-3000:]}"
    assert "UNREACHABLE" not in result.stdout, f"{case}: a host was contacted"
    assert "PLAY [Data tier" not in result.stdout and "PLAY [Cache tier" not in result.stdout, case


# --- migrate.yml and rollback-migration.yml (issue 6) ------------------------------------

def migrate_inventory(**overrides):
    """inventory() with the password the migration playbooks connect with (the app owner's)."""
    return inventory(**dict({"bundle_app_password": secrets.token_hex(16)}, **overrides))


@pytest.mark.parametrize("playbook", ["migrate.yml", "rollback-migration.yml"])
def test_good_migration_settings_pass_the_checks(tmp_path, playbook):
    """The checks pass and the next play starts (it then cannot reach the database host)."""
    result = run(playbook, tmp_path, migrate_inventory())
    assert "| learn the address of the database host]" in result.stdout, result.stdout[-3000:]


@pytest.mark.parametrize("playbook", ["migrate.yml", "rollback-migration.yml"])
def test_mariadb_set_in_the_inventory_targets_the_mysql_primary(tmp_path, playbook):
    inv = migrate_inventory(migrate_engine="mysql", bundle_mysql_app_password=secrets.token_hex(16),
                            _mysql_primary_hosts=["mysql1"])
    result = run(playbook, tmp_path, inv)
    assert "| learn the address of the database host]" in result.stdout, result.stdout[-3000:]
    assert "[mysql1]" in result.stdout and "[pg1]" not in result.stdout


@pytest.mark.parametrize(
    ("playbook", "overrides", "expected"),
    [
        ("migrate.yml", {"migrate_dir": "/nonexistent/migrations"},
         "migrate_dir=/nonexistent/migrations (a directory of *.sql migration files on the control node)"),
        ("migrate.yml", {"migrate_dir": "/etc"}, "migrate_dir=/etc (a directory of *.sql migration files"),
        ("migrate.yml", {"migrate_engine": "oracle"}, "migrate_engine=oracle (postgresql or mysql)"),
        ("migrate.yml", {"migrate_database": ""}, "migrate_database= (not empty)"),
        ("migrate.yml", {"migrate_host": "db9"}, "migrate_host=db9 matches no host of the inventory"),
        ("migrate.yml", {"bundle_app_password": ""}, "migrate_login_password is empty for user app"),
        ("migrate.yml", {"migrate_target": "0009_nope"},
         "migrate_target=0009_nope: there is no 0009_nope.sql or 0009_nope.up.sql in"),
        ("migrate.yml", {"migrate_backup_with": "tar"}, "migrate_backup_with=tar: use db_backup"),
        ("rollback-migration.yml", {"migrate_rollback_steps": 0},
         "migrate_rollback_steps=0, migrate_rollback_to=unset: set one of them, steps as a whole number of at least 1"),
        ("rollback-migration.yml", {"migrate_rollback_steps": "two"},
         "migrate_rollback_steps=two, migrate_rollback_to"),
        ("rollback-migration.yml", {"migrate_rollback_steps": 2, "migrate_rollback_to": "0001_accounts"},
         "migrate_rollback_steps=2, migrate_rollback_to=0001_accounts: set one of them"),
        ("rollback-migration.yml", {"migrate_engine": "sqlite"}, "migrate_engine=sqlite (postgresql or mysql)"),
        ("rollback-migration.yml", {"bundle_app_password": ""}, "migrate_login_password is empty for user app"),
        ("migrate.yml", {"migrate_engine": "mysql", "_mysql_primary_hosts": ["mysql1"]},
         "migrate_login_password is empty for user app"),
    ],
)
def test_bad_migration_input_stops_before_any_host_is_touched(tmp_path, playbook, overrides, expected):
    result = run(playbook, tmp_path, migrate_inventory(**overrides))
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, f"{playbook} {overrides}: did not fail"
    assert expected in output, f"{playbook} {overrides}: message not found in:\n{output[-3000:]}"
    assert "UNREACHABLE" not in result.stdout, f"{playbook} {overrides}: a host was contacted"
    assert "| learn the address of the database host]" not in result.stdout


# --- application and proxy tiers (issue 13) -----------------------------------------------

def release_artifact(directory, version="1.0.0"):
    """A release tarball of the artifact's layout (refapp-<version>/release.json with the
    checksum of every file) and its .sha256 file beside it, as app/build.py writes them."""
    top = directory / f"refapp-{version}"
    (top / "migrations" / "postgresql").mkdir(parents=True)
    schema = top / "migrations" / "postgresql" / "0001_jobs.sql"
    schema.write_text("CREATE TABLE jobs (id bigint PRIMARY KEY);\n")
    files = {"migrations/postgresql/0001_jobs.sql": hashlib.sha256(schema.read_bytes()).hexdigest()}
    (top / "release.json").write_text(json.dumps({"name": "refapp", "distribution": "bundle-refapp", "version": version,
                                                  "files": files}))
    artifact = directory / f"refapp-{version}.tar.gz"
    with tarfile.open(artifact, "w:gz") as tar:
        tar.add(top, arcname=top.name)
    (directory / f"{artifact.name}.sha256").write_text(
        f"{hashlib.sha256(artifact.read_bytes()).hexdigest()}  {artifact.name}\n")
    return artifact


def app_inventory(tmp_path, **overrides):
    """redis_inventory() plus two app hosts, a proxy host and a release artifact.
    _app_hosts and _drop_groups (lists of names) change the groups."""
    unreachable = {"ansible_host": "127.0.0.1", "ansible_port": 9, "ansible_connection": "ssh"}
    variables = {
        "app_release_artifact": str(release_artifact(tmp_path / "release")),
        "app_db_password": secrets.token_hex(16),
        "postgresql_databases": [{"name": "app", "owner": "app"}],
    }
    variables.update(overrides)
    app_hosts = variables.pop("_app_hosts", ["app1", "app2"])
    dropped = variables.pop("_drop_groups", [])
    result = redis_inventory(**variables)
    children = result["all"]["children"]
    children["app"] = {"hosts": {name: unreachable for name in app_hosts}}
    children["proxy"] = {"hosts": {"proxy1": unreachable}}
    for group in dropped:
        children.pop(group)
    return result


def test_a_healthy_app_inventory_passes_preflight(tmp_path):
    result = run("preflight.yml", tmp_path, app_inventory(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Check the release artifact's checksum" in result.stdout
    assert "Check the proxy has application hosts to send requests to" in result.stdout
    assert "UNREACHABLE" not in result.stdout


@pytest.mark.parametrize(
    ("case", "overrides", "expected"),
    [
        ("app hosts without a database", {"_drop_groups": ["pgbouncer"]},
         "app1 is an app host, but group 'pgbouncer' (app_db_write_group, the database's write path) has no hosts"),
        ("app hosts without a cache", {"_drop_groups": ["redis_sentinel"]},
         "app1 is an app host, but group 'redis_sentinel' (app_redis_sentinel_group, the Sentinels that find the "
         "Redis master) has no hosts"),
        ("DSN engine that is not the data tier's", {"app_db_engine": "mysql"},
         "app_db_engine=mysql on app1, but the write path pgbouncer1 (group pgbouncer) runs postgresql (PgBouncer in "
         "front of PostgreSQL)"),
        ("DSN pointing at MariaDB", {"app_db_write_group": "mysql_primary", "_mysql_primary_hosts": ["mysql1"]},
         "app_db_engine=postgresql on app1, but the write path mysql1 (group mysql_primary) runs mysql"),
        ("database the data tier does not create", {"app_db_name": "shop"},
         "connects to database shop as app: both must be in postgresql_databases and postgresql_users of pg1, "
         "and in pgbouncer_databases and pgbouncer_auth_users of pgbouncer1"),
        ("missing database password", {"app_db_password": ""},
         "app_db_password is empty for app1"),
        ("port used twice on one host", {"app_frontend_port": 8000},
         "Port 8000 on app1 is used by app_backend_port and app_frontend_port"),
        ("port of a colocated service", {"_app_hosts": ["app1", "redis1"], "app_workers": [
            {"type": "default", "queues": ["default"], "health_port": 26379}]},
         "Port 26379 on redis1 is used by app_workers default health_port and redis_sentinel_port"),
        ("worker type with no queue", {"app_workers": [{"type": "mail", "queues": [], "health_port": 9000}]},
         "app_workers entry 'mail' on app1 needs a type of its own and at least one queue"),
        ("release artifact that does not exist", {"app_release_artifact": "/nonexistent/refapp-1.0.0.tar.gz"},
         "app_release_artifact is '/nonexistent/refapp-1.0.0.tar.gz', which is not a release tarball"),
        ("release artifact whose checksum does not match", {"app_release_sha256": "0" * 64},
         "says 0000000000000000000000000000000000000000000000000000000000000000: the artifact is not the release it "
         "claims to be"),
        ("proxy without app hosts", {"_app_hosts": []},
         "proxy1 runs the proxy but group 'app' (nginx_app_group) has no hosts"),
    ],
)
def test_bad_app_input_stops_site_before_any_host_is_touched(tmp_path, case, overrides, expected):
    result = run("site.yml", tmp_path, app_inventory(tmp_path, **overrides))
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, f"{case}: site.yml did not fail"
    assert expected in output, f"{case}: message not found in:\n{output[-3000:]}"
    assert "UNREACHABLE" not in result.stdout, f"{case}: a host was contacted"
    assert "PLAY [Data tier" not in result.stdout and "PLAY [App tier" not in result.stdout, case


def test_a_release_whose_checksum_file_disagrees_stops_site(tmp_path):
    """The .sha256 file beside the artifact is what the build wrote: a changed byte shows."""
    inv = app_inventory(tmp_path)
    artifact = pathlib.Path(inv["all"]["vars"]["app_release_artifact"])
    artifact.write_bytes(artifact.read_bytes() + b"\0")
    result = run("site.yml", tmp_path, inv)
    output = " ".join(result.stdout.split())
    assert result.returncode != 0
    assert f"{artifact}.sha256 says" in output and "the artifact is not the release it claims to be" in output
    assert "UNREACHABLE" not in result.stdout


def deploy_inventory(tmp_path, **overrides):
    """app_inventory() with a monitoring host scraping every 15 s."""
    inv = app_inventory(tmp_path, **overrides)
    inv["all"]["children"]["monitoring"] = {"hosts": {"mon1": {"ansible_host": "127.0.0.1", "ansible_port": 9}}}
    return inv


@pytest.mark.parametrize(
    ("case", "extra", "expected"),
    [
        ("unknown version", ["-e", "deploy_version=9.9.9"],
         "deploy_version=9.9.9 is unknown: there is no {release}/refapp-9.9.9.tar.gz (releases in {release}: "
         "refapp-1.0.0)"),
        ("no version", [], "deploy_version is required"),
        ("batch of zero", ["-e", "deploy_version=1.0.0", "-e", "deploy_batch_size=0"],
         "deploy_batch_size=0 must be a whole number from 1 to 2, the number of app hosts"),
        ("batch larger than the group", ["-e", "deploy_version=1.0.0", "-e", "deploy_batch_size=3"],
         "deploy_batch_size=3 must be a whole number from 1 to 2"),
        ("bake window under two scrapes", ["-e", "deploy_version=1.0.0", "-e", "deploy_bake_seconds=20"],
         "deploy_bake_seconds=20 is shorter than two scrape intervals (30 s)"),
        ("threshold that is not a number", ["-e", "deploy_version=1.0.0", "-e", "deploy_error_percent=five"],
         "deploy_error_percent=five is not a positive number"),
        ("unknown no-data policy", ["-e", "deploy_version=1.0.0", "-e", "deploy_no_data=ignore"],
         "deploy_no_data=ignore is not one of fail, pass, traffic"),
    ],
)
def test_bad_deploy_input_stops_before_any_host_is_touched(tmp_path, case, extra, expected):
    release = tmp_path / "release"
    result = run("deploy.yml", tmp_path, deploy_inventory(tmp_path), "-e", f"deploy_release_dir={release}", *extra)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, f"{case}: deploy.yml did not fail"
    assert expected.format(release=release) in output, f"{case}: message not found in:\n{output[-3000:]}"
    assert "UNREACHABLE" not in result.stdout and "PLAY [Preflight" not in result.stdout, case


def test_a_deploy_without_prometheus_or_with_a_changed_artifact_is_refused(tmp_path):
    release = tmp_path / "release"
    inv = app_inventory(tmp_path)
    no_monitor = run("deploy.yml", tmp_path, inv, "-e", f"deploy_release_dir={release}", "-e", "deploy_version=1.0.0")
    assert "The inventory has no monitoring host" in " ".join(no_monitor.stdout.split()), no_monitor.stdout[-2000:]
    inv["all"]["children"]["monitoring"] = {"hosts": {"mon1": {"ansible_host": "127.0.0.1", "ansible_port": 9}}}
    artifact = release / "refapp-1.0.0.tar.gz"
    artifact.write_bytes(artifact.read_bytes() + b"\0")
    changed = run("deploy.yml", tmp_path, inv, "-e", f"deploy_release_dir={release}", "-e", "deploy_version=1.0.0")
    output = " ".join(changed.stdout.split())
    assert changed.returncode != 0 and "the artifact is not the release it claims to be" in output, output[-3000:]
    assert "UNREACHABLE" not in changed.stdout and "PLAY [Deploy | the release" not in changed.stdout
