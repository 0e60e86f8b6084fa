#!/usr/bin/env python
"""Benchmark: MariaDB primary to GTID replica, as an application sees it.

1. Visibility: ROWS single-row autocommit INSERTs on the primary, each one
   polled for on the replica until it is there (at most 5 s per row): how long a
   committed write takes to become readable on the replica.
2. Burst: BURST_ROWS INSERTs as fast as one client can, then the time until
   the replica's gtid_slave_pos reaches the primary's gtid_binlog_pos.

Both run as the application user over TCP from this machine to the two
containers, and both are bounded in count and time. Writes
bench/results/mysql_replication.json and the matching section of
docs/benchmarks.md.

Run from the repository root on a converged lab (or, with the options, on the
molecule scenario `mysql` after `molecule converge -s mysql`):
    .venv/bin/python -m bench.mysql_replication
    .venv/bin/python -m bench.mysql_replication --primary mol-mysql1 --replica mol-mysql2 \
        --secrets "$MOLECULE_EPHEMERAL_DIRECTORY/secrets"
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time
import uuid

import pymysql

from tests.support.benchmark_report import write_section

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "mysql_replication.json"
COMMAND = ".venv/bin/python -m bench.mysql_replication"
ROWS = 200
BURST_ROWS = 2000
ROW_DEADLINE_S = 5.0
CATCH_UP_DEADLINE_S = 60.0


def container_address(name):
    """The container's address on its Docker network: only the project's own containers are used."""
    out = subprocess.run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
                          name], capture_output=True, text=True, timeout=30, check=True).stdout.split()
    if not out:
        sys.exit(f"container {name} has no network address")
    return out[0]


def connect(address, password):
    return pymysql.connect(host=address, port=3306, user="app", password=password, database="app",
                           autocommit=True, connect_timeout=5, read_timeout=10, write_timeout=10)


def one(connection, query, args=None):
    with connection.cursor() as cursor:
        cursor.execute(query, args)
        return cursor.fetchone()


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(primary, replica):
    one(primary, "CREATE TABLE IF NOT EXISTS bench_replication (token CHAR(32) PRIMARY KEY, "
                 "written DOUBLE NOT NULL)")
    one(primary, "DELETE FROM bench_replication")
    # 1. Visibility of single writes.
    delays = []
    for _ in range(ROWS):
        token = uuid.uuid4().hex
        one(primary, "INSERT INTO bench_replication VALUES (%s, %s)", (token, time.time()))
        committed = time.monotonic()
        while not one(replica, "SELECT 1 FROM bench_replication WHERE token = %s", (token,)):
            if time.monotonic() - committed > ROW_DEADLINE_S:
                sys.exit(f"a row did not reach the replica within {ROW_DEADLINE_S} s")
            time.sleep(0.0005)
        delays.append((time.monotonic() - committed) * 1000)
    # 2. A burst, then catch-up by GTID position.
    start = time.monotonic()
    for _ in range(BURST_ROWS):
        one(primary, "INSERT INTO bench_replication VALUES (%s, %s)", (uuid.uuid4().hex, time.time()))
    burst_s = time.monotonic() - start
    target = one(primary, "SELECT @@gtid_binlog_pos")[0]
    while one(replica, "SELECT @@gtid_slave_pos")[0] != target:
        if time.monotonic() - start > burst_s + CATCH_UP_DEADLINE_S:
            sys.exit(f"the replica did not catch up within {CATCH_UP_DEADLINE_S} s")
        time.sleep(0.001)
    caught_up_s = time.monotonic() - start
    rows_on_replica = one(replica, "SELECT COUNT(*) FROM bench_replication")[0]
    one(primary, "DROP TABLE bench_replication")
    return {
        "visibility_ms": {"rows": ROWS, "p50": round(statistics.median(delays), 2),
                          "p95": round(percentile(delays, 0.95), 2), "max": round(max(delays), 2)},
        "burst": {"rows": BURST_ROWS, "write_s": round(burst_s, 2),
                  "inserts_per_s": round(BURST_ROWS / burst_s), "replica_caught_up_s": round(caught_up_s, 2),
                  "replica_lag_after_burst_s": round(caught_up_s - burst_s, 2),
                  "rows_on_replica": rows_on_replica},
    }


def write_doc_section(result, target):
    vis, burst = result["visibility_ms"], result["burst"]
    write_section("mysql-replication", "MariaDB replication: write to replica visibility", [
        f"Measured {result['date']} on {result['machine']} against {target} with `{COMMAND}` "
        f"(written by the script, not by hand). The application user over TCP, single client:",
        "",
        "| measure | value |",
        "| --- | ---: |",
        f"| write visible on the replica, p50 ({vis['rows']} single-row commits) | {vis['p50']} ms |",
        f"| write visible on the replica, p95 | {vis['p95']} ms |",
        f"| write visible on the replica, max | {vis['max']} ms |",
        f"| burst of {burst['rows']} inserts, one client | {burst['write_s']} s ({burst['inserts_per_s']}/s) |",
        f"| replica at the primary's GTID position after the burst | +{burst['replica_lag_after_burst_s']} s |",
    ])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--primary", default="bundle-lab-mysql1", help="primary's container name")
    parser.add_argument("--replica", default="bundle-lab-mysql2", help="replica's container name")
    parser.add_argument("--secrets", default=str(ROOT / ".lab" / "secrets"),
                        help="directory holding the mysql_app secret")
    args = parser.parse_args()
    password = (pathlib.Path(args.secrets) / "mysql_app").read_text().strip()
    primary = connect(container_address(args.primary), password)
    replica = connect(container_address(args.replica), password)
    try:
        measured = measure(primary, replica)
    finally:
        primary.close()
        replica.close()
    result = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "command": COMMAND,
        "primary": args.primary,
        "replica": args.replica,
        **measured,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    write_doc_section(result, f"{args.primary} -> {args.replica}")
    print(json.dumps(measured))
    return 0 if measured["burst"]["rows_on_replica"] == BURST_ROWS + ROWS else 1


if __name__ == "__main__":
    sys.exit(main())
