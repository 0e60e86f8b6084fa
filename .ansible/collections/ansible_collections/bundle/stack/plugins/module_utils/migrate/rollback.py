# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The rollback flow of schema_rollback: the last N migrations (or back to a named one) with their down
SQL or generated reverse SQL, each reverse verified against the snapshot taken when it was applied."""

from __future__ import annotations

import time

from ansible_collections.bundle.stack.plugins.module_utils.migrate.catalog import (
    compare,
    compare_fingerprints,
    digest,
    earliest_before,
    fingerprints,
)
from ansible_collections.bundle.stack.plugins.module_utils.migrate.errors import MigrationError, excerpt
from ansible_collections.bundle.stack.plugins.module_utils.migrate.files import DOWN_MARK, load_migrations
from ansible_collections.bundle.stack.plugins.module_utils.migrate.ledger import history_table, millis, operator_name
from ansible_collections.bundle.stack.plugins.module_utils.migrate.reverse import ReverseStatement


def select_targets(applied, params):
    """The applied rows to roll back, latest first."""
    if not applied:
        raise MigrationError('Nothing to roll back: the ledger lists no applied migration.')
    if params.get('to'):
        names = [row['name'] for row in applied]
        if params['to'] not in names:
            raise MigrationError(f"to={params['to']} is not an applied migration (applied: {', '.join(names)}).")
        keep = names.index(params['to'])
        return list(reversed(applied[keep + 1:]))
    steps = params['steps']
    if steps < 1:
        raise MigrationError(f'steps={steps}: roll back at least one migration.')
    if steps > len(applied):
        raise MigrationError(f'steps={steps} but only {len(applied)} migration(s) are applied: '
                             f"{', '.join(row['name'] for row in applied)}.")
    return list(reversed(applied[-steps:]))


class RollbackPlan:
    """How one applied migration (its ledger row) is rolled back.

    source: 'down' (the file's or the ledger's down SQL) or 'generated'; statements are
    ReverseStatements and findings the generator's Findings (forced ones only: any other
    refuses the rollback before a plan exists).
    """

    def __init__(self, row, source, statements, findings=(), notes=()):
        self.row = row
        self.source = source
        self.statements = statements
        self.findings = list(findings)
        self.notes = list(notes)

    def sql_text(self):
        return ''.join(s.sql.rstrip().rstrip(';') + ';\n' for s in self.statements)

    def as_dict(self):
        return dict(name=self.row['name'], source=self.source, sql=[s.sql for s in self.statements],
                    findings=[f.as_dict() for f in self.findings], notes=self.notes,
                    applied_at=self.row['applied_at'], backup_taken_before_apply=self.row.get('backup'))


def plan_rollback(engine, row, migration, params):
    """How to roll back one applied migration, or a refusal (MigrationError)."""
    name = row['name']
    if migration is not None and migration.checksum != row['checksum'] and not params['force']:
        raise MigrationError(f'Refusing to roll back {name}: its file {migration.up_file} changed since it was '
                             'applied (checksum of the up SQL differs), so neither its down section nor SQL '
                             'generated from it can be trusted. Restore the file, or pass force=true to roll back '
                             'what the ledger recorded.')
    down = migration.down if migration is not None and migration.checksum == row['checksum'] else None
    down = down or row.get('down_sql')
    if down:
        statements = engine.split(down, f'the down SQL of {name}')
        return RollbackPlan(row, 'down', [ReverseStatement(s.sql) for s in statements])
    plan = engine.reverse_migration(row['up_sql'], row.get('snapshot'), params['force'])
    findings = [f.as_dict() for f in plan.findings]
    blocking = plan.blocking
    if blocking:
        lines = []
        for finding in blocking:
            lines.append(f'statement {finding.index + 1} `{excerpt(finding.sql, 120)}` {finding.reason}')
        if any(f.kind == 'irreversible' for f in blocking):
            raise MigrationError(
                f"Refusing to roll back {name}: it destroyed data, which no reverse SQL can bring back: "
                f"{'; '.join(lines)}. {backup_hint(row, engine.name)} To recreate only the structure (without the "
                'lost data), run again with force=true.', refused=findings)
        raise MigrationError(
            f"Cannot generate reverse SQL for {name}: {'; '.join(lines)}. Add a '{DOWN_MARK}' section to its file "
            f'(or a {name}.down.sql beside it) and run again.', refused=findings)
    return RollbackPlan(row, 'generated', plan.statements, plan.findings, plan.notes)


def rollback_migrations(module, engine, params):
    """Roll back the selected migrations (params['steps'] or params['to']); the module's result."""
    result = dict(changed=False, rolled_back=[], plans=[], backup=None, history=[], history_lines=[],
                  engine=engine.name, verification=[])
    migrations = {m.name: m for m in load_migrations(params['path'])} if params.get('path') else {}
    engine.connect()
    try:
        present = engine.ledger_exists()
        engine.commit()
        if not present:
            raise MigrationError(f'Nothing to roll back: there is no migration ledger {engine.ledger} in '
                                 f"{params['database']}.")
        engine.lock()
        applied = engine.applied(full=True)
        targets = select_targets(applied, params)
        plans = [plan_rollback(engine, row, migrations.get(row['name']), params) for row in targets]
        result['plans'] = [p.as_dict() for p in plans]
        if not engine.transactional_ddl:
            module.warn(f'{engine.name}: DDL is not transactional, so a failing reverse statement leaves the '
                        'statements before it applied; every statement is verified right after it runs.')
        if module.check_mode:
            result['changed'] = bool(plans)
            result['diff'] = [dict(before_header=f"{p.row['name']} (applied {p.row['applied_at']})",
                                   after_header=f"{p.row['name']} rolled back with {p.source} SQL",
                                   before='', after=p.sql_text()) for p in plans]
        else:
            up_statements = [s for p in plans for s in engine.split(p.row['up_sql'], p.row['name'])]
            result['backup'] = engine.backup_before(module, 'before-rollback-' + plans[0].row['name'], up_statements)
            run_rollbacks(module, engine, plans, params, result)
            result['changed'] = True
        result['history'] = engine.history(params['history_limit'])
        result['history_lines'] = history_table(result['history'])
        return result
    finally:
        engine.close()


def verify_statement(engine, plan, index):
    """After the reverse of up statement index: its objects are as they were before it."""
    state = plan.row['snapshot']['statements'][index]
    keys = sorted(state['before'])
    now = engine.describe_keys(keys)
    problems = []
    for key in keys:
        problems += [f'{key} {line}' for line in compare(state['before'][key], now[key])]
    return problems


def verify_migration(engine, plan):
    """The whole schema against the fingerprints taken before the migration was applied."""
    snapshot = plan.row['snapshot']
    full = engine.describe_all()
    problems = compare_fingerprints(snapshot['fingerprints'], fingerprints(full))
    known = earliest_before(snapshot)
    lines = []
    for key, what in problems:
        before = known.get(key)
        if before is not None and digest(before) == snapshot['fingerprints'].get(key):
            detail = '; '.join(compare(before, full.get(key))[:8])
            lines.append(f'{key}: {detail or what}')
        elif what == 'missing':
            lines.append(f'{key}: missing (it existed before the migration)')
        elif what == 'extra':
            lines.append(f'{key}: still there (it did not exist before the migration)')
        else:
            lines.append(f'{key}: differs from before the migration')
    return lines, [key for key, _ in problems]


def forced_keys(plan):
    """The snapshot keys of the statements forced through: they may differ after the rollback."""
    keys = set()
    for finding in plan.findings:
        if finding.kind == 'forced':
            state = plan.row['snapshot']['statements'][finding.index]
            keys.update(state['before'])
    return keys


def run_rollbacks(module, engine, plans, params, result):
    """Run every plan; on PostgreSQL all in one transaction, verified before COMMIT."""
    operator = operator_name(params)
    version = engine.server_version()
    engine.commit()
    backup = (result.get('backup') or {}).get('path')
    ran = []
    try:
        for plan in plans:
            start = time.monotonic()
            statements = plan.statements
            snapshot = plan.row.get('snapshot') or {}
            for position, statement in enumerate(statements):
                sql, index = statement.sql, statement.reverses
                try:
                    engine.execute(sql)
                except Exception as exc:
                    if not engine.is_driver_error(exc):
                        raise
                    raise MigrationError(
                        f"Cannot roll back {plan.row['name']}: reverse statement {position + 1} of {len(statements)} "
                        f"({plan.source} SQL) failed: {engine.error_text(exc)}\n  {excerpt(sql)}\n"
                        + rollback_state_text(engine, ran, backup), rolled_back=[r['name'] for r in ran]) from exc
                ran.append(dict(name=plan.row['name'], sql=sql))
                next_index = statements[position + 1].reverses if position + 1 < len(statements) else None
                if index is not None and next_index != index and snapshot.get('statements'):
                    problems = verify_statement(engine, plan, index)
                    if problems and not (set(k.split(' ', 1)[0] for k in problems) <= forced_keys(plan)):
                        raise MigrationError(
                            f"Cannot roll back {plan.row['name']}: after reversing statement {index + 1} the schema "
                            f"is not as it was before it: {'; '.join(problems[:10])}. "
                            + rollback_state_text(engine, ran, backup), rolled_back=[r['name'] for r in ran])
            if snapshot.get('fingerprints') is not None:
                lines, keys = verify_migration(engine, plan)
                unexpected = [k for k in keys if k not in forced_keys(plan)]
                result['verification'].append(dict(name=plan.row['name'], differences=lines,
                                                   verified=not lines))
                if unexpected:
                    raise MigrationError(
                        f"Cannot roll back {plan.row['name']}: after its {plan.source} SQL the schema does not equal "
                        f"the snapshot taken before it was applied. Differences: {' | '.join(lines[:15])}. "
                        + rollback_state_text(engine, ran, backup), rolled_back=[r['name'] for r in ran],
                        differences=lines)
                if lines:
                    module.warn(f"{plan.row['name']}: forced rollback left differences: {' | '.join(lines[:10])}")
            else:
                result['verification'].append(dict(name=plan.row['name'], differences=[], verified=False))
            engine.record_rolled_back(plan.row['id'], dict(
                rolled_back_by=f"{operator} as {version['user']}", duration_ms=millis(start), source=plan.source,
                sql=plan.sql_text(), backup=backup))
            if not engine.transactional_ddl:
                engine.commit()
            result['rolled_back'].append(dict(name=plan.row['name'], source=plan.source,
                                              statements=len(statements), duration_ms=millis(start)))
        engine.commit()
    except BaseException:
        engine.rollback()
        raise
    finally:
        engine.reset_session()
        engine.commit()


def rollback_state_text(engine, ran, backup):
    if engine.transactional_ddl:
        return ('Everything ran in one transaction, which was rolled back: the schema and the ledger are exactly as '
                'they were before this run.')
    done = ', '.join(excerpt(r['sql'], 60) for r in ran) or 'none'
    return (f'{engine.name} DDL is not transactional: the statements that ran stay applied ({done}). The '
            f"schema is between two states; restore the backup {backup or '(none taken)'} or finish by hand.")


def backup_hint(row, engine):
    """How to get back the data a migration destroyed: the backup recorded with it."""
    backup = row.get('backup')
    if not backup:
        return (f"No backup was recorded when it was applied ({row.get('applied_at')}); restore the latest backup "
                'taken before that time.')
    if backup.endswith('.dump'):
        how = f'pg_restore --clean --if-exists --single-transaction --dbname=<database> {backup}'
    elif backup.endswith('.sql'):
        how = f'mysql <database> < {backup}'
    else:
        how = ('ansible-playbook playbooks/restore.yml -e restore_backup=<its name> -e restore_replace=true'
               + (' -e restore_engine=mysql' if engine == 'mysql' else ''))
    return f'The way back is the backup taken right before it was applied: {backup}. Restore it with {how}.'
