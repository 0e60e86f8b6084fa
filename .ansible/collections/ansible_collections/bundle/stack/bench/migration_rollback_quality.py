#!/usr/bin/env python
"""Benchmark: how often the generated reverse SQL equals the handwritten down migration.

For every migration of the realistic sets under tests/migrations/quality/postgresql
(each file holds the up SQL and a handwritten `-- migrate:down` section), on a real
PostgreSQL started for the run (a throwaway server on 127.0.0.1):

1. the database with every earlier migration applied is cloned (CREATE DATABASE ...
   TEMPLATE), so both paths start from the same schema;
2. path G: schema_migrate applies the up SQL alone (no down section, so the ledger
   has nothing handwritten), then schema_rollback rolls it back with reverse SQL it
   generates itself (and verifies it against the snapshot, as always);
3. path H: on the clone, the up SQL then the handwritten down SQL, as a project's own
   tooling would run them;
4. both schemas are compared from the catalogs (every object, described by
   migrate/postgresql/catalog.py) and from pg_dump --schema-only.

A migration is "reversible" unless the generator refuses it as destroying data (DROP
TABLE, DROP COLUMN, narrowing type change, DELETE, TRUNCATE, UPDATE of old values) or
its handwritten down does not run at all. The score is the share of reversible
migrations where G and H are the same schema. Writes bench/results/
migration_rollback_quality.json and the matching section of docs/benchmarks.md.

Run from the repository root, after scripts/setup.sh:
    .venv/bin/python -m bench.migration_rollback_quality
"""

import contextlib
import datetime
import io
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tests.support.benchmark_report import write_section
from tests.support.throwaway_postgres import ThrowawayPostgres

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / 'tests' / 'migrations' / 'quality' / 'postgresql'
RESULTS = ROOT / 'bench' / 'results' / 'migration_rollback_quality.json'
COMMAND = '.venv/bin/python -m bench.migration_rollback_quality'
GOAL = 90.0
LEDGER = 'bundle_migration_ledger'

sys.path.insert(0, str(ROOT / 'plugins' / 'modules'))
# The modules import module_utils through the collection path: this clone is bundle.stack.
sys.path.insert(0, str(ROOT / '.collections'))
import schema_migrate  # noqa: E402
import schema_rollback  # noqa: E402
from ansible.module_utils.testing import patch_module_args  # noqa: E402
from ansible_collections.bundle.stack.plugins.module_utils.migrate.files import split_sections  # noqa: E402
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.catalog import PostgresqlCatalog  # noqa: E402

PASSWORD = 'bench-' + uuid.uuid4().hex


def run_module(main, args):
    """A module's main() in-process; its JSON result."""
    out = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(out):
        try:
            main()
        except SystemExit:
            pass
    return json.loads(out.getvalue())


def module_args(pg, database, path, **extra):
    return dict(database=database, login_host='127.0.0.1', port=pg.port, login_user='app', login_password=PASSWORD,
                path=str(path), **extra)


def catalog(pg, database):
    with pg.connect(database) as connection, connection.cursor() as cursor:
        return PostgresqlCatalog(cursor, exclude={('public', LEDGER)}).describe_all()


def schema(pg, database):
    return catalog(pg, database), pg.pg_dump_schema(database, exclude_table=f'public.{LEDGER}')


def differences(generated, handwritten):
    (cat_g, dump_g), (cat_h, dump_h) = generated, handwritten
    keys = sorted(k for k in set(cat_g) | set(cat_h) if cat_g.get(k) != cat_h.get(k))
    lines = [f'{k}: generated {"absent" if k not in cat_g else "differs"}, handwritten '
             f'{"absent" if k not in cat_h else "differs"}' for k in keys]
    if not lines and dump_g != dump_h:
        lines.append('pg_dump --schema-only differs')
    return lines


def evaluate_set(pg, name, files, workdir):
    database = f'q_{name}'
    pg.create_database(database, owner='app')
    up_only = workdir / name
    up_only.mkdir()
    outcomes = []
    for path in files:
        migration = path.stem
        up, down, _ = split_sections(path.read_text(), str(path))
        (up_only / path.name).write_text(up)
        clone = f'h_{uuid.uuid4().hex[:10]}'
        pg.sql(f'CREATE DATABASE {clone} TEMPLATE {database} OWNER app')
        started = time.monotonic()
        applied = run_module(schema_migrate.main, module_args(pg, database, up_only, target=migration, backup=False))
        if applied.get('failed'):
            raise SystemExit(f'{name}/{migration}: the up SQL does not apply: {applied["msg"]}')
        undone = run_module(schema_rollback.main, module_args(pg, database, up_only, backup_file='none (benchmark)'))
        seconds = round(time.monotonic() - started, 2)
        outcome = dict(set=name, migration=migration, seconds=seconds)
        if undone.get('failed'):
            kinds = {f['kind'] for f in undone.get('refused', [])}
            outcome['status'] = ('irreversible' if 'irreversible' in kinds else 'unsupported' if kinds else 'failed')
            outcome['detail'] = undone['msg'][:400]
        else:
            outcome['reverse_sql'] = undone['plans'][0]['sql']
        pre = schema(pg, clone)
        try:
            with pg.connect(clone, user='app', password=PASSWORD) as connection:
                with connection.transaction():
                    connection.execute(up)
                with connection.transaction():
                    connection.execute(down or '')
        except Exception as exc:  # psycopg.Error: the project's own down does not run
            if 'status' not in outcome or outcome['status'] != 'irreversible':
                outcome['status'] = 'down-broken'
                outcome['detail'] = f'handwritten down fails: {str(exc).splitlines()[0]}'
        if 'status' not in outcome:
            generated, handwritten = schema(pg, database), schema(pg, clone)
            lines = differences(generated, handwritten)
            outcome['status'] = 'match' if not lines else 'mismatch'
            if lines:
                # Which side left the schema as it was before the up SQL?
                outcome['generated_restores_before'] = not differences(generated, pre)
                outcome['handwritten_restores_before'] = not differences(handwritten, pre)
                outcome['detail'] = '; '.join(lines[:6]) + (
                    '. The generated reverse restores the schema as it was before the up SQL; the handwritten '
                    'down does not' if outcome['generated_restores_before'] and
                    not outcome['handwritten_restores_before'] else '')
        pg.drop_database(clone)
        again = run_module(schema_migrate.main, module_args(pg, database, up_only, target=migration, backup=False))
        if again.get('failed'):
            raise SystemExit(f'{name}/{migration}: re-applying after the rollback failed: {again["msg"]}')
        outcomes.append(outcome)
        print(f"{name}/{migration}: {outcome['status']}", file=sys.stderr)
    pg.drop_database(database)
    return outcomes


def summarize(outcomes):
    counted = [o for o in outcomes if o['status'] in ('match', 'mismatch', 'unsupported', 'failed')]
    matched = [o for o in counted if o['status'] == 'match']
    return dict(
        migrations=len(outcomes),
        reversible=len(counted),
        matched=len(matched),
        irreversible=sum(o['status'] == 'irreversible' for o in outcomes),
        down_broken=sum(o['status'] == 'down-broken' for o in outcomes),
        percent=round(100.0 * len(matched) / len(counted), 1) if counted else 0.0,
    )


def write_doc_section(result):
    rows = [f"| {name} | {s['migrations']} | {s['reversible']} | {s['matched']} | {s['irreversible']} | "
            f"{s['down_broken']} | {s['percent']} % |" for name, s in result['sets'].items()]
    total = result['total']
    misses = [o for o in result['outcomes'] if o['status'] in ('mismatch', 'unsupported', 'failed')]
    write_section('migration-rollback-quality', 'Schema migrations: generated rollback against handwritten downs', [
        f"Measured {result['date']} on {result['machine']}, PostgreSQL {result['server_version']}, with "
        f"`{COMMAND}` (written by the script, not by hand). Each migration of `tests/migrations/quality/postgresql` "
        'is applied, rolled back with generated reverse SQL, and compared (catalogs and pg_dump) with the same '
        'migration applied and undone by its handwritten down section.',
        '',
        '| set | migrations | reversible | generated = handwritten | irreversible (refused) | down fails | score |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
        *rows,
        f"| **all** | {total['migrations']} | {total['reversible']} | {total['matched']} | {total['irreversible']} | "
        f"{total['down_broken']} | **{total['percent']} %** |",
        '',
        f"Goal: {GOAL:g} % or more of the reversible migrations: **{'met' if result['goal_met'] else 'NOT met'}**. "
        f"Run time {result['seconds']} s.",
        '',
        *(['Misses:', ''] + [f"- `{o['set']}/{o['migration']}` ({o['status']}): {o.get('detail', '')[:240]}"
                             for o in misses] if misses else ['No misses.']),
    ])


def main():
    started = time.monotonic()
    sets = sorted(p for p in CORPUS.iterdir() if p.is_dir())
    with ThrowawayPostgres() as pg, tempfile.TemporaryDirectory(prefix='rollback-quality-') as tmp:
        pg.create_role('app', PASSWORD)
        pg.create_role('readonly', 'x', 'NOLOGIN')
        version = pg.connect().execute("SELECT current_setting('server_version')").fetchone()[0]
        outcomes = []
        for directory in sets:
            files = sorted(directory.glob('*.sql'))
            outcomes += evaluate_set(pg, directory.name, files, Path(tmp))
    by_set = {d.name: summarize([o for o in outcomes if o['set'] == d.name]) for d in sets}
    total = summarize(outcomes)
    result = dict(
        date=datetime.date.today().isoformat(),
        machine=f'{os.cpu_count()} cores, {platform.system()} {platform.release()}',
        command=COMMAND,
        server_version=version,
        seconds=round(time.monotonic() - started, 1),
        sets=by_set,
        total=total,
        goal_percent=GOAL,
        goal_met=total['percent'] >= GOAL,
        outcomes=outcomes,
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + '\n')
    write_doc_section(result)
    print(json.dumps(total), f"goal {'met' if result['goal_met'] else 'NOT met'}")
    return 0 if result['goal_met'] else 1


if __name__ == '__main__':
    sys.exit(main())
