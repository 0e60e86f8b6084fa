"""The cache tier on real containers: one master and two replicas under three
Sentinels, authentication and command limits, persistence, a Sentinel client
(redis-py, from the control node) that finds the master and writes, the probes
failing on a stopped replica, and a failover drill after which a re-run of the
converge playbook changes nothing and keeps the promoted master.

The tests do not assume which host is the master: a drill may have moved it."""

import os
import pathlib
import re
import time
import uuid

import pytest
import redis
import testinfra
from redis.sentinel import Sentinel

from tests.support.scenario import run_playbook

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
PROJECT = pathlib.Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
SCENARIO = pathlib.Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])
SECRETS = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "secrets"
NAMES = ["mol-redis1", "mol-redis2", "mol-redis3"]
MASTER_NAME = "bundle"
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def host(name):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")


HOSTS = {name: host(name) for name in NAMES}
ADDRESSES = {name: target.check_output("hostname -I").split()[0] for name, target in HOSTS.items()}
NAME_OF = {address: name for name, address in ADDRESSES.items()}


def secret(name):
    return (SECRETS / name).read_text().strip()


def server(name, user="monitor", password_file="redis_monitor"):
    """A client of one Redis server, from the control node."""
    return redis.Redis(host=ADDRESSES[name], username=user, password=secret(password_file),
                       socket_timeout=3, socket_connect_timeout=3, decode_responses=True)


def sentinel_client():
    """What an application uses: Sentinel discovery, then the app user on Redis."""
    return Sentinel([(ADDRESSES[name], 26379) for name in NAMES],
                    sentinel_kwargs=dict(username="sentinel-client", password=secret("redis_sentinel_client"),
                                         socket_timeout=1, socket_connect_timeout=1),
                    username="app", password=secret("redis_app"), socket_timeout=2, socket_connect_timeout=1,
                    decode_responses=True)


def current_master():
    address, _port = sentinel_client().discover_master(MASTER_NAME)
    return NAME_OF[address]


def replication(name):
    return server(name).info("replication")


def wait_until(condition, seconds, what):
    """Poll condition() every 0.5 s for at most `seconds`; fail naming `what`."""
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            result = condition()
            if result:
                return result
        except (redis.RedisError, OSError) as exc:
            last = exc
        time.sleep(0.5)
    pytest.fail(f"{what} not within {seconds} s (last error: {last})")


def rejoined(name, master):
    info = replication(name)
    return (info["role"] == "slave" and info["master_host"] == ADDRESSES[master]
            and info["master_link_status"] == "up")


def settled():
    """One master with both replicas online, seen by every Sentinel."""
    master = current_master()
    if replication(master)["connected_slaves"] != 2:
        return None
    for name in NAMES:
        sentinel = redis.Redis(host=ADDRESSES[name], port=26379, username="sentinel-client",
                               password=secret("redis_sentinel_client"), decode_responses=True, socket_timeout=2)
        state = sentinel.sentinel_master(MASTER_NAME)
        if state["ip"] != ADDRESSES[master] or state["is_sdown"] or state["num-other-sentinels"] != 2:
            return None
        replicas = sentinel.sentinel_slaves(MASTER_NAME)
        if len(replicas) != 2 or any(r["is_sdown"] or r["is_disconnected"] for r in replicas):
            return None
    return master


def test_services_run_hardened_with_the_lab_drop_in_only():
    for target in HOSTS.values():
        for unit in ("redis-server", "redis-sentinel"):
            service = target.service(unit)
            assert service.is_running and service.is_enabled, unit
            props = dict(line.split("=", 1) for line in target.check_output(
                "systemctl show -p PrivateUsers -p ProtectSystem -p NoNewPrivileges -p User %s", unit).splitlines())
            assert props == {"PrivateUsers": "no", "ProtectSystem": "strict", "NoNewPrivileges": "yes",
                             "User": "redis"}, (unit, props)
            assert target.file(f"/etc/systemd/system/{unit}.service.d/private-users.conf").contains(
                "^PrivateUsers=false$")


def test_listening_on_loopback_and_the_host_address_only():
    for name, target in HOSTS.items():
        listening = set(target.check_output("ss -Hltn '( sport = :6379 or sport = :26379 )' | awk '{print $4}'")
                        .split())
        assert listening == {f"{address}:{port}" for address in ("127.0.0.1", ADDRESSES[name])
                             for port in (6379, 26379)}, (name, listening)


def test_one_master_with_both_replicas_online_and_every_sentinel_agrees():
    master = settled()
    assert master, "the cluster is not settled: expected one master, two replicas, three agreeing Sentinels"
    info = replication(master)
    assert info["role"] == "master"
    assert sorted(info[f"slave{i}"]["state"] for i in range(2)) == ["online", "online"]
    for name in set(NAMES) - {master}:
        assert rejoined(name, master), f"{name} does not follow {master}"
    sentinel = redis.Redis(host=ADDRESSES[master], port=26379, username="sentinel-client",
                           password=secret("redis_sentinel_client"), decode_responses=True)
    assert sentinel.execute_command("SENTINEL", "CKQUORUM", MASTER_NAME).startswith("OK 3 usable Sentinels")
    assert sentinel.sentinel_master(MASTER_NAME)["num-other-sentinels"] == 2


def test_authentication_is_required_and_dangerous_commands_are_denied():
    name = current_master()
    anonymous = redis.Redis(host=ADDRESSES[name], socket_timeout=3)
    with pytest.raises(redis.AuthenticationError):
        anonymous.ping()
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host=ADDRESSES[name], password=secret("redis_app")).ping()  # the default user is off
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host=ADDRESSES[name], username="app", password="wrong-password").ping()
    app = server(name, "app", "redis_app")
    assert app.ping()
    for command in (["FLUSHALL"], ["FLUSHDB"], ["CONFIG", "GET", "maxmemory"], ["KEYS", "*"],
                    ["SHUTDOWN"], ["ACL", "LIST"], ["REPLICAOF", "NO", "ONE"]):
        with pytest.raises(redis.exceptions.NoPermissionError):
            app.execute_command(*command)
    # DEBUG is also off for every user (enable-debug-command no), which Redis checks first.
    with pytest.raises(redis.ResponseError, match="DEBUG command not allowed|NOPERM"):
        app.execute_command("DEBUG", "SLEEP", "0")
    monitor = server(name)
    assert monitor.info("server")["redis_version"]
    monitor.slowlog_get()
    monitor.execute_command("LATENCY", "LATEST")
    with pytest.raises(redis.exceptions.NoPermissionError):
        monitor.get("any-key")
    replicator = server(name, "replicator", "redis_replicator")
    with pytest.raises(redis.exceptions.NoPermissionError):
        replicator.get("any-key")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host=ADDRESSES[name], port=26379, socket_timeout=3).ping()
    client = redis.Redis(host=ADDRESSES[name], port=26379, username="sentinel-client",
                         password=secret("redis_sentinel_client"), socket_timeout=3)
    with pytest.raises(redis.exceptions.NoPermissionError):
        client.execute_command("SENTINEL", "FAILOVER", MASTER_NAME)


def test_no_password_is_stored_in_plain_text_where_redis_allows_hashes():
    passwords = [secret(name) for name in ("redis_app", "redis_replicator", "redis_monitor", "redis_failover",
                                           "redis_sentinel_admin", "redis_sentinel_client")]
    for target in HOSTS.values():
        for path in ("/etc/redis/users.acl", "/etc/redis/sentinel-users.acl"):
            acl = target.file(path)
            assert (acl.user, acl.group, acl.mode) == ("redis", "redis", 0o640)
            assert all(password not in acl.content_string for password in passwords)
            assert all(" on #" in line or line.startswith("user default off")
                       for line in acl.content_string.splitlines()), acl.content_string
        for path in ("/etc/redis/redis.conf", "/etc/redis/sentinel.conf"):
            assert (target.file(path).user, target.file(path).mode) == ("redis", 0o640)


def test_persistence_memory_limit_and_diagnostics_are_configured():
    for name in NAMES:
        monitor = server(name)
        persistence = monitor.info("persistence")
        assert persistence["aof_enabled"] == 1 and persistence["rdb_last_bgsave_status"] == "ok"
        memory = monitor.info("memory")
        assert (memory["maxmemory"], memory["maxmemory_policy"]) == (64 * 1024 * 1024, "allkeys-lru")
        assert HOSTS[name].file("/var/lib/redis/appendonlydir").is_directory
        conf = HOSTS[name].file("/etc/redis/redis.conf")
        for line in ("save 3600 1", "appendfsync everysec", "slowlog-log-slower-than 10000",
                     "latency-monitor-threshold 100", "min-replicas-to-write 1", "min-replicas-max-lag 10"):
            assert conf.contains(f"^{line}$"), line
    assert replication(current_master())["min_slaves_good_slaves"] == 2


def test_a_sentinel_client_finds_the_master_writes_and_every_replica_holds_the_data():
    sentinel = sentinel_client()
    master = sentinel.master_for(MASTER_NAME)
    token = uuid.uuid4().hex
    assert master.set(f"drill:{token}", token)
    assert master.execute_command("WAIT", 2, 5000) == 2
    for name in set(NAMES) - {current_master()}:
        assert server(name, "app", "redis_app").get(f"drill:{token}") == token, name
    assert sentinel.slave_for(MASTER_NAME).get(f"drill:{token}") == token
    with pytest.raises(redis.ReadOnlyError):
        server(sorted(set(NAMES) - {current_master()})[0], "app", "redis_app").set("on-a-replica", "x")


def test_smoke_passes_on_a_healthy_cluster():
    result = run_playbook(PROJECT / "playbooks" / "smoke.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "6 passed, 0 warned, 0 failed" in result.stdout


def sentinel_settings():
    views = []
    for name in NAMES:
        state = redis.Redis(host=ADDRESSES[name], port=26379, username="sentinel-client",
                            password=secret("redis_sentinel_client"), decode_responses=True,
                            socket_timeout=2).sentinel_master(MASTER_NAME)
        views.append((state["ip"], state["down-after-milliseconds"], state["quorum"]))
    return views


def test_changed_sentinel_settings_apply_without_moving_the_master():
    master = wait_until(settled, 60, "a settled cluster")
    # One Sentinel is enough to show it, and quicker: the settings are per Sentinel.
    changed = run_playbook(SCENARIO / "sentinel.yml", "--limit", "mol-redis2",
                           "-e", "redis_sentinel_down_after_milliseconds=6000", "-e", "redis_sentinel_quorum=3")
    assert changed.returncode == 0, changed.stdout[-3000:]
    assert sentinel_settings() == [(ADDRESSES[master], 5000, 2), (ADDRESSES[master], 6000, 3),
                                   (ADDRESSES[master], 5000, 2)]
    assert "sentinel down-after-milliseconds bundle 6000" in changed.stdout  # what changed, no password
    back = run_playbook(SCENARIO / "sentinel.yml", "--limit", "mol-redis2")
    assert back.returncode == 0, back.stdout[-3000:]
    assert sentinel_settings() == [(ADDRESSES[master], 5000, 2)] * 3
    assert wait_until(settled, 60, "the Sentinels settling after the restart") == master


def test_probes_fail_with_their_message_against_a_stopped_replica():
    master = current_master()
    replica = sorted(set(NAMES) - {master})[0]
    HOSTS[replica].check_output("systemctl stop redis-server")
    try:
        result = run_playbook(PROJECT / "playbooks" / "smoke.yml", "-e", "smoke_probe_timeout=4")
        output = " ".join(result.stdout.split())
        assert result.returncode != 0
        assert f"{replica} redis" in output and "FAIL" in output
        assert "Unit redis-server.service: ActiveState=inactive" in output
        # The master's and the Sentinels' probes see one replica missing too.
        assert "1 online replica (need >= 2)" in output
        assert "replicas up (need >= 2)" in output
    finally:
        HOSTS[replica].check_output("systemctl start redis-server")
    wait_until(lambda: rejoined(replica, master) and settled(), 60, f"{replica} rejoining {master}")


def test_failover_drill_keeps_the_promoted_master_through_a_rerun():
    old = wait_until(settled, 60, "a settled cluster before the drill")
    sentinel = sentinel_client()
    before = uuid.uuid4().hex
    master = sentinel.master_for(MASTER_NAME)
    master.set(f"before:{before}", before)
    assert master.execute_command("WAIT", 2, 5000) == 2

    stopped = time.monotonic()
    HOSTS[old].check_output("systemctl stop redis-server")

    def write_through_sentinel():
        client = sentinel_client()
        new = NAME_OF[client.discover_master(MASTER_NAME)[0]]
        if new == old:
            return None
        client.master_for(MASTER_NAME).set(f"after:{before}", "written")
        return new

    new = wait_until(write_through_sentinel, 60, "a write to a promoted replica through Sentinel")
    elapsed = time.monotonic() - stopped
    print(f"failover: {old} -> {new}, first write through Sentinel after {elapsed:.1f} s")
    assert new in set(NAMES) - {old}
    assert server(new, "app", "redis_app").get(f"before:{before}") == before, "an acknowledged write was lost"

    HOSTS[old].check_output("systemctl start redis-server")
    wait_until(lambda: rejoined(old, new), 90, f"{old} rejoining {new} as a replica")
    wait_until(lambda: settled() == new, 60, "every Sentinel seeing the new master and both replicas")
    # Every server's redis.conf in the form Redis rewrites it, as a failover leaves it.
    for name in NAMES:
        assert server(name, "sentinel", "redis_failover").config_rewrite()

    rerun = run_playbook(SCENARIO / "converge.yml")
    assert rerun.returncode == 0, rerun.stdout[-4000:]
    recap = {m[0]: int(m[2]) for m in RECAP.findall(rerun.stdout)}
    # localhost: site.yml's control-node plays (the app tier's migrations, skipped without app hosts).
    assert set(NAMES) <= set(recap) <= {*NAMES, "localhost"}, recap
    assert not any(recap.values()), f"re-run changed something: {recap}"
    assert settled() == new, "the re-run moved the master"
    assert replication(old)["role"] == "slave"
