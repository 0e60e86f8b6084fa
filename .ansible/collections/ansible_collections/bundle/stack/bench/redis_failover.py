#!/usr/bin/env python
"""Benchmark: Redis failover through Sentinel, and acknowledged writes lost.

Runs against the three containers of the molecule scenario `redis` (mol-redis1..3,
network bundle-mol-redis, 172.30.215.0/24), converged with the real site.yml:

    source .venv/bin/activate
    molecule create -s redis && molecule converge -s redis
    python -m bench.redis_failover            # 3 drills; --drills N for more
    molecule destroy -s redis

Each drill, through a redis-py Sentinel client on the control node (Sentinel.discover_master,
then SET and WAIT 1 1000 as the application user on the address it returns):
  1. writes for one second, then stops redis-server on the current master
     (`systemctl stop` in its container) while the writes go on;
  2. failover time = from the master's stop to the first write that succeeds on another
     master, where the stop is taken as the last write the old master accepted: the
     gap a client sees, which never undercounts (the time `docker exec` and systemd take
     to deliver the stop is reported apart, as from_stop_command_s);
  3. writes one more second, then restarts the old master and waits until it is a
     replica again and every Sentinel sees one master, two replicas up, three Sentinels;
  4. looks up, on the new master, every key whose WAIT reported at least one replica:
     a missing one is an acknowledged write lost.
The write loop is bounded: at most 60 s and 30000 writes per drill. Traffic goes only to
the scenario's containers. Writes bench/results/redis_failover.json and the matching
section of docs/benchmarks.md (between its HTML comment markers).

Secrets come from the scenario's ephemeral directory (~/.ansible/tmp/molecule.*.redis/secrets)
or from --secrets-dir / BUNDLE_SECRETS_DIR.
"""

import argparse
import datetime
import glob
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import MasterNotFoundError, Sentinel

from tests.support.benchmark_report import write_section

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "redis_failover.json"
COMMAND = ".venv/bin/python -m bench.redis_failover"
CONTAINERS = ["mol-redis1", "mol-redis2", "mol-redis3"]
SUBNET_PREFIX = "172.30.215."
MASTER_NAME = "bundle"
GOAL_MARGIN_S = 2.0
MAX_DRILL_S = 60.0
MAX_WRITES = 30000
SETTLE_S = 120.0


def docker(*args):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True, timeout=120).stdout.strip()


def addresses():
    """Container name -> address on the scenario's network (and nothing else)."""
    found = {}
    for name in CONTAINERS:
        address = docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", name)
        mine = [a for a in address.split() if a.startswith(SUBNET_PREFIX)]
        if not mine:
            sys.exit(f"{name} has no address in {SUBNET_PREFIX}0/24: run `molecule converge -s redis` first")
        found[name] = mine[0]
    return found


def secrets_dir(option):
    candidates = [option, os.environ.get("BUNDLE_SECRETS_DIR")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.ansible/tmp/molecule.*.redis/secrets")),
                         key=os.path.getmtime, reverse=True)
    for candidate in candidates:
        if candidate and (pathlib.Path(candidate) / "redis_app").is_file():
            return pathlib.Path(candidate)
    sys.exit("no secrets of the redis scenario found: converge it first or pass --secrets-dir")


class Cluster:
    def __init__(self, nodes, secrets):
        self.nodes = nodes
        self.name_of = {address: name for name, address in nodes.items()}
        self.secret = lambda name: (secrets / name).read_text().strip()
        fast = dict(socket_timeout=0.5, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
        self.sentinel = Sentinel([(address, 26379) for address in nodes.values()],
                                 sentinel_kwargs=dict(username="sentinel-client",
                                                      password=self.secret("redis_sentinel_client"), **fast))
        self.clients = {}
        self.fast = fast

    def app(self, address):
        """One connection per server as the application user; no retries, short timeouts."""
        if address not in self.clients:
            self.clients[address] = redis.Redis(host=address, username="app", password=self.secret("redis_app"),
                                                single_connection_client=True, **self.fast)
        return self.clients[address]

    def forget(self, address):
        client = self.clients.pop(address, None)
        if client:
            client.close()

    def master(self):
        return self.sentinel.discover_master(MASTER_NAME)[0]

    def sentinel_view(self, address):
        client = redis.Redis(host=address, port=26379, username="sentinel-client",
                             password=self.secret("redis_sentinel_client"), socket_timeout=2)
        try:
            return client.sentinel_master(MASTER_NAME), client.sentinel_slaves(MASTER_NAME)
        finally:
            client.close()

    def settled(self):
        """Address of the master when every Sentinel agrees and sees both replicas up."""
        try:
            master = self.master()
            for address in self.nodes.values():
                state, replicas = self.sentinel_view(address)
                if (state["ip"] != master or state["is_sdown"] or state["num-other-sentinels"] != 2
                        or len(replicas) != 2 or any(r["is_sdown"] or r["is_disconnected"] for r in replicas)):
                    return None
            info = redis.Redis(host=master, username="monitor", password=self.secret("redis_monitor"),
                               socket_timeout=2).info("replication")
            online = [info[k]["state"] for k in info if k.startswith("slave") and isinstance(info[k], dict)]
            return master if online.count("online") == 2 else None
        except (redis.RedisError, OSError):
            return None

    def wait_settled(self):
        deadline = time.monotonic() + SETTLE_S
        while time.monotonic() < deadline:
            master = self.settled()
            if master:
                return master
            time.sleep(0.5)
        sys.exit(f"the cluster did not settle within {SETTLE_S:.0f} s")


def drill(cluster, number):
    old = cluster.wait_settled()
    old_name = cluster.name_of[old]
    acked, writes, errors, unacked = [], 0, 0, 0
    start = time.monotonic()
    stopped_at = first_new_at = new = last_old_at = None
    stopper = None
    while writes < MAX_WRITES and time.monotonic() - start < MAX_DRILL_S:
        now = time.monotonic()
        if stopped_at is None and now - start >= 1.0:
            stopped_at = time.monotonic()
            stopper = subprocess.Popen(["docker", "exec", old_name, "systemctl", "stop", "redis-server"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if first_new_at is not None and now - first_new_at >= 1.0:
            break
        key = f"bench:{number}:{writes}"
        writes += 1
        address = None
        try:
            address = cluster.master()
            client = cluster.app(address)
            client.set(key, writes)
            written_at = time.monotonic()
            # The write counts as acknowledged only once a replica has it too.
            replicas = client.execute_command("WAIT", 1, 1000)
        except (redis.RedisError, OSError, MasterNotFoundError):
            errors += 1
            cluster.forget(address)
            time.sleep(0.02)
            continue
        if address == old:
            last_old_at = written_at
        elif stopped_at is not None and first_new_at is None:
            first_new_at, new = written_at, address
        if replicas >= 1:
            acked.append(key)
        else:
            unacked += 1
        time.sleep(0.002)
    if stopper:
        stopper.wait(timeout=120)
    if new is None:
        sys.exit(f"drill {number}: no write reached a new master within {MAX_DRILL_S:.0f} s")
    docker("exec", old_name, "systemctl", "start", "redis-server")
    settled = cluster.wait_settled()
    if settled != new:
        sys.exit(f"drill {number}: the master moved again ({cluster.name_of[new]} -> {cluster.name_of[settled]})")
    reader = redis.Redis(host=new, username="app", password=cluster.secret("redis_app"), socket_timeout=5)
    lost = 0
    for chunk in range(0, len(acked), 1000):
        keys = acked[chunk:chunk + 1000]
        present = reader.pipeline(transaction=False)
        for key in keys:
            present.exists(key)
        lost += sum(1 for found in present.execute() if not found)
        reader.unlink(*keys)
    reader.close()
    result = {
        "old_master": old_name, "new_master": cluster.name_of[new],
        "failover_s": round(first_new_at - last_old_at, 2),
        "from_stop_command_s": round(first_new_at - stopped_at, 2),
        "writes": writes, "acknowledged": len(acked), "not_acknowledged": unacked, "errors": errors,
        "acknowledged_lost": lost,
    }
    print(json.dumps(result))
    return result


def write_doc_section(result):
    settings = result["sentinel_settings"]
    rows = [f"| {i} | {d['old_master']} -> {d['new_master']} | {d['failover_s']} | {d['from_stop_command_s']} | "
            f"{d['writes']} | "
            f"{d['acknowledged']} | {d['errors']} | {d['acknowledged_lost']} |"
            for i, d in enumerate(result["drills"], 1)]
    write_section("redis-failover", "Redis failover through Sentinel", [
        f"Measured {result['date']} on {result['machine']} (load average {result['load_average_1m']['start']} at the "
        f"start, {result['load_average_1m']['end']} at the end) with `{result['command']}` against the molecule "
        f"scenario `redis` (written by the script, not by hand). Sentinel settings: down-after-milliseconds "
        f"{settings['down_after_milliseconds']}, failover-timeout {settings['failover_timeout']}, parallel-syncs "
        f"{settings['parallel_syncs']}, quorum {settings['quorum']} of {settings['sentinels']} Sentinels; "
        f"min-replicas-to-write 1 on the servers. Failover time: from the last write the master accepted before "
        f"`systemctl stop redis-server` took effect to the first write that succeeds on the new master, both "
        f"through a redis-py Sentinel client writing every few milliseconds; the next column counts from the moment "
        f"the stop command was issued (adds `docker exec`, systemd and Redis's shutdown).",
        "",
        "| drill | master | failover s | from stop command s | writes | acknowledged (WAIT 1) | failed writes "
        "| acknowledged lost |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        f"Median failover {result['median_failover_s']} s; goal at most down-after-milliseconds + "
        f"{GOAL_MARGIN_S:g} s = {result['failover_goal_s']} s: "
        f"**{'met' if result['failover_goal_met'] else 'NOT met'}**. "
        f"Acknowledged writes lost: {result['acknowledged_lost']}; goal 0: "
        f"**{'met' if result['lost_goal_met'] else 'NOT met'}**.",
    ])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drills", type=int, default=3, help="failover drills to run (at least 3)")
    parser.add_argument("--secrets-dir", help="the scenario's secrets directory")
    args = parser.parse_args()
    if args.drills < 3:
        parser.error("--drills must be at least 3: the result is a median")
    cluster = Cluster(addresses(), secrets_dir(args.secrets_dir))
    master = cluster.wait_settled()
    state, _ = cluster.sentinel_view(master)
    settings = {"down_after_milliseconds": state["down-after-milliseconds"],
                "failover_timeout": state["failover-timeout"], "parallel_syncs": state["parallel-syncs"],
                "quorum": state["quorum"], "sentinels": state["num-other-sentinels"] + 1}
    load_at_start = round(os.getloadavg()[0], 2)
    drills = [drill(cluster, number) for number in range(1, args.drills + 1)]
    median = round(statistics.median(d["failover_s"] for d in drills), 2)
    goal = round(settings["down_after_milliseconds"] / 1000 + GOAL_MARGIN_S, 2)
    lost = sum(d["acknowledged_lost"] for d in drills)
    result = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, {platform.system()} {platform.release()}",
        # The machine is shared: the load says how busy it was during the drills.
        "load_average_1m": {"start": load_at_start, "end": round(os.getloadavg()[0], 2)},
        "command": " ".join([COMMAND, *sys.argv[1:]]),
        "sentinel_settings": settings,
        "drills": drills,
        "median_failover_s": median,
        "failover_goal_s": goal,
        "failover_goal_met": median <= goal,
        "acknowledged_lost": lost,
        "lost_goal_met": lost == 0,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    write_doc_section(result)
    print(json.dumps({k: result[k] for k in ("median_failover_s", "failover_goal_s", "failover_goal_met",
                                             "acknowledged_lost", "lost_goal_met")}))
    return 0 if result["failover_goal_met"] and result["lost_goal_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
