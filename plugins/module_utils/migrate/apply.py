# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The apply flow of schema_migrate: pending migrations, each in one transaction where the engine allows,
with a catalog snapshot before and after every statement recorded in the ledger."""

from __future__ import annotations

import time

from ansible_collections.bundle.stack.plugins.module_utils.migrate.catalog import SNAPSHOT_VERSION, fingerprints
from ansible_collections.bundle.stack.plugins.module_utils.migrate.errors import MigrationError, excerpt
from ansible_collections.bundle.stack.plugins.module_utils.migrate.files import UP_MARK, load_migrations, natural_key
from ansible_collections.bundle.stack.plugins.module_utils.migrate.ledger import history_table, millis, operator_name


def apply_migrations(module, engine, params):
    """Apply the pending migrations of params['path'] (up to params['target']); the module's result."""
    migrations = load_migrations(params['path'])
    by_name = {m.name: m for m in migrations}
    result = dict(changed=False, applied=[], pending=[], breaking=[], changed_files=[], missing_files=[], backup=None,
                  history=[], history_lines=[], engine=engine.name)
    if params.get('target') and params['target'] not in by_name:
        raise MigrationError(f"target={params['target']} is not a migration in {params['path']} "
                             f"(there: {', '.join(by_name) or 'none'}).")
    engine.connect()
    try:
        present = engine.ledger_exists()
        engine.commit()
        if not present and not module.check_mode:
            engine.ensure_ledger()
            present = True
        if present:
            engine.lock()
        applied = engine.applied() if present else []
        applied_names = {row['name'] for row in applied}
        for row in applied:
            migration = by_name.get(row['name'])
            if migration is None:
                result['missing_files'].append(row['name'])
            elif migration.checksum != row['checksum']:
                result['changed_files'].append(dict(name=row['name'], file=migration.up_file,
                                                    recorded=row['checksum'], now=migration.checksum,
                                                    applied_at=row['applied_at']))
        if result['changed_files'] and not params['force']:
            names = ', '.join(f"{c['name']} ({c['file']})" for c in result['changed_files'])
            raise MigrationError(
                f'Refusing to migrate: applied migration(s) changed since they were applied: {names}. The up SQL '
                'no longer matches its recorded checksum, so the ledger does not describe this schema any more. '
                'Restore the files as they were applied, or pass force=true to go on anyway.', **result)
        if result['missing_files']:
            module.warn(f"Applied migrations with no file in {params['path']}: {', '.join(result['missing_files'])}.")
        pending = [m for m in migrations if m.name not in applied_names]
        if params.get('target'):
            if params['target'] in applied_names:
                pending = []
            else:
                stop = [m.name for m in pending].index(params['target'])
                pending = pending[:stop + 1]
        last = max((natural_key(n) for n in applied_names), default=None)
        late = [m.name for m in pending if last is not None and natural_key(m.name) < last]
        if late:
            module.warn(f"Pending migrations sort before the last applied one and are applied now, out of order: "
                        f"{', '.join(late)}.")
        parsed = []
        for migration in pending:
            statements = engine.split(migration.up, f'the up SQL of {migration.name} ({migration.up_file})')
            if migration.down:
                engine.split(migration.down, f'the down SQL of {migration.name}')
            problems = [engine.non_transactional(s.node) for s in statements]
            problems = [p for p in problems if p]
            if problems and migration.transaction and engine.transactional_ddl:
                raise MigrationError(
                    f"Migration {migration.name} uses {', '.join(sorted(set(problems)))}, which PostgreSQL cannot "
                    f"run inside a transaction. Put it in a migration of its own whose first line is "
                    f"'{UP_MARK} transaction:false'. Nothing was applied.", **result)
            parsed.append((migration, statements))
        result['pending'] = [m.name for m in pending]
        result['breaking'] = [m.name for m in pending if m.breaking]
        if result['breaking'] and not params['allow_breaking']:
            raise MigrationError(
                f"Refusing to apply {', '.join(result['breaking'])}: marked '{UP_MARK} breaking:true', the release "
                'before it cannot run on the schema after it, and the hosts still on that release would fail. '
                'Ship the code that no longer needs what it removes first, then this migration with '
                'allow_breaking=true (deploy.yml: -e deploy_allow_breaking=true). Nothing was applied.', **result)
        if module.check_mode:
            result['changed'] = bool(pending)
            result['diff'] = [dict(before_header=f'{m.name} (not applied)', after_header=f'{m.name} ({m.up_file})',
                                   before='', after=m.up.strip() + '\n') for m in pending]
        elif pending:
            result['backup'] = engine.backup_before(module, 'before-apply-' + pending[0].name,
                                                    [s for _, statements in parsed for s in statements])
            operator = operator_name(params)
            for migration, statements in parsed:
                entry = apply_one(engine, migration, statements, operator, result)
                result['applied'].append(entry)
                result['changed'] = True
            result['pending'] = []
        result['history'] = engine.history(params['history_limit']) if present else []
        result['history_lines'] = history_table(result['history'])
        return result
    finally:
        engine.close()


def apply_one(engine, migration, statements, operator, result):
    """Apply one migration with its snapshot and ledger row; on PostgreSQL all or nothing."""
    start = time.monotonic()
    version = engine.server_version()
    engine.commit()
    entry = dict(name=migration.name, checksum=migration.checksum, up_sql=migration.up, down_sql=migration.down,
                 applied_by=f"{operator} as {version['user']}",
                 backup=(result.get('backup') or {}).get('path'))
    transactional = migration.transaction or not engine.transactional_ddl
    if not migration.transaction:
        engine.set_autocommit(True)
    states = []
    done = 0
    try:
        full = engine.describe_all()
        for statement in statements:
            state = engine.statement_state(statement)
            try:
                engine.execute(statement.sql)
            except Exception as exc:
                if not engine.is_driver_error(exc):
                    raise
                raise MigrationError(
                    f'Cannot apply {migration.name}: statement {statement.index + 1} of {len(statements)} failed: '
                    f'{engine.error_text(exc)}\n  {excerpt(statement.sql)}\n'
                    + (f'The migration ran in one transaction, which was rolled back: nothing of {migration.name} '
                       'is applied and the ledger is unchanged.' if transactional and engine.transactional_ddl else
                       f'{migration.name} runs without a transaction: statements 1 to {done} ran and stay; it is '
                       'not recorded in the ledger. Fix the schema by hand or restore the backup '
                       f"{entry['backup'] or '(none taken)'}."),
                    **result) from exc
            done += 1
            states.append(engine.finish_state(state))
        entry['duration_ms'] = millis(start)
        entry['snapshot'] = dict(version=SNAPSHOT_VERSION, engine=engine.name, fingerprints=fingerprints(full),
                                 statements=states)
        engine.record_applied(entry)
        engine.commit()
    except BaseException:
        engine.rollback()
        raise
    finally:
        if not migration.transaction:
            engine.set_autocommit(False)
        engine.reset_session()
        engine.commit()
    return dict(name=migration.name, checksum=migration.checksum, statements=len(statements),
                duration_ms=entry['duration_ms'], transaction=migration.transaction)
