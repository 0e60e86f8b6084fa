# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The reverse-SQL framework both generators build on.

A generator parses the up SQL into Statements, names what each touches (Refs),
and reverses them last first with a Reverser subclass: its reverse_* rules read
the old state from the snapshot schema_migrate recorded around each statement
(StatementState) and return SQL, or raise a ReverseError: 'irreversible' (the
statement destroyed data) or 'unsupported' (no rule). With force, an irreversible
statement gets the reverse that restores the structure and is listed as 'forced'.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    """A statement the generator refused ('irreversible', 'unsupported') or forced through ('forced')."""
    index: int
    sql: str
    kind: str
    reason: str

    def as_dict(self):
        return dict(statement=self.index + 1, sql=self.sql, kind=self.kind, reason=self.reason)


@dataclass
class ReverseStatement:
    """One statement a rollback runs: generated, or from a down section."""
    sql: str
    # Index of the up statement it reverses; None for a replayed setting and for down SQL.
    reverses: int | None = None


@dataclass
class ReversePlan:
    """What a generator made of a migration: the reverse statements in order, findings and notes."""
    statements: list = field(default_factory=list)
    findings: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def blocking(self):
        """The findings that refuse the rollback: every one not forced through."""
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
                plan.statements.extend(ReverseStatement(sql) for sql in self.settings_sql(emitted, wanted))
                emitted = dict(wanted)
            plan.statements.extend(ReverseStatement(sql, stmt.index) for sql in reverse)
        plan.statements.extend(ReverseStatement(sql) for sql in self.settings_end_sql(emitted))
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
