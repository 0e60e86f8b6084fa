# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Backup names, the backups of a directory, picking one by name or the latest,
and retention."""

from __future__ import annotations

import datetime
import os
import re

from ansible_collections.bundle.stack.plugins.module_utils.backup.engine import BackupError
from ansible_collections.bundle.stack.plugins.module_utils.backup.files import remove_backup
from ansible_collections.bundle.stack.plugins.module_utils.backup.manifest import (
    MANIFEST,
    isoformat,
    parse_time,
    read_manifest,
)
from ansible_collections.bundle.stack.plugins.module_utils.engine_word import canonical_engine_name

NAME_PATTERN = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$')
TIMESTAMP_FORMAT = '%Y%m%dT%H%M%SZ'


def safe_label(text):
    """A database name as part of a file name: [A-Za-z0-9_.-] only."""
    return re.sub(r'[^A-Za-z0-9_.-]', '_', text) or '_'


def default_name(engine, database, started, kind='backup'):
    name = f'{engine}-{safe_label(database)}-{started.strftime(TIMESTAMP_FORMAT)}'
    return name if kind == 'backup' else f'{name}-{kind}'


def check_name(name):
    """Backup names are plain directory names: no path, no leading dot."""
    if not NAME_PATTERN.match(name or ''):
        raise BackupError(f"backup name {name!r} is not allowed: use letters, digits, '.', '_' and '-', "
                          "starting with a letter or digit (at most 200 characters)")


def check_backup_dir(path):
    if not path or not os.path.isabs(path):
        raise BackupError(f'backup_dir must be an absolute path, got {path!r}')


def list_backups(root):
    """Complete backups under root, oldest first: dicts with name, path, manifest.

    Hidden entries (work directories, backups being deleted) and directories
    whose manifest cannot be read are skipped; `invalid` lists the latter."""
    backups, invalid = [], []
    try:
        entries = sorted(os.listdir(root))
    except FileNotFoundError:
        return [], []
    for entry in entries:
        path = os.path.join(root, entry)
        if entry.startswith('.') or not os.path.isdir(path) or not os.path.exists(os.path.join(path, MANIFEST)):
            continue
        try:
            manifest = read_manifest(path, check_sum=False)
        except BackupError as exc:
            invalid.append(f'{entry}: {exc}')
            continue
        backups.append(dict(name=entry, path=path, manifest=manifest))
    backups.sort(key=lambda backup: (backup['manifest']['started_at'], backup['name']))
    return backups, invalid


def series_of(backups, engine, database, kind='backup'):
    """The backups of one engine (under its old name too) and database (None: any), of one kind."""
    return [b for b in backups if canonical_engine_name(b['manifest']['engine']) == canonical_engine_name(engine)
            and (database is None or b['manifest']['database'] == database)
            and b['manifest'].get('kind', 'backup') == kind]


def choose_backup(root, backup, engine, database=None):
    """The backup named `backup`, or with backup='latest' the newest regular
    backup of engine (and database when given)."""
    if backup != 'latest':
        check_name(backup)
        path = os.path.join(root, backup)
        if not os.path.isdir(path):
            available = [b['name'] for b in series_of(list_backups(root)[0], engine, database)]
            raise BackupError(f'backup {backup!r} not found in {root}; available: '
                              f"{', '.join(available[-10:]) or 'none'}")
        return path
    candidates = series_of(list_backups(root)[0], engine, database)
    if not candidates:
        what = f'{engine} database {database}' if database else engine
        raise BackupError(f'no complete backup of {what} in {root}')
    return candidates[-1]['path']


def retention_plan(backups, keep_last, keep_days, now):
    """Names to keep and to remove, newest first. A backup is kept when one of
    the set rules keeps it: among the newest keep_last, or started less than
    keep_days days before now. With no rule set everything is kept."""
    newest_first = sorted(backups, key=lambda b: (b['manifest']['started_at'], b['name']), reverse=True)
    if not keep_last and not keep_days:
        return [b['name'] for b in newest_first], []
    keep, remove = [], []
    horizon = now - datetime.timedelta(days=keep_days) if keep_days else None
    for index, backup in enumerate(newest_first):
        by_count = bool(keep_last) and index < keep_last
        by_age = horizon is not None and parse_time(backup['manifest']['started_at']) >= horizon
        (keep if by_count or by_age else remove).append(backup['name'])
    return keep, remove


def apply_retention(root, engine, database, keep_last, keep_days, now, protect=None, pending=None,
                    check_mode=False):
    """Apply retention to the regular backups of one engine and database.

    protect: the backup just taken, always kept. pending: in check mode, the
    name of the backup that would be taken (counted as the newest). Returns
    (kept, removed), newest first."""
    series = series_of(list_backups(root)[0], engine, database)
    if pending:
        series.append(dict(name=pending, manifest=dict(started_at=isoformat(now))))
    keep, remove = retention_plan(series, keep_last, keep_days, now)
    for name in (protect, pending):
        if name and name in remove:
            remove.remove(name)
            keep.insert(0, name)
    if not check_mode:
        for name in remove:
            remove_backup(root, name)
    return keep, remove
