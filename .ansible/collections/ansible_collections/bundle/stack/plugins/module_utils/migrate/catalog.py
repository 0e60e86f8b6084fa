# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Catalog snapshots: the description of every schema object, their fingerprints and differences.

An engine's Catalog subclass describes objects ({key: description}); what is compared
and recorded (fingerprints, readable differences) is the same for every engine.
"""

from __future__ import annotations

import hashlib
import json

# The shape of the snapshot a ledger row holds: {version, engine, fingerprints, statements}.
SNAPSHOT_VERSION = 1


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
