#!/usr/bin/env python
"""Benchmark: db_backup and db_restore against plain pg_dump and pg_restore.

All six commands run in one run, on the same pgbench database, on the same
host, interleaved round by round, at each scale asked for (20 and 200 by
default: 2 and 20 million accounts):

  backup, directory format, 2 jobs   pg_dump -Fd -j2          vs  db_backup format=directory jobs=2
  backup, custom format               pg_dump -Fc              vs  db_backup format=custom
  restore, 2 jobs                     createdb + pg_restore -j2 vs  db_restore jobs=2

The modules do more than the tools, and that is what is measured: db_backup
also dumps the globals, counts the rows of every table in the dump's snapshot,
hashes every file (SHA-256), writes the manifest, renames the directory into
place and applies retention (keep_last=1); db_restore first checks the
manifest and every file's SHA-256, then restores into a scratch database,
counts every table's rows, compares them with the manifest and renames the
database into place. The goal is at most 1.15 times the plain tool's time, judged on the best
run of each (the machine is shared, and the best run is the least disturbed),
at the largest scale of the run: the issue asks for one database of scale 20
or more, and a smaller scale shows how much the module's fixed start-up weighs
on a dump that takes well under a second. Medians are reported beside it.

How the module is timed: each module runs on the database host as the very
process Ansible starts there (its AnsiballZ payload, kept once with
ANSIBLE_KEEP_REMOTE_FILES=1), wall clock from process start to exit, so Python
start-up, argument parsing and every check are included. The plain tools are
timed the same way, by the same timer, on the same host. A separate column
gives one run of each module as an Ansible ad-hoc task from the control node:
that adds the transport (connection, module transfer), a constant per task.
Medians over the rounds; one warm-up round first is not counted.

Steps (the script does them; run from the repository root after scripts/setup.sh):
  1. molecule converge -s backup        (only when the container mol-backup-pg1 is not running)
  2. per scale: createdb bench_s<scale>; pgbench -i -s <scale>   (inside the container; kept for later runs)
  3. the start-up of a module process with nothing to do, best of seven
  4. per scale: a warm-up round, then --rounds rounds of the six commands
  5. checks that both restored databases hold the same rows as the source
  6. writes bench/results/backup.json and its section of docs/benchmarks.md

    .venv/bin/python -m bench.backup [--scale 20 --scale 200] [--rounds 5]
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

from tests.support.benchmark_report import write_section

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "backup.json"
COMMAND = ".venv/bin/python -m bench.backup"
CONTAINER = "mol-backup-pg1"
GOAL = 1.15
BIN = "/usr/lib/postgresql/15/bin"
BASE = "/var/backups/bench"
CONN = "--host /var/run/postgresql --username postgres --no-password"
TIMER = """
import json, subprocess, sys, time
start = time.monotonic()
done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
seconds = time.monotonic() - start
print(json.dumps(dict(seconds=seconds, rc=done.returncode, stdout=done.stdout.decode(errors='replace'),
                      stderr=done.stderr.decode(errors='replace')[-3000:])))
"""


def commands(scale):
    """The plain commands, the module runs and what runs untimed before each, for one database."""
    db, base = f"bench_s{scale}", f"{BASE}/s{scale}"
    plain = {
        "backup_fd": f"{BIN}/pg_dump {CONN} -Fd -j2 -f {base}/plain-fd {db}",
        "backup_fc": f"{BIN}/pg_dump {CONN} -Fc -f {base}/plain.dump {db}",
        "restore": f"{BIN}/createdb {CONN} -T template0 {db}_plain && {BIN}/pg_restore {CONN} -j2 -d {db}_plain "
                   f"{base}/plain-fd",
    }
    plain_before = {
        "backup_fd": f"rm -rf {base}/plain-fd",
        "backup_fc": f"rm -f {base}/plain.dump",
        "restore": f"{BIN}/dropdb {CONN} --if-exists {db}_plain",
    }
    module = {
        "backup_fd": ("bundle.stack.db_backup", f"engine=postgres database={db} backup_dir={base}/module-fd "
                                                f"format=directory jobs=2 keep_last=1 bin_dir={BIN}"),
        "backup_fc": ("bundle.stack.db_backup", f"engine=postgres database={db} backup_dir={base}/module-fc "
                                                f"format=custom keep_last=1 bin_dir={BIN}"),
        "restore": ("bundle.stack.db_restore", f"engine=postgres database={db} backup_dir={base}/module-fd "
                                               f"target={db}_module jobs=2 bin_dir={BIN}"),
    }
    module_before = {
        "backup_fd": "true",
        "backup_fc": "true",
        "restore": f"{BIN}/dropdb {CONN} --if-exists {db}_module",
    }
    return dict(db=db, base=base, plain=plain, plain_before=plain_before, module=module, module_before=module_before)


OPERATIONS = ("backup_fd", "backup_fc", "restore")
LABELS = {
    "backup_fd": ("backup, directory format, 2 jobs", "pg_dump -Fd -j2", "db_backup format=directory jobs=2"),
    "backup_fc": ("backup, custom format", "pg_dump -Fc", "db_backup format=custom"),
    "restore": ("restore, 2 jobs", "createdb + pg_restore -j2", "db_restore jobs=2"),
}


def sh(command, check=True, timeout=1800):
    """A shell command on the host of the database, as root."""
    done = subprocess.run(["docker", "exec", CONTAINER, "sh", "-c", command], capture_output=True, text=True,
                          timeout=timeout)
    if check and done.returncode != 0:
        sys.exit(f"failed on {CONTAINER}: {command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout.strip()


def psql(sql, database="postgres"):
    return sh(f"psql -X -A -t -v ON_ERROR_STOP=1 -U postgres -d {database} -c {shlex.quote(sql)}")


def timed(argv):
    """Run argv on the host under the timer; return (seconds, stdout)."""
    out = sh(f"python3 /tmp/bench_timer.py {' '.join(shlex.quote(a) for a in argv)}")
    result = json.loads(out)
    if result["rc"] != 0:
        sys.exit(f"{argv} failed (rc={result['rc']}):\n{result['stdout'][-2000:]}\n{result['stderr']}")
    return result["seconds"], result["stdout"]


def ensure_container():
    running = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", CONTAINER], capture_output=True,
                             text=True)
    if running.stdout.strip() != "true":
        print("converging the molecule scenario 'backup' ...", flush=True)
        env = dict(os.environ, PATH=f"{pathlib.Path(sys.executable).parent}:{os.environ['PATH']}")
        subprocess.run(["molecule", "converge", "-s", "backup"], cwd=ROOT, env=env, check=True, timeout=1800)


def ensure_database(scale):
    """bench_s<scale>, initialised by pgbench once and kept for later runs; returns init seconds or None."""
    db = f"bench_s{scale}"
    if psql(f"SELECT count(*) FROM pg_database WHERE datname = '{db}'") == "1" and \
            psql("SELECT count(*) FROM pgbench_branches", db) == str(scale):
        return None
    psql(f"DROP DATABASE IF EXISTS {db}")
    psql(f"CREATE DATABASE {db}")
    start = time.monotonic()
    sh(f"cd /tmp && runuser -u postgres -- {BIN}/pgbench -i -q -s {scale} {db}", timeout=3600)
    return round(time.monotonic() - start, 1)


def ansible(module, args, keep_dir=None):
    """One ad-hoc task on the host; returns (wall seconds, result)."""
    with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as inventory:
        inventory.write(f"{CONTAINER} ansible_connection=community.docker.docker "
                        "ansible_python_interpreter=/usr/bin/python3\n")
    # Outside the repository (no ansible.cfg, so no timing callback in the JSON), the modules by FQCN
    # through the clone's collection.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"),
               ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_PIPELINING="True")
    if keep_dir:
        env.update(ANSIBLE_KEEP_REMOTE_FILES="1", ANSIBLE_PIPELINING="False", ANSIBLE_REMOTE_TMP=keep_dir)
    binary = pathlib.Path(sys.executable).parent / "ansible"
    start = time.monotonic()
    done = subprocess.run([str(binary), "-i", inventory.name, CONTAINER, "-m", module, "-a", args],
                          cwd=tempfile.gettempdir(), env=env, capture_output=True, text=True, timeout=1800)
    seconds = time.monotonic() - start
    os.unlink(inventory.name)
    try:
        result = json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"][CONTAINER]
    except (ValueError, KeyError, IndexError):
        sys.exit(f"ansible {module} printed no result:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    if result.get("failed"):
        sys.exit(f"ansible {module} {args} failed: {result.get('msg')}")
    return seconds, result


def payload(setup, operation):
    """The AnsiballZ file of a module run, kept on the host, with its arguments inside."""
    module, args = setup["module"][operation]
    keep = f"/root/.ansible/bench-{setup['db']}-{operation}"
    sh(f"rm -rf {keep}")
    sh(setup["module_before"][operation])
    ansible(module, args, keep_dir=keep)
    # AnsiballZ_<module's short name>.py: its fully qualified name's last part.
    return sh(f"ls {keep}/ansible-tmp-*/AnsiballZ_{module.rsplit('.', 1)[-1]}.py")


def run_plain(setup, operation):
    sh(setup["plain_before"][operation])
    psql("CHECKPOINT")
    seconds, _ = timed(["sh", "-c", setup["plain"][operation]])
    return seconds


def run_module(setup, operation, path):
    sh(setup["module_before"][operation])
    psql("CHECKPOINT")
    seconds, out = timed(["/usr/bin/python3", path])
    result = json.loads(out[out.index("{"):])
    if result.get("failed"):
        sys.exit(f"{operation}: {result.get('msg')}")
    return seconds, result


def rows_digest(database):
    return psql("SELECT string_agg(format('%s:%s', c, n), ' ' ORDER BY c) FROM ("
                "SELECT 'accounts' c, count(*)::text n FROM pgbench_accounts UNION ALL "
                "SELECT 'branches', count(*)::text FROM pgbench_branches UNION ALL "
                "SELECT 'tellers', count(*)::text FROM pgbench_tellers UNION ALL "
                "SELECT 'accounts_md5', md5(string_agg(aid || ':' || abalance, ',' ORDER BY aid)) "
                "FROM pgbench_accounts) t", database)


def write_doc_section(result):
    lines = [
        f"Measured {result['date']} on {result['machine']} with `{result['command']}` (written by the script, not "
        "by hand). Per scale one pgbench database; every command on the same host, interleaved round by round "
        "(plain first in odd rounds, module first in even ones), a CHECKPOINT before each; "
        f"{result['rounds']} rounds after one warm-up round. The machine is shared with other work (load average "
        f"{result['load_before']} before, {result['load_after']} after), so the runs vary: the table gives the best "
        "run (the least disturbed; the goal is judged on it, at the largest scale) and the median. Module times "
        "are the whole module process on the host, from start to exit: Python start-up, checksums and "
        "verification included; \"work\" is the module's own measure of its run, without the interpreter start-up.",
        "",
        "| scale | operation | plain tool | best s | median s | module | best s | median s | ratio (best) | "
        f"ratio (medians) | work s, ratio | goal <= {GOAL} | as an Ansible task, s |",
        "| ---: | --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for scale in result["scales"]:
        for operation, data in scale["operations"].items():
            title, plain, module = LABELS[operation]
            lines.append(
                f"| {scale['scale']} ({scale['database_size']}) | {title} | `{plain}` | {data['plain_best_s']} | "
                f"{data['plain_median_s']} | `{module}` | {data['module_best_s']} | {data['module_median_s']} | "
                f"{data['ratio']} | {data['ratio_of_medians']} | {data['work_best_s']}, {data['work_ratio']} | "
                f"{'met' if data['goal_met'] else 'NOT met'} | {data['ansible_task_s']} |")
    lines.append("")
    for scale in result["scales"]:
        steps = scale["operations"]
        lines.append(
            f"- Scale {scale['scale']} ({scale['rows']:,} rows), inside the module (seconds, last round): "
            "backup " + ", ".join(f"{k} {v}" for k, v in steps["backup_fd"]["module_steps"].items())
            + f" ({steps['backup_fd']['files']} files, {steps['backup_fd']['size']} hashed); restore "
            + ", ".join(f"{k} {v}" for k, v in steps["restore"]["module_steps"].items())
            + f". Restored databases equal to the source: {'yes' if scale['restored_equal'] else 'NO'}.")
    lines += [
        f"- Every module process pays about {result['startup_s']} s before any work (Python start-up and "
        "Ansible's module code, measured on a run with nothing to do), whatever the database size. Where a "
        "plain dump takes well under a second, that constant alone exceeds 15 %.",
        f"- As an Ansible task from the control node a module also pays the connection and transfer, about "
        f"{result['ansible_overhead_s']} s per task here.",
        f"- Every best-run ratio <= {GOAL}: " + "; ".join(
            f"scale {scale['scale']}: {'met' if scale['goal_met'] else 'NOT met'}" for scale in result["scales"])
        + f". The goal is judged at the largest scale of the run, scale {result['goal_scale']}: "
        f"**{'met' if result['goal_met'] else 'NOT met'}**.",
    ]
    write_section("backup", "Backup and restore: modules against pg_dump and pg_restore", lines)


def measure(scale, rounds):
    setup = commands(scale)
    init_s = ensure_database(scale)
    sh(f"mkdir -p {setup['base']} && chmod 700 {BASE} && rm -rf {setup['base']}/module-fd {setup['base']}/module-fc")
    print(f"scale {scale}: keeping the module payloads and timing one Ansible task each ...", flush=True)
    payloads, ansible_s, ansible_in_module = {}, {}, {}
    for operation in OPERATIONS:
        payloads[operation] = payload(setup, operation)
        sh(setup["module_before"][operation])
        seconds, result = ansible(*setup["module"][operation])
        ansible_s[operation] = round(seconds, 2)
        ansible_in_module[operation] = result["duration_seconds"]

    samples = {op: {"plain": [], "module": [], "work": []} for op in OPERATIONS}
    last = {}
    for round_number in range(rounds + 1):
        for operation in OPERATIONS:
            if round_number % 2:
                plain_s = run_plain(setup, operation)
                module_s, result = run_module(setup, operation, payloads[operation])
            else:
                module_s, result = run_module(setup, operation, payloads[operation])
                plain_s = run_plain(setup, operation)
            last[operation] = result
            if round_number:  # round 0 warms the caches up
                samples[operation]["plain"].append(round(plain_s, 3))
                samples[operation]["module"].append(round(module_s, 3))
                samples[operation]["work"].append(result["duration_seconds"])
            print(f"scale {scale} round {round_number}{' (warm-up)' if not round_number else ''} {operation}: "
                  f"plain {plain_s:.2f} s, module {module_s:.2f} s", flush=True)

    db = setup["db"]
    restored_equal = rows_digest(db) == rows_digest(f"{db}_plain") == rows_digest(f"{db}_module")
    manifest = last["backup_fd"]["manifest"]
    operations = {}
    for operation, data in samples.items():
        best = {kind: min(values) for kind, values in data.items()}
        median = {kind: statistics.median(values) for kind, values in data.items()}
        ratio = round(best["module"] / best["plain"], 3)
        operations[operation] = dict(
            plain_command=setup["plain"][operation], module=" ".join(setup["module"][operation]),
            plain_s=data["plain"], module_s=data["module"], module_work_s=data["work"],
            plain_best_s=round(best["plain"], 2), module_best_s=round(best["module"], 2),
            work_best_s=round(best["work"], 2),
            plain_median_s=round(median["plain"], 2), module_median_s=round(median["module"], 2),
            ratio=ratio, ratio_of_medians=round(median["module"] / median["plain"], 3),
            work_ratio=round(best["work"] / best["plain"], 3),
            goal_met=ratio <= GOAL, ansible_task_s=ansible_s[operation],
            ansible_module_duration_s=ansible_in_module[operation],
            module_steps=last[operation].get("steps") or last[operation]["manifest"]["steps"],
        )
    operations["backup_fd"].update(files=len(manifest["files"]), size=f"{manifest['size_bytes'] / 2**20:.1f} MiB")
    for database in (f"{db}_plain", f"{db}_module"):
        psql(f"DROP DATABASE IF EXISTS {database}")
    return dict(
        scale=scale, pgbench_init_s=init_s, database_size=psql(f"SELECT pg_size_pretty(pg_database_size('{db}'))"),
        rows=sum(manifest["row_counts"].values()), operations=operations, restored_equal=restored_equal,
        goal_met=restored_equal and all(op["goal_met"] for op in operations.values()),
    )


def startup_seconds():
    """Best of seven wall times of a module process that has nothing to do (its backup exists already)."""
    keep = "/root/.ansible/bench-startup"
    sh(f"rm -rf {keep} {BASE}/startup && mkdir -p {BASE}/startup")
    ansible("bundle.stack.db_backup", f"engine=postgres database=postgres backup_dir={BASE}/startup name=startup "
                                      f"bin_dir={BIN}", keep_dir=None)
    ansible("bundle.stack.db_backup", f"engine=postgres database=postgres backup_dir={BASE}/startup name=startup "
                                      f"bin_dir={BIN}", keep_dir=keep)
    path = sh(f"ls {keep}/ansible-tmp-*/AnsiballZ_db_backup.py")
    return round(min(timed(["/usr/bin/python3", path])[0] for _ in range(7)), 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, action="append", help="pgbench scale (repeat for several); "
                        "default 20 and 200; the goal is judged at the largest")
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    scales = sorted(set(options.scale or [20, 200]))
    if min(scales) < 20 or options.rounds < 1:
        sys.exit("--scale must be at least 20 and --rounds at least 1")

    ensure_container()
    load_before = os.getloadavg()[0]
    sh(f"mkdir -p {BASE} && chmod 700 {BASE}")
    sh(f"cat > /tmp/bench_timer.py <<'EOF'\n{TIMER}\nEOF")
    startup = startup_seconds()
    results = [measure(scale, options.rounds) for scale in scales]
    overhead = statistics.median(op["ansible_task_s"] - op["ansible_module_duration_s"]
                                 for scale in results for op in scale["operations"].values())
    result = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "command": f"{COMMAND} " + " ".join(f"--scale {scale}" for scale in scales) + f" --rounds {options.rounds}",
        "rounds": options.rounds,
        "goal": GOAL,
        "startup_s": startup,
        "load_before": round(load_before, 1),
        "load_after": round(os.getloadavg()[0], 1),
        "ansible_overhead_s": round(overhead, 1),
        "scales": results,
        "goal_met_by_scale": {str(scale["scale"]): scale["goal_met"] for scale in results},
        "goal_scale": results[-1]["scale"],
        "goal_met": results[-1]["goal_met"],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    write_doc_section(result)
    for scale in results:
        figures = ("plain_best_s", "module_best_s", "ratio", "ratio_of_medians")
        print(f"scale {scale['scale']}:",
              json.dumps({op: {k: v[k] for k in figures} for op, v in scale["operations"].items()}))
    print(f"module start-up {startup} s; goal met by scale: {result['goal_met_by_scale']}; "
          f"judged at scale {result['goal_scale']}: {'met' if result['goal_met'] else 'NOT met'}")
    return 0 if result["goal_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
