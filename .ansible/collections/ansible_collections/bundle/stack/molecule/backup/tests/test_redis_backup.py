"""Verified backups and restores of a real Redis master (ACL users, RDB and
AOF on, as the redis role sets it up) through backup.yml and restore.yml:
keys of every type are backed up, deleted and restored with the same values
(and survive a restart, so the rebuilt AOF holds them); one changed byte is
refused with the data untouched; a non-empty server is only replaced on
request, after a safety backup."""

import json
import os
import pathlib
import subprocess
import uuid

import pytest
import testinfra

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
PROJECT = pathlib.Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
SECRETS = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "secrets"
HOST = testinfra.get_host(f"ansible://mol-backup-redis1?ansible_inventory={INVENTORY}")


def password():
    return (SECRETS / "redis_app").read_text().strip()


def cli(*words):
    """redis-cli as the application's user (its password from the lab secrets)."""
    return HOST.check_output("REDISCLI_AUTH=%s redis-cli --user app " + " ".join(["%s"] * len(words)),
                             password(), *words)


def pipe(commands):
    """Many commands through one redis-cli, one per line."""
    return HOST.check_output("printf '%%s\\n' " + " ".join(["%s"] * len(commands))
                             + " | REDISCLI_AUTH=%s redis-cli --user app", *commands, password())


STRINGS = [f"drill:s:{index}" for index in range(200)]


def keys():
    return sorted(cli("--scan", "--pattern", "drill:*").split())


def contents():
    """Every drill key with its value, read by type (members of sets sorted), and which have a TTL."""
    return "\n".join([
        " ".join(keys()),
        pipe([f"MGET {' '.join(STRINGS)}", "HGETALL drill:hash", "LRANGE drill:list 0 -1",
              "ZRANGE drill:zset 0 -1 WITHSCORES", "GET drill:ttl", "GET drill:new", "GET drill:after"]),
        " ".join(sorted(cli("SMEMBERS", "drill:set").split())),
        "ttl" if int(cli("TTL", "drill:ttl")) > 0 else "no ttl",
    ])


def delete_all():
    found = keys()
    if found:
        cli("DEL", *found)


def listing(directory):
    result = HOST.run("ls -A %s", directory)
    return sorted(result.stdout.split()) if result.rc == 0 else []


def manifest(path):
    return json.loads(HOST.check_output("cat %s/manifest.json", path))


def run_playbook(playbook, *args):
    env = dict(os.environ, BUNDLE_SECRETS_DIR=str(SECRETS), ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"),
               ANSIBLE_NOCOLOR="1")
    command = ["ansible-playbook", "-i", INVENTORY, str(PROJECT / "playbooks" / playbook), *args]
    return subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=900)


def backup(directory):
    return run_playbook("backup.yml", "-e", f"backup_dir={directory}", "-e", '{"backup_engines": ["redis"]}')


def restore(directory, *args):
    return run_playbook("restore.yml", "-e", f"backup_dir={directory}", "-e", "restore_engine=redis", *args)


@pytest.fixture(autouse=True)
def drill_keys():
    delete_all()
    pipe([f"SET drill:s:{index} \"value {index} with spaces and ünïcode\"" for index in range(200)])
    cli("HSET", "drill:hash", "a", "1", "b", "two")
    cli("RPUSH", "drill:list", "x", "y", "z")
    cli("SADD", "drill:set", "m1", "m2")
    cli("ZADD", "drill:zset", "1", "one", "2.5", "two")
    cli("SET", "drill:ttl", "expires later", "EX", "3600")


def test_keys_backed_up_deleted_and_restored_are_identical():
    directory = f"/var/backups/redis-drill-{uuid.uuid4().hex[:8]}"
    before = contents()
    result = backup(directory)
    assert result.returncode == 0, result.stdout[-4000:]
    [name] = listing(directory)
    taken = manifest(f"{directory}/{name}")
    assert taken["row_counts"] == {"keys": 205} and taken["details"]["expires"] == 1
    assert "dump.rdb" in taken["files"]

    delete_all()
    assert keys() == []
    result = restore(directory)
    assert result.returncode == 0, result.stdout[-4000:]
    assert f"restored redis from {name}" in result.stdout
    assert contents() == before
    # The rebuilt append-only file holds the data too: it survives a restart.
    HOST.check_output("systemctl restart redis-server")
    HOST.check_output("for i in $(seq 50); do redis-cli ping 2>/dev/null | grep -q NOAUTH && break; sleep 0.2; done")
    assert contents() == before


def test_one_changed_byte_is_refused_and_the_data_is_untouched():
    directory = f"/var/backups/redis-drill-{uuid.uuid4().hex[:8]}"
    assert backup(directory).returncode == 0
    [name] = listing(directory)
    HOST.check_output("python3 -c %s %s", "import sys; f = open(sys.argv[1], 'r+b'); f.seek(64); b = f.read(1); "
                      "f.seek(64); f.write(bytes([b[0] ^ 1])); f.close()", f"{directory}/{name}/dump.rdb")
    cli("SET", "drill:after", "written after the backup")
    before = contents()
    result = restore(directory, "-e", "restore_replace=true")
    assert result.returncode != 0
    output = " ".join(result.stdout.split())
    assert "dump.rdb has SHA-256" in output and "nothing was changed" in output, output[-3000:]
    assert contents() == before
    assert listing(directory) == [name]


def test_a_server_with_data_is_replaced_only_on_request():
    directory = f"/var/backups/redis-drill-{uuid.uuid4().hex[:8]}"
    assert backup(directory).returncode == 0
    at_backup = contents()
    cli("DEL", "drill:hash")
    cli("SET", "drill:new", "after the backup")
    changed = contents()
    refused = restore(directory)
    assert refused.returncode != 0
    assert "target redis exists; set replace=true" in " ".join(refused.stdout.split())
    assert contents() == changed

    replaced = restore(directory, "-e", "restore_replace=true")
    assert replaced.returncode == 0, replaced.stdout[-4000:]
    assert contents() == at_backup
    [safety] = [n for n in listing(directory) if n.endswith("-safety")]
    assert manifest(f"{directory}/{safety}")["row_counts"] == {"keys": 205}
