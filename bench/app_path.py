#!/usr/bin/env python
"""Benchmark: what nginx and PgBouncer cost on the application's read path.

Runs against the containers of the molecule scenario `app` (network bundle-mol-app,
172.30.220.0/24), converged with the real site.yml:

    source .venv/bin/activate
    molecule create -s app && molecule prepare -s app && molecule converge -s app
    python -m bench.app_path                  # --seconds N per measurement (default 10)
    molecule destroy -s app

One database read endpoint (GET /api/items?limit=20), loaded by ApacheBench (`ab -k`,
Debian's apache2-utils, on the control node) at 50 and then 200 concurrent clients for a
bounded time (--seconds, at most 200000 requests), over four paths, side by side in one run:

  nginx            client -> nginx -> both backends (port 8000) -> their database path
  backends         client -> both backends directly (port 8000): half the clients each
  via_pgbouncer    client -> both backends -> PgBouncer (transaction pooling) -> PostgreSQL
  direct_postgres  client -> both backends -> PostgreSQL itself

nginx and backends use the installed backends as converged (reads from the replica).
via_pgbouncer and direct_postgres are two more backend processes per app host, started for
the run (systemd-run, the installed release and its environment file, ports 8001 and
8002), that differ only in the database they read from: the write path (PgBouncer on
mol-app-db1:6432) or PostgreSQL on mol-app-db1:5432, with no replica, so both reads hit
the primary. For the direct one the primary's pg_hba.conf gets one line for the app hosts
for the length of the run. Everything the run adds is removed at its end.

Every request's time (ab -g) gives p50 and p95 over all clients. Ratios: nginx against
backends (what the proxy costs), via_pgbouncer against direct_postgres (what the pooler
costs or saves). Writes bench/results/app_path.json and the matching section of
docs/benchmarks.md. Traffic goes only to the scenario's containers.
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from tests.support.benchmark_report import write_section

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "app_path.json"
COMMAND = ".venv/bin/python -m bench.app_path"
PROXY, DATABASE, APP_HOSTS = "mol-app-proxy1", "mol-app-db1", ["mol-app1", "mol-app2"]
SUBNET_PREFIX = "172.30.220."
ENDPOINT = "/api/items?limit=20"
CLIENTS = [50, 200]
MAX_REQUESTS = 200000
HBA = "/etc/postgresql/15/main/pg_hba.conf"
HBA_MARK = "# bench.app_path: the app hosts straight to PostgreSQL, for the length of one run"
# The backends started for the run: port -> the database host:port they read from.
EXTRA_BACKENDS = {"via_pgbouncer": (8001, "6432"), "direct_postgres": (8002, "5432")}
GOALS = {"nginx_throughput_cost_max": 0.10, "pgbouncer_vs_direct_min_ratio_at_200": 1.0,
         "p95_full_path_ms_max_at_50": 50}


def sh(container, command, check=True):
    return subprocess.run(["docker", "exec", container, "sh", "-c", command],
                          capture_output=True, text=True, timeout=120, check=check).stdout.strip()


def address(container):
    found = subprocess.run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
                            container], capture_output=True, text=True, check=True).stdout.split()
    ours = [ip for ip in found if ip.startswith(SUBNET_PREFIX)]
    if not ours:
        sys.exit(f"{container} has no address in {SUBNET_PREFIX}0/24: converge the molecule scenario app first")
    return ours[0]


def wait_ready(url, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit(f"{url} did not answer 200 within {seconds} s")


def start_extra_backends(addresses):
    """One backend per variant on each app host, the installed release and environment,
    reading only from the given database port (no replica)."""
    for name in APP_HOSTS:
        for variant, (port, db_port) in EXTRA_BACKENDS.items():
            sh(name, f"systemd-run --quiet --unit=refapp-bench-{variant} --uid=refapp --gid=refapp "
                     f"-p EnvironmentFile=/etc/refapp/refapp.env /usr/bin/env REFAPP_BACKEND_PORT={port} "
                     f"REFAPP_DB_HOST={addresses[DATABASE]} REFAPP_DB_PORT={db_port} REFAPP_DB_READ_HOSTS= "
                     f"/opt/refapp/current/venv/bin/refapp-backend")
    for name in APP_HOSTS:
        for port, _ in EXTRA_BACKENDS.values():
            wait_ready(f"http://{addresses[name]}:{port}/api/health/db")


def stop_extra_backends():
    for name in APP_HOSTS:
        for variant in EXTRA_BACKENDS:
            sh(name, f"systemctl stop refapp-bench-{variant}; systemctl reset-failed refapp-bench-{variant}",
               check=False)


def open_hba(addresses):
    lines = "\\n".join(f"host app app {addresses[name]}/32 scram-sha-256" for name in APP_HOSTS)
    sh(DATABASE, f"printf '%s\\n{lines}\\n' '{HBA_MARK}' >> {HBA} && "
                 "runuser -u postgres -- psql -X -q -c 'SELECT pg_reload_conf()'")


def close_hba():
    sh(DATABASE, f"sed -i '/^{re.escape(HBA_MARK)}$/,$d' {HBA} && "
                 "runuser -u postgres -- psql -X -q -c 'SELECT pg_reload_conf()'", check=False)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def load(urls, clients, seconds, workdir):
    """ab -k on each URL at the same time, the clients split evenly; every request's time
    from -g. Returns requests per second (all URLs) and p50/p95 in ms."""
    runs = []
    for index, url in enumerate(urls):
        plot = workdir / f"ab-{index}.tsv"
        runs.append((plot, subprocess.Popen(
            ["ab", "-k", "-q", "-r", "-s", "10", "-c", str(clients // len(urls)), "-t", str(seconds),
             "-n", str(MAX_REQUESTS // len(urls)), "-g", str(plot), url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
    rps, failed, times = 0.0, 0, []
    for plot, process in runs:
        out, err = process.communicate(timeout=seconds + 120)
        if process.returncode != 0:
            sys.exit(f"ab failed: {err.strip() or out[-2000:]}")
        rps += float(re.search(r"Requests per second:\s+([0-9.]+)", out).group(1))
        failed += int(re.search(r"Failed requests:\s+(\d+)", out).group(1))
        non_2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
        failed += int(non_2xx.group(1)) if non_2xx else 0
        rows = plot.read_text().splitlines()[1:]
        times += [float(row.split("\t")[4]) for row in rows if row]
    return {"requests_per_s": round(rps, 1), "p50_ms": percentile(times, 0.50), "p95_ms": percentile(times, 0.95),
            "requests": len(times), "failed": failed}


def measure(seconds):
    if not shutil.which("ab"):
        sys.exit("ab not found: apt-get install apache2-utils (scripts/setup.sh installs it)")
    addresses = {name: address(name) for name in [PROXY, DATABASE, *APP_HOSTS]}
    paths = {"nginx": [f"http://{addresses[PROXY]}{ENDPOINT}"],
             "backends": [f"http://{addresses[name]}:8000{ENDPOINT}" for name in APP_HOSTS]}
    for variant, (port, _) in EXTRA_BACKENDS.items():
        paths[variant] = [f"http://{addresses[name]}:{port}{ENDPOINT}" for name in APP_HOSTS]
    results = {}
    open_hba(addresses)
    try:
        start_extra_backends(addresses)
        with tempfile.TemporaryDirectory(prefix="bench-app-path-") as tmp:
            for clients in CLIENTS:
                for path, urls in paths.items():
                    load(urls, clients, 2, pathlib.Path(tmp))  # warm the pools and nginx's keepalive
                    results[f"{path}@{clients}"] = load(urls, clients, seconds, pathlib.Path(tmp))
                    print(f"{path:16} {clients:3} clients: {results[f'{path}@{clients}']}", flush=True)
    finally:
        stop_extra_backends()
        close_hba()
    return results


def summarize(results):
    ratios = {}
    for clients in CLIENTS:
        nginx, backends = results[f"nginx@{clients}"], results[f"backends@{clients}"]
        pooled, direct = results[f"via_pgbouncer@{clients}"], results[f"direct_postgres@{clients}"]
        ratios[f"nginx_vs_backends_throughput@{clients}"] = round(
            nginx["requests_per_s"] / backends["requests_per_s"], 3)
        ratios[f"pgbouncer_vs_direct_throughput@{clients}"] = round(
            pooled["requests_per_s"] / direct["requests_per_s"], 3)
    goals = {
        "nginx costs at most 10 % of throughput": all(
            ratios[f"nginx_vs_backends_throughput@{c}"] >= 1 - GOALS["nginx_throughput_cost_max"] for c in CLIENTS),
        "PgBouncer at 200 clients at least as fast as direct":
            ratios["pgbouncer_vs_direct_throughput@200"] >= GOALS["pgbouncer_vs_direct_min_ratio_at_200"],
        "p95 through the full path under 50 ms at 50 clients":
            results["nginx@50"]["p95_ms"] < GOALS["p95_full_path_ms_max_at_50"],
        "no failed request": all(r["failed"] == 0 for r in results.values()),
    }
    return ratios, goals


def report(document):
    rows = ["| path | clients | requests/s | p50 ms | p95 ms | requests | failed |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for key, result in document["results"].items():
        path, clients = key.split("@")
        rows.append(f"| {path} | {clients} | {result['requests_per_s']} | {result['p50_ms']:.0f} | "
                    f"{result['p95_ms']:.0f} | {result['requests']} | {result['failed']} |")
    ratios = [f"| {name} | {value} |" for name, value in document["ratios"].items()]
    goals = [f"| {name} | {'met' if met else '**not met**'} |" for name, met in document["goals"].items()]
    return "\n".join([
        f"`{document['command']}` on {document['machine']}, {document['date']}: GET {ENDPOINT}, "
        f"{document['seconds']} s per measurement (ab -k), after a 2 s warm-up.", "", *rows, "",
        "| ratio | value |", "| --- | --- |", *ratios, "", "| goal | |", "| --- | --- |", *goals])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each measurement (1-60)")
    args = parser.parse_args()
    if not 1 <= args.seconds <= 60:
        parser.error("--seconds must be between 1 and 60")
    results = measure(args.seconds)
    ratios, goals = summarize(results)
    document = {"command": f"{COMMAND} --seconds {args.seconds}", "seconds": args.seconds,
                "date": datetime.date.today().isoformat(),
                "machine": f"{os.cpu_count()} cores, {platform.machine()}, load average "
                           f"{os.getloadavg()[0]:.1f} at the end",
                "results": results, "ratios": ratios, "goals": goals}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    write_section("app-path", "Application read path: nginx and PgBouncer", report(document).splitlines())
    print(json.dumps({"ratios": ratios, "goals": goals}, indent=2))


if __name__ == "__main__":
    main()
