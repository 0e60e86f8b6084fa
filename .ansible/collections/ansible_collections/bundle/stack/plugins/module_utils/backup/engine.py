# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The contract of a backup engine, and the requests db_backup and db_restore hand it.

An engine (postgresql, mysql, redis) lives in backup/engines/<engine>.py as a
subclass of BackupEngine and is listed once in backup/registry.py. db_backup and
db_restore call its methods in this order:

    check, then for a backup: describe (check mode) or backup_commands and backup;
    for a restore: target_exists, restored_from, restore_commands, restore.

The engine-independent parts (manifest, checksums, work directory, catalog and
retention, the backup procedure) live beside this file.
"""

from __future__ import annotations

import abc
import dataclasses
import time


class BackupError(Exception):
    """A failure with a message meant for the operator."""


class Steps:
    """Seconds spent per named step, in order."""

    def __init__(self):
        self.seconds = {}
        self._started = time.monotonic()

    def mark(self, name):
        now = time.monotonic()
        self.seconds[name] = round(now - self._started, 3)
        self._started = now


def compare_counts(expected, actual):
    """Tables whose row counts differ, as readable strings; empty when equal."""
    differences = []
    for table in sorted(set(expected) | set(actual)):
        if table not in actual:
            differences.append(f'{table}: missing after restore (backup has {expected[table]} rows)')
        elif table not in expected:
            differences.append(f'{table}: not in the backup ({actual[table]} rows after restore)')
        elif expected[table] != actual[table]:
            differences.append(f'{table}: {actual[table]} rows after restore, backup has {expected[table]}')
    return differences


@dataclasses.dataclass(frozen=True)
class BackupRequest:
    """One backup to take: of params['database'] (the module's options with the
    engine's defaults), into root, under name (None: the default name)."""

    params: dict
    root: str
    name: str | None = None
    kind: str = 'backup'

    @property
    def database(self):
        return self.params['database']

    @property
    def jobs(self):
        return self.params['jobs']


@dataclasses.dataclass(frozen=True)
class RestoreRequest:
    """One restore (or verification) of the backup in path into target.

    replace: the target exists and is replaced. marker: the text a restored
    database carries so the same restore is not repeated. safety: the manifest
    of the safety backup taken of a replaced target (None until it is taken).
    """

    path: str
    manifest: dict
    target: str
    replace: bool
    verify_only: bool
    marker: str
    safety: dict | None = None

    def compare(self, counts):
        """Raise BackupError naming every table whose rows differ from the manifest; else the table count."""
        differences = compare_counts(self.manifest['row_counts'], counts)
        if differences:
            raise BackupError(f"row counts differ from backup {self.manifest['name']} in "
                              f"{len(differences)} table(s): {'; '.join(differences[:10])}")
        return len(counts)


class BackupEngine(abc.ABC):
    """One database engine of db_backup and db_restore.

    name -- the value of the modules' engine option and of a manifest's engine.
    backup_spec, restore_spec -- the engine's own options of each module.
    defaults -- values for options left unset; applied by the engine, so an
        option set for another engine is noticed (options lists what it reads).
    requires_database -- whether the database option is required.
    default_database -- the series name when there are no databases (redis).
    """

    name = None
    backup_spec = {}
    restore_spec = {}
    defaults = {}
    options = ()
    requires_database = True
    default_database = None

    @abc.abstractmethod
    def check(self, module, params):
        """Raise BackupError early on bad options or a missing tool or driver."""

    @abc.abstractmethod
    def describe(self, module, params):
        """Read-only look at the source (check mode): a dict of what was seen; raises BackupError."""

    @abc.abstractmethod
    def backup_commands(self, module, params, workdir):
        """What a backup into workdir would run, as readable strings."""

    @abc.abstractmethod
    def backup(self, module, params, workdir):
        """Write the backup files of params['database'] into workdir.

        Returns a dict with server_version, tool_version, row_counts ({table: rows}),
        commands (list of str) and optionally row_count_method and details (dict)."""

    @abc.abstractmethod
    def target_exists(self, module, params, target):
        """Whether the restore target holds data already."""

    def restored_from(self, module, params, target):
        """The marker a previous restore left on target, or None (most engines leave none)."""
        return None

    @abc.abstractmethod
    def restore_commands(self, module, params, request):
        """What restore(request) would do, step by step, as readable strings."""

    @abc.abstractmethod
    def restore(self, module, params, request):
        """Restore (or with request.verify_only verify) request.path into request.target.

        Calls request.compare(counts) on what was restored. Returns a dict with
        row_counts, steps (seconds per step) and commands. On failure the target
        must be as it was before."""
