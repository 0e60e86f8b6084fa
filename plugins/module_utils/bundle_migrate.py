# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shared parts of schema_migrate and schema_rollback.

- Migration files: a directory of *.sql applied in name order. One file holds
  the up SQL, optionally followed by a down section after a line
  `-- migrate:down` (dbmate style, `-- migrate:up` may open the file), or the
  down SQL sits in a sibling `<name>.down.sql` (with `<name>.sql` or
  `<name>.up.sql`, golang-migrate style). `-- migrate:up transaction:false`
  marks a migration that must run outside a transaction (CREATE INDEX
  CONCURRENTLY).
- The checksum of a migration is the SHA-256 of its up SQL: the SQL that was
  applied must not change afterwards; the down section may be fixed later.
- The flows: apply pending migrations, each in one transaction with a catalog
  snapshot before and after every statement; roll back the last N (or back
  to a named one) with the down section or generated reverse SQL, verify the
  schema against the snapshot and record the rollback.

Engines (bundle_migrate_pg.PgEngine, bundle_migrate_mysql.MysqlEngine) do
the database work on top of Engine below, which holds the ledger, the
snapshot bookkeeping and the backup plumbing they share; the generators
(bundle_reverse_sql_pg, bundle_reverse_sql_mysql) build on Reverser and the
snapshot reader StatementState. This file does not import a driver or a parser.
"""

from __future__ import annotations

import datetime
import getpass
import hashlib
import json
import os
import socket
import time
from dataclasses import dataclass, field

UP_MARK = '-- migrate:up'
DOWN_MARK = '-- migrate:down'
SNAPSHOT_VERSION = 1


class MigrationError(Exception):
    """A failure with a message meant for the operator; extra keys go to the result."""

    def __init__(self, msg, **extra):
        super().__init__(msg)
        self.msg = msg
        self.extra = extra


# --- files ------------------------------------------------------------------------

class Migration:
    def __init__(self, name, up, down, up_file, down_file, transaction=True):
        self.name = name
        self.up = up
        self.down = down
        self.up_file = up_file
        self.down_file = down_file
        self.transaction = transaction
        self.checksum = checksum(up)

    def as_dict(self):
        return dict(name=self.name, file=self.up_file, down=self.down_file or ('section' if self.down else None),
                    checksum=self.checksum, transaction=self.transaction)


def checksum(up_sql):
    return hashlib.sha256(up_sql.strip().encode('utf-8')).hexdigest()


def natural_key(name):
    """'10_x' after '9_x': runs of digits compare as numbers."""
    key, digits, text = [], '', ''
    for char in name:
        if char.isdigit():
            if text:
                key.append((1, text, 0))
                text = ''
            digits += char
        else:
            if digits:
                key.append((0, '', int(digits)))
                digits = ''
            text += char
    if digits:
        key.append((0, '', int(digits)))
    if text:
        key.append((1, text, 0))
    return key


def sorted_dirs(parent):
    """Subdirectories of parent, highest version number first."""
    try:
        names = os.listdir(parent)
    except OSError:
        return []
    return [os.path.join(parent, n) for n in sorted(names, key=natural_key, reverse=True)
            if os.path.isdir(os.path.join(parent, n))]


def marker(line):
    """(mark, options) when a line is a -- migrate:up/down marker, else None."""
    stripped = line.strip()
    for mark in (UP_MARK, DOWN_MARK):
        if stripped.lower() == mark or stripped.lower().startswith(mark + ' '):
            options = dict(word.split(':', 1) for word in stripped[len(mark):].split() if ':' in word)
            return mark, options
    return None


def split_sections(text, path):
    """(up, down or None, options of the up marker) of one migration file."""
    up, down, options = [], None, {}
    current = up
    for line in text.splitlines(keepends=True):
        found = marker(line)
        if found is None:
            current.append(line)
            continue
        mark, opts = found
        if mark == UP_MARK:
            if down is not None or any(part.strip() for part in up):
                raise MigrationError(f'{path}: "{UP_MARK}" must come first, before any SQL and the down section.')
            options = opts
        else:
            if down is not None:
                raise MigrationError(f'{path}: "{DOWN_MARK}" appears twice.')
            down = []
            current = down
    down_text = ''.join(down) if down is not None else None
    if down_text is not None and not sql_content(down_text):
        down_text = None  # an empty down section means: generate it
    return ''.join(up), down_text, options


def sql_content(text):
    """Whether text holds anything but blank lines and -- comments."""
    return any(line.strip() and not line.strip().startswith('--') for line in text.splitlines())


def read_text(path):
    try:
        with open(path, encoding='utf-8') as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise MigrationError(f'Cannot read migration file {path}: {exc}') from exc


def load_migrations(directory):
    """The migrations of a directory, in name order."""
    if not os.path.isdir(directory):
        raise MigrationError(f'path={directory} is not a directory of migration files.')
    ups, downs = {}, {}
    for entry in sorted(os.listdir(directory)):
        full = os.path.join(directory, entry)
        if not entry.endswith('.sql') or not os.path.isfile(full):
            continue
        stem = entry[:-4]
        if stem.endswith('.down'):
            downs[stem[:-5]] = full
            continue
        name = stem[:-3] if stem.endswith('.up') else stem
        if name in ups:
            raise MigrationError(f'Two files define migration {name}: {os.path.basename(ups[name])} and {entry}.')
        ups[name] = full
    orphans = sorted(set(downs) - set(ups))
    if orphans:
        raise MigrationError(f"Down file(s) without an up file in {directory}: "
                             f"{', '.join(os.path.basename(downs[n]) for n in orphans)}.")
    migrations = []
    for name in sorted(ups, key=natural_key):
        up, down, options = split_sections(read_text(ups[name]), ups[name])
        down_file = downs.get(name)
        if down_file:
            if down is not None:
                raise MigrationError(f'Migration {name} has both a "{DOWN_MARK}" section and '
                                     f'{os.path.basename(down_file)}; keep one.')
            down = read_text(down_file)
            if not sql_content(down):
                down = None
        if not sql_content(up):
            raise MigrationError(f'Migration {name} ({ups[name]}) has no up SQL.')
        transaction = options.get('transaction', 'true').lower() not in ('false', 'no', '0')
        migrations.append(Migration(name, up, down, ups[name], down_file, transaction))
    return migrations


# --- snapshots ---------------------------------------------------------------------------

def digest(value):
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(',', ':')).encode()).hexdigest()[:20]


def fingerprints(descriptions):
    """{key: digest} of every object of a full description."""
    return {key: digest(desc) for key, desc in descriptions.items()}


def compare(before, after, path='', out=None, limit=40):
    """Differences between two descriptions as readable lines."""
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            sub = f'{path}.{key}' if path else str(key)
            if key not in before:
                out.append(f'{sub}: added {short(after[key])}')
            elif key not in after:
                out.append(f'{sub}: missing (was {short(before[key])})')
            else:
                compare(before[key], after[key], sub, out, limit)
    elif isinstance(before, list) and isinstance(after, list) and all(
            isinstance(x, dict) and 'name' in x for x in before + after):
        names_before = [x['name'] for x in before]
        names_after = [x['name'] for x in after]
        if names_before != names_after and sorted(names_before) == sorted(names_after):
            out.append(f'{path}: order {names_before} became {names_after}')
        compare({x['name']: x for x in before}, {x['name']: x for x in after}, path, out, limit)
    elif before != after:
        out.append(f'{path}: {short(before)} became {short(after)}')
    return out


def short(value, width=160):
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= width else text[:width - 3] + '...'


def compare_fingerprints(expected, current):
    """Keys missing, extra or changed between two fingerprint maps."""
    problems = []
    for key in sorted(set(expected) | set(current)):
        if key not in current:
            problems.append((key, 'missing'))
        elif key not in expected:
            problems.append((key, 'extra'))
        elif expected[key] != current[key]:
            problems.append((key, 'changed'))
    return problems


def earliest_before(snapshot):
    """The first recorded 'before' description of every key a migration touched."""
    known = {}
    for state in snapshot.get('statements') or []:
        for key, desc in (state.get('before') or {}).items():
            known.setdefault(key, desc)
    return known


def json_safe(value):
    """Catalog values as JSON-friendly data (tuples, decimals, dates)."""
    return json.loads(json.dumps(value, default=str))


# --- reverse SQL: what both generators share -------------------------------------------

UNKNOWN = object()  # what a snapshot does not hold (none was taken, or the object was not in it)


class ReverseError(Exception):
    """Reverse SQL cannot be generated for a statement."""

    def __init__(self, kind, reason):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def irreversible(reason):
    return ReverseError('irreversible', reason)


def unsupported(reason):
    return ReverseError('unsupported', reason)


@dataclass
class Statement:
    index: int
    sql: str
    node: object


@dataclass(frozen=True)
class Ref:
    """An object a statement names, as written: kind and dotted name parts."""
    kind: str
    parts: tuple
    args: str | None = None

    @property
    def schema(self):
        return self.parts[0] if len(self.parts) > 1 else None

    @property
    def name(self):
        return self.parts[-1]

    def __str__(self):
        text = f"{self.kind}:{'.'.join(p for p in self.parts if p is not None)}"
        return text if self.args is None else f'{text}({self.args})'


def unique_refs(refs):
    """The refs in order, each once (a statement may name the same object twice)."""
    seen, unique = set(), []
    for ref in refs:
        if str(ref) not in seen:
            seen.add(str(ref))
            unique.append(ref)
    return unique


@dataclass
class Finding:
    index: int
    sql: str
    kind: str
    reason: str

    def as_dict(self):
        return dict(statement=self.index + 1, sql=self.sql, kind=self.kind, reason=self.reason)


@dataclass
class ReverseStatement:
    sql: str
    of: int  # index of the up statement it reverses; -1 for a setting replayed first

    def as_dict(self):
        return dict(sql=self.sql, reverses=self.of + 1 if self.of >= 0 else None)


@dataclass
class ReversePlan:
    statements: list = field(default_factory=list)
    findings: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def blocking(self):
        return [f for f in self.findings if f.kind != 'forced']

    def sql(self):
        return [s.sql for s in self.statements]


class StatementState:
    """Catalog descriptions of a statement's refs, before and after it ran.

    data: {"refs": {str(ref): [key, member]}, "before": {key: desc|None},
           "after": {key: desc|None}}; None when no snapshot exists (every
    lookup is then UNKNOWN and only snapshot-free reverses are possible).
    """

    def __init__(self, data=None):
        self.data = data

    def key(self, ref):
        if not self.data:
            return None
        entry = self.data.get('refs', {}).get(str(ref))
        return entry[0] if entry else None

    def member(self, ref):
        entry = (self.data or {}).get('refs', {}).get(str(ref))
        return entry[1] if entry and len(entry) > 1 else None

    def _lookup(self, side, ref):
        key = self.key(ref)
        if key is None or key not in self.data.get(side, {}):
            return UNKNOWN
        return self.data[side][key]

    def before(self, ref):
        return self._lookup('before', ref)

    def after(self, ref):
        return self._lookup('after', ref)


def existed(desc):
    return desc is not UNKNOWN and desc is not None


class Reverser:
    """Reverses the statements of one migration, last first. An engine's subclass has
    the rules (reverse, track) and says how session settings are replayed
    (setting, settings_sql, settings_end_sql)."""

    state_class = StatementState

    def __init__(self, statements, snapshot=None, force=False):
        self.statements = statements
        self.snapshot = snapshot or {}
        self.force = force
        self.states = self.snapshot.get('statements') or []
        self.forced = []
        self.notes = []
        # What earlier statements of this migration created, by ref as resolved
        # (so that data changes to them need no reverse of their own).
        self.created = set()
        self.added_columns = {}

    def state(self, index):
        return self.state_class(self.states[index] if index < len(self.states) else None)

    def run(self):
        plan = ReversePlan()
        per_statement, envs, settings = [], [], {}
        for stmt in self.statements:
            envs.append(dict(settings))
            state = self.state(stmt.index)
            if self.setting(stmt, settings):
                per_statement.append([])
                continue
            try:
                per_statement.append(self.reverse(stmt, state))
            except ReverseError as exc:
                plan.findings.append(Finding(stmt.index, stmt.sql, exc.kind, exc.reason))
                per_statement.append([])
            self.track(stmt, state)
        # Latest first; each reverse runs under the settings its up statement ran under.
        emitted = {}
        for stmt in reversed(self.statements):
            reverse = per_statement[stmt.index]
            if not reverse:
                continue
            wanted = envs[stmt.index]
            if wanted != emitted:
                plan.statements.extend(ReverseStatement(sql, -1) for sql in self.settings_sql(emitted, wanted))
                emitted = dict(wanted)
            plan.statements.extend(ReverseStatement(sql, stmt.index) for sql in reverse)
        plan.statements.extend(ReverseStatement(sql, -1) for sql in self.settings_end_sql(emitted))
        for index, sql, reason in self.forced:
            plan.findings.append(Finding(index, sql, 'forced', reason))
        plan.notes = self.notes
        return plan

    def destroys(self, stmt, reason, restore=()):
        """An irreversible statement: refuse, or with force restore what can be."""
        if not self.force:
            raise irreversible(reason)
        self.forced.append((stmt.index, stmt.sql, reason + ' (forced: the structure is restored, not the data)'))
        return list(restore)

    def need(self, desc, what):
        if desc is UNKNOWN:
            raise unsupported(f'the snapshot does not hold {what}, which this reverse needs')
        return desc


def reverse_statements(reverser, statements, snapshot=None, force=False):
    """The ReversePlan of a migration's parsed up statements, with the snapshot
    schema_migrate recorded while applying them ({"statements": [...]}) or None."""
    if snapshot and snapshot.get('statements') is not None and len(snapshot['statements']) != len(statements):
        raise ValueError(f"the snapshot covers {len(snapshot['statements'])} statements but the up SQL "
                         f'has {len(statements)}')
    return reverser(statements, snapshot, force).run()


# --- engines: what both share -------------------------------------------------------------

class Catalog:
    """Reads the catalogs of the connected database (columns by lower-case name)."""

    def __init__(self, cursor, exclude=()):
        self.cursor = cursor
        self.exclude = set(exclude)  # relations never described: the ledger

    def rows(self, query, params=None):
        self.cursor.execute(query, params)
        if self.cursor.description is None:
            return []
        names = [c[0].lower() for c in self.cursor.description]
        return [dict(zip(names, row, strict=True)) for row in self.cursor.fetchall()]

    def one(self, query, params=None):
        rows = self.rows(query, params)
        return rows[0] if rows else None


class Engine:
    """What the flows need from a database: the ledger, snapshots, a backup.

    A subclass says what differs: name, transactional_ddl, default_port and
    default_user, requirements ([(library, present)]), driver_errors, the
    ledger's dialect (now_sql, json_param), the generator (the
    bundle_reverse_sql_* module: split_statements, non_transactional, refs_of,
    reverse_migration), and connect, try_lock/unlock, ledger_exists/ensure_ledger, server_version,
    set_autocommit, reset_session and backup.
    """

    LEDGER_COLUMNS = ('id, name, checksum, applied_at, applied_by, duration_ms, backup, rolled_back_at, '
                      'rolled_back_by, rollback_duration_ms, rollback_source, rollback_backup')

    def __init__(self, params):
        self.params = params
        self.connection = None
        self.cursor = None
        self.catalog = None
        self.ledger_name = params['ledger_table']
        self.locked = False

    def close(self):
        if self.connection is None:
            return
        try:
            if self.locked:
                self.unlock()
        except self.driver_errors:
            pass
        self.connection.close()
        self.connection = None

    def execute(self, sql, params=None):
        self.cursor.execute(sql, params)

    def rows(self, sql, params=None):
        return self.catalog.rows(sql, params)

    def commit(self):
        self.connection.commit()

    def rollback(self):
        self.connection.rollback()

    def error_text(self, exc):
        return str(exc)

    def is_driver_error(self, exc):
        return isinstance(exc, self.driver_errors)

    # --- ledger ---

    def lock(self):
        if not self.try_lock():
            raise MigrationError(f'Cannot lock the migration ledger {self.ledger}: another schema_migrate or '
                                 'schema_rollback run holds it. Wait for it to finish and run again.')
        self.locked = True

    def applied(self, full=False):
        columns = self.LEDGER_COLUMNS + (', up_sql, down_sql, snapshot' if full else '')
        return self.ledger_rows(f'SELECT {columns} FROM {self.ledger} WHERE rolled_back_at IS NULL ORDER BY id')

    def history(self, limit):
        rows = self.ledger_rows(f'SELECT {self.LEDGER_COLUMNS} FROM {self.ledger} ORDER BY id DESC LIMIT %s',
                                (limit,))
        return list(reversed(rows))

    def ledger_rows(self, sql, params=None):
        rows = [ledger_row(r) for r in self.rows(sql, params)]
        self.commit()  # end the read's transaction (PostgreSQL): the lock and the flows start clean
        return rows

    def record_applied(self, entry):
        self.execute(
            f'INSERT INTO {self.ledger} (name, checksum, applied_by, duration_ms, up_sql, down_sql, snapshot, backup) '
            f'VALUES (%s, %s, %s, %s, %s, %s, {self.json_param}, %s)',
            (entry['name'], entry['checksum'], entry['applied_by'], entry['duration_ms'], entry['up_sql'],
             entry['down_sql'], json.dumps(entry['snapshot']), entry['backup']))

    def record_rolled_back(self, ledger_id, entry):
        self.execute(
            f'UPDATE {self.ledger} SET rolled_back_at = {self.now_sql}, rolled_back_by = %s, '
            'rollback_duration_ms = %s, rollback_source = %s, rollback_sql = %s, rollback_backup = %s '
            'WHERE id = %s AND rolled_back_at IS NULL',
            (entry['by'], entry['duration_ms'], entry['source'], entry['sql'], entry['backup'], ledger_id))

    # --- SQL and snapshots ---

    def split(self, sql, what):
        try:
            return self.generator.split_statements(sql)
        except Exception as exc:  # each parser has its own error classes
            raise MigrationError(f'Cannot parse {what}: {exc}') from exc

    def statement_problem(self, statement):
        return self.generator.non_transactional(statement.node)

    def statement_state(self, statement):
        """Resolve and describe what a statement touches, before it runs."""
        refs = {str(ref): self.catalog.resolve(ref) for ref in self.generator.refs_of(statement.node)}
        keys = sorted({entry[0] for entry in refs.values()})
        return {'sql': statement.sql, 'refs': refs, 'before': self.describe_keys(keys), 'keys': keys}

    def finish_state(self, state):
        state['after'] = self.describe_keys(state.pop('keys'))
        return state

    def describe_keys(self, keys):
        return json_safe(self.catalog.describe(keys))

    def describe_all(self):
        return json_safe(self.catalog.describe_all())

    def reverse(self, up_sql, snapshot, force):
        return self.generator.reverse_migration(up_sql, snapshot, force)

    # --- backup (the modules' own, from the control node) ---

    def backup_path(self, backup_dir, label, extension):
        stamp = datetime.datetime.now(datetime.UTC).strftime('%Y%m%dT%H%M%SZ')
        os.makedirs(backup_dir, mode=0o700, exist_ok=True)
        return os.path.join(backup_dir, f"{self.params['database']}-{stamp}-{label}{extension}")

    def run_dump(self, module, argv, environ):
        """Run the dump tool argv[0], its files readable by their owner only."""
        old_umask = os.umask(0o077)
        try:
            rc, out, err = module.run_command(argv, environ_update=environ)
        finally:
            os.umask(old_umask)
        if rc != 0:
            raise MigrationError(f"Cannot back up {self.params['database']} with {argv[0]} before changing it: "
                                 f'{err.strip() or out.strip()}. Nothing was changed.')


def ledger_row(row):
    out = {}
    for key, value in row.items():
        if isinstance(value, datetime.datetime):
            value = value.isoformat(timespec='seconds')
        out[key] = value
    if isinstance(out.get('snapshot'), str):
        out['snapshot'] = json.loads(out['snapshot'])
    return out


# --- who, and small helpers ------------------------------------------------------------

def operator_name(params):
    if params.get('applied_by'):
        return params['applied_by']
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f'{user}@{socket.gethostname()}'


def excerpt(sql, width=200):
    text = ' '.join(sql.split())
    return text if len(text) <= width else text[:width - 3] + '...'


def millis(start):
    return int((time.monotonic() - start) * 1000)


def history_table(history):
    """The ledger as lines of text, oldest first: what was applied and what was rolled back."""
    lines = []
    for row in history:
        line = (f"#{row['id']} {row['name']}: applied {row['applied_at']} by {row['applied_by']} "
                f"in {row['duration_ms']} ms")
        if row.get('rolled_back_at'):
            line += (f"; rolled back {row['rolled_back_at']} by {row['rolled_back_by']} with "
                     f"{row['rollback_source']} SQL in {row['rollback_duration_ms']} ms")
        lines.append(line)
    return lines


def backup_hint(row, engine):
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


# --- apply -----------------------------------------------------------------------------------

def apply_migrations(module, engine, params):
    migrations = load_migrations(params['path'])
    by_name = {m.name: m for m in migrations}
    result = dict(changed=False, applied=[], pending=[], changed_files=[], missing_files=[], backup=None,
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
            problems = [engine.statement_problem(s) for s in statements]
            problems = [p for p in problems if p]
            if problems and migration.transaction and engine.transactional_ddl:
                raise MigrationError(
                    f"Migration {migration.name} uses {', '.join(sorted(set(problems)))}, which PostgreSQL cannot "
                    f"run inside a transaction. Put it in a migration of its own whose first line is "
                    f"'{UP_MARK} transaction:false'. Nothing was applied.", **result)
            parsed.append((migration, statements))
        result['pending'] = [m.name for m in pending]
        if module.check_mode:
            result['changed'] = bool(pending)
            result['diff'] = [dict(before_header=f'{m.name} (not applied)', after_header=f'{m.name} ({m.up_file})',
                                   before='', after=m.up.strip() + '\n') for m in pending]
        elif pending:
            result['backup'] = take_backup(module, engine, params, 'before-apply-' + pending[0].name,
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


def take_backup(module, engine, params, label, statements):
    if params.get('backup_file'):
        # Taken by someone else (the bundle's backup module, on the database host): recorded as given.
        return {'path': params['backup_file'], 'schemas': None, 'tool': 'given'}
    if not params.get('backup', True):
        return None
    return engine.backup(module, params['backup_dir'], label, statements)


def apply_one(engine, migration, statements, operator, result):
    start = time.monotonic()
    version = engine.server_version()
    engine.commit()
    entry = dict(name=migration.name, checksum=migration.checksum, up_sql=migration.up, down_sql=migration.down,
                 applied_by=f"{operator} as {version['u']}",
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


# --- rollback ----------------------------------------------------------------------------

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
    def __init__(self, row, source, statements, findings=(), notes=()):
        self.row = row
        self.source = source          # 'down' (the file or ledger's down SQL) or 'generated'
        self.statements = statements  # [(sql, index of the up statement or None)]
        self.findings = list(findings)
        self.notes = list(notes)

    def sql_text(self):
        return ''.join(sql.rstrip().rstrip(';') + ';\n' for sql, _ in self.statements)

    def as_dict(self):
        return dict(name=self.row['name'], source=self.source, sql=[s for s, _ in self.statements],
                    findings=self.findings, notes=self.notes, applied_at=self.row['applied_at'],
                    backup_taken_before_apply=self.row.get('backup'))


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
        return RollbackPlan(row, 'down', [(s.sql, None) for s in statements])
    plan = engine.reverse(row['up_sql'], row.get('snapshot'), params['force'])
    findings = [f.as_dict() for f in plan.findings]
    blocking = [f for f in plan.findings if f.kind != 'forced']
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
    return RollbackPlan(row, 'generated', [(s.sql, s.of if s.of >= 0 else None) for s in plan.statements],
                        findings, plan.notes)


def rollback_migrations(module, engine, params):
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
            result['backup'] = take_backup(module, engine, params, 'before-rollback-' + plans[0].row['name'],
                                           [s for p in plans for s in engine.split(p.row['up_sql'], p.row['name'])])
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
    keys = set()
    for finding in plan.findings:
        if finding['kind'] == 'forced':
            state = plan.row['snapshot']['statements'][finding['statement'] - 1]
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
            for position, (sql, index) in enumerate(statements):
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
                next_index = statements[position + 1][1] if position + 1 < len(statements) else None
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
                by=f"{operator} as {version['u']}", duration_ms=millis(start), source=plan.source,
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


# --- the modules' shared options and engine choice ---------------------------------------

def common_argument_spec():
    return dict(
        engine=dict(type='str', default='postgresql', choices=['postgresql', 'mysql']),
        database=dict(type='str', required=True),
        login_host=dict(type='str', default='127.0.0.1'),
        port=dict(type='int'),
        login_user=dict(type='str'),
        login_password=dict(type='str', no_log=True),
        login_unix_socket=dict(type='str'),
        connect_timeout=dict(type='int', default=10),
        lock_timeout=dict(type='str', default='10s'),
        ledger_table=dict(type='str', default='bundle_migration_ledger'),
        ledger_schema=dict(type='str', default='public'),
        force=dict(type='bool', default=False),
        backup_dir=dict(type='path'),
        backup_file=dict(type='str'),
        applied_by=dict(type='str'),
        history_limit=dict(type='int', default=20),
    )


def check_common_params(params, backup_wanted):
    """Problems with the options, as one message, or None."""
    if params['connect_timeout'] < 1:
        return f"connect_timeout must be 1 or more seconds, got {params['connect_timeout']}."
    if params['history_limit'] < 0:
        return f"history_limit must be 0 or more, got {params['history_limit']}."
    if backup_wanted and not params.get('backup_file') and not params.get('backup_dir'):
        return ('backup_dir is required: a backup is taken before the schema changes (or pass backup_file, '
                'a backup already taken by the bundle\'s backup module).')
    if params.get('ledger_table') and not params['ledger_table'].replace('_', '').isalnum():
        return f"ledger_table={params['ledger_table']} must be letters, digits and underscores only."
    return None


def make_engine(module):
    """The engine object for module.params['engine'], failing with an install hint when a library is missing."""
    from ansible.module_utils.basic import missing_required_lib

    if module.params['engine'] == 'postgresql':
        from ansible.module_utils.bundle_migrate_pg import PgEngine as engine
    else:
        from ansible.module_utils.bundle_migrate_mysql import MysqlEngine as engine
    for library, present in engine.requirements:
        if not present:
            module.fail_json(msg=missing_required_lib(library))
    params = dict(module.params)
    params['port'] = params['port'] or engine.default_port
    params['login_user'] = params['login_user'] or engine.default_user
    return engine(params)
