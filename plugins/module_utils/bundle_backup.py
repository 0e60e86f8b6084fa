# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shared parts of the db_backup and db_restore modules.

A database engine (postgres, mysql, redis) lives in its own
bundle_backup_<engine>.py and exposes ENGINE, an object with the methods
described in Engine below. This file holds what every engine shares:

- backup names, the manifest (JSON) and its own checksum file;
- SHA-256 of every file, in large chunks and on several threads;
- the work directory written under a hidden temporary name and renamed into
  place when complete, never over an existing backup;
- listing backups, picking one by name or the latest, and retention;
- row-count comparison after a restore;
- the backup procedure itself (take_backup), used by db_backup and by
  db_restore for its safety backup.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import datetime
import errno
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import time

MANIFEST = 'manifest.json'
MANIFEST_SUM = 'manifest.json.sha256'
MANIFEST_VERSION = 1
# hashlib releases the GIL on large buffers, so threads hash files in parallel.
CHUNK_BYTES = 8 * 1024 * 1024
NAME_PATTERN = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$')
TIMESTAMP_FORMAT = '%Y%m%dT%H%M%SZ'
# Kinds of backup: a regular one, or the one db_restore takes of what it replaces.
KINDS = ('backup', 'safety')


class BackupError(Exception):
    """A failure with a message meant for the operator."""


class Engine:
    """What an engine module provides (documentation of the interface; engines
    are duck-typed objects, see bundle_backup_postgres.ENGINE).

    name: engine name, the value of the modules' engine option.
    argument_spec: engine options added to both modules' argument specs.
    requires_database: whether the database option is required.
    default_database: the series name when there are no databases (redis).
    check(module, params): fail early on bad options or a missing tool.
    backup_commands(params, workdir) -> list of str: what a backup would run.
    backup(module, params, workdir) -> dict with server_version, tool_version,
        row_counts ({table: rows}), details (dict) and commands (list of str);
        writes the backup files into workdir.
    target_exists(module, params, target) -> bool.
    restore_commands(params, path, manifest, target, replace) -> list of str.
    restore(module, params, path, manifest, target, replace, verify_only,
            compare) -> dict with row_counts, steps and details; compare(counts)
        raises BackupError when counts differ. On failure the target must be
        as it was before.
    """


def utc_now():
    return datetime.datetime.now(datetime.UTC)


def isoformat(moment):
    return moment.astimezone(datetime.UTC).isoformat(timespec='seconds').replace('+00:00', 'Z')


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))


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


def format_size(size):
    for unit in ('B', 'KiB', 'MiB', 'GiB'):
        if size < 1024 or unit == 'GiB':
            return f'{size:.0f} {unit}' if unit == 'B' else f'{size:.1f} {unit}'
        size /= 1024
    return f'{size:.1f} TiB'  # pragma: no cover


# --- module options -------------------------------------------------------------

# Connection options several engines use; each engine sets its own defaults.
CONNECTION_SPEC = dict(
    login_user=dict(type='str'),
    login_password=dict(type='str', no_log=True),
    login_host=dict(type='str'),
    login_unix_socket=dict(type='str'),
    port=dict(type='int'),
    bin_dir=dict(type='path'),
)


def module_argument_spec(engines, common, side):
    """common options + connection options + every engine's options for `side`
    ('backup' or 'restore'), and engine with the registered engines as choices."""
    spec = dict(common)
    spec.update(CONNECTION_SPEC)
    for engine in engines.values():
        spec.update(getattr(engine, f'{side}_spec'))
    spec['engine'] = dict(type='str', required=True, choices=sorted(engines))
    return spec


def engine_params(params, engine):
    """The module's params with the engine's defaults filled in where unset."""
    merged = dict(params)
    for key, value in engine.defaults.items():
        if merged.get(key) is None:
            merged[key] = value
    return merged


def unused_options(params, engine, common):
    """Options set by the caller that this engine does not use."""
    return sorted(name for name, value in params.items()
                  if value is not None and name not in common and name != 'engine' and name not in engine.options)


# --- checksums -------------------------------------------------------------------

def sha256_file(path, chunk=CHUNK_BYTES):
    digest = hashlib.sha256()
    buffer = bytearray(chunk)
    view = memoryview(buffer)
    with open(path, 'rb', buffering=0) as handle:
        while True:
            read = handle.readinto(buffer)
            if not read:
                break
            digest.update(view[:read])
    return digest.hexdigest()


def list_files(root):
    """Relative paths of every regular file under root except the manifest files, sorted."""
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        for name in files:
            relative = os.path.relpath(os.path.join(directory, name), root)
            if relative not in (MANIFEST, MANIFEST_SUM):
                found.append(relative)
    return sorted(found)


def parallel_map(function, items, jobs):
    """function over items on up to `jobs` threads, results in order."""
    items = list(items)
    if jobs <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(jobs, len(items))) as pool:
        return list(pool.map(function, items))


def checksum_tree(root, jobs=2):
    """{relative path: {'sha256': hex, 'size': bytes}} for every file under root.

    Big files first, so one large table does not start last."""
    paths = sorted(list_files(root), key=lambda rel: -os.path.getsize(os.path.join(root, rel)))

    def one(relative):
        path = os.path.join(root, relative)
        return relative, {'sha256': sha256_file(path), 'size': os.path.getsize(path)}

    return dict(sorted(parallel_map(one, paths, jobs)))


def verify_tree(root, files, jobs=2):
    """Problems of a backup directory against the manifest's files, as
    (relative path, reason) pairs; empty when every file is intact.

    Missing and unexpected files and size changes are found without reading
    any data; then every file is hashed."""
    problems = []
    present = set(list_files(root))
    expected = set(files)
    for relative in sorted(expected - present):
        problems.append((relative, 'is missing'))
    for relative in sorted(present - expected):
        problems.append((relative, 'is not listed in the manifest'))
    to_hash = []
    for relative in sorted(expected & present):
        size = os.path.getsize(os.path.join(root, relative))
        if size != files[relative]['size']:
            problems.append((relative, f"has {size} bytes, the manifest says {files[relative]['size']}"))
        else:
            to_hash.append(relative)
    to_hash.sort(key=lambda rel: -files[rel]['size'])

    def one(relative):
        return relative, sha256_file(os.path.join(root, relative))

    for relative, digest in parallel_map(one, to_hash, jobs):
        if digest != files[relative]['sha256']:
            problems.append((relative, f"has SHA-256 {digest[:16]}..., the manifest says "
                                       f"{files[relative]['sha256'][:16]}..."))
    return sorted(problems)


def describe_problems(path, problems, limit=5):
    shown = '; '.join(f'{relative} {reason}' for relative, reason in problems[:limit])
    more = f' (and {len(problems) - limit} more)' if len(problems) > limit else ''
    return f'backup {path} is damaged: {shown}{more}'


# --- manifest --------------------------------------------------------------------

def write_manifest(directory, manifest):
    """manifest.json plus manifest.json.sha256 (sha256sum format), both fsynced."""
    text = json.dumps(manifest, indent=2, sort_keys=True) + '\n'
    data = text.encode('utf-8')
    digest = hashlib.sha256(data).hexdigest()
    for name, content in ((MANIFEST, data), (MANIFEST_SUM, f'{digest}  {MANIFEST}\n'.encode())):
        fd = os.open(os.path.join(directory, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, content)
            os.fsync(fd)
        finally:
            os.close(fd)
    return digest


REQUIRED_KEYS = ('manifest_version', 'name', 'engine', 'database', 'kind', 'started_at', 'finished_at',
                 'files', 'row_counts')


def read_manifest(directory, check_sum=True):
    """The manifest of a backup directory, checked against its checksum file."""
    path = os.path.join(directory, MANIFEST)
    try:
        with open(path, 'rb') as handle:
            data = handle.read()
    except OSError as exc:
        raise BackupError(f'cannot read {path}: {exc.strerror}') from exc
    if check_sum:
        sum_path = os.path.join(directory, MANIFEST_SUM)
        try:
            with open(sum_path) as handle:
                recorded = handle.read().split()[0] if os.path.getsize(sum_path) else ''
        except OSError as exc:
            raise BackupError(f'cannot read {sum_path}: {exc.strerror}') from exc
        actual = hashlib.sha256(data).hexdigest()
        if actual != recorded:
            raise BackupError(f'backup {directory} is damaged: {MANIFEST} has SHA-256 {actual[:16]}..., '
                              f'{MANIFEST_SUM} says {recorded[:16]}...')
    try:
        manifest = json.loads(data)
    except ValueError as exc:
        raise BackupError(f'{path} is not valid JSON: {exc}') from exc
    missing = [key for key in REQUIRED_KEYS if key not in manifest]
    if missing:
        raise BackupError(f"{path} lacks {', '.join(missing)}")
    if manifest['manifest_version'] > MANIFEST_VERSION:
        raise BackupError(f"{path} has manifest_version {manifest['manifest_version']}; "
                          f'this module reads up to {MANIFEST_VERSION}')
    return manifest


def manifest_digest(directory):
    """The recorded SHA-256 of a backup's manifest (identifies the backup's content)."""
    with open(os.path.join(directory, MANIFEST_SUM)) as handle:
        return handle.read().split()[0]


def restore_marker(manifest, digest):
    """What a restored database carries, so the same restore is not repeated."""
    return f"restored by db_restore from backup {manifest['name']} (manifest sha256 {digest})"


# --- the work directory and its atomic rename ----------------------------------

_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _renameat2():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def rename_noreplace(source, target):
    """Rename source to target, failing if target exists (also an empty directory,
    which plain rename(2) would replace). Uses renameat2(RENAME_NOREPLACE) where
    the kernel and file system have it."""
    function = _renameat2()
    if function is not None:
        if function(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), _RENAME_NOREPLACE) == 0:
            return
        error = ctypes.get_errno()
        if error == errno.EEXIST:
            raise FileExistsError(error, os.strerror(error), target)
        if error not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
            raise OSError(error, os.strerror(error), target)
    if os.path.lexists(target):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), target)
    os.rename(source, target)


def fsync_directory(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WorkDirectory:
    """A hidden directory next to the final one: `.<name>.<random>.partial`.

    Removed on any failure; commit() writes the manifest and renames it to
    <root>/<name>, never over an existing entry."""

    def __init__(self, root, name):
        self.root = root
        self.name = name
        self.final = os.path.join(root, name)
        self.path = None

    def __enter__(self):
        os.makedirs(self.root, mode=0o700, exist_ok=True)
        self.path = tempfile.mkdtemp(prefix=f'.{self.name}.', suffix='.partial', dir=self.root)
        return self

    def commit(self, manifest):
        write_manifest(self.path, manifest)
        try:
            rename_noreplace(self.path, self.final)
        except FileExistsError as exc:
            raise BackupError(f'{self.final} appeared while the backup ran; it is kept and the new '
                              'backup is discarded') from exc
        fsync_directory(self.root)
        self.path = None

    def __exit__(self, *exc_info):
        if self.path:
            shutil.rmtree(self.path, ignore_errors=True)
        return False


# --- listing, choosing and retention ----------------------------------------------

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
    return [b for b in backups if b['manifest']['engine'] == engine
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


def remove_backup(root, name):
    """Hide the backup first (rename to a dot name), then delete it, so a
    half-deleted backup never looks complete."""
    path = os.path.join(root, name)
    hidden = os.path.join(root, f'.{name}.deleting')
    os.rename(path, hidden)
    shutil.rmtree(hidden)


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


# --- verification after a restore -----------------------------------------------

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


def counts_comparer(manifest):
    """compare(counts) for engines: raises BackupError naming every table that differs."""
    def compare(actual):
        differences = compare_counts(manifest['row_counts'], actual)
        if differences:
            raise BackupError(f"row counts differ from backup {manifest['name']} in "
                              f"{len(differences)} table(s): {'; '.join(differences[:10])}")
        return len(actual)
    return compare


# --- taking a backup ----------------------------------------------------------------

class Steps:
    """Seconds spent per named step, in order."""

    def __init__(self):
        self.seconds = {}
        self._started = time.monotonic()

    def mark(self, name):
        now = time.monotonic()
        self.seconds[name] = round(now - self._started, 3)
        self._started = now


def take_backup(module, engine, params, root, database, name=None, kind='backup', jobs=2):
    """Run the engine's backup into a work directory, checksum every file, write
    the manifest and rename the directory into place. Returns the manifest."""
    started = utc_now()
    clock = time.monotonic()
    if name is None:
        # Two backups in the same second get -1, -2, ... rather than a failure.
        base = default_name(engine.name, database, started, kind)
        name, number = base, 0
        while os.path.lexists(os.path.join(root, name)):
            number += 1
            name = f'{base}-{number}'
    check_name(name)
    final = os.path.join(root, name)
    if os.path.lexists(final):
        raise BackupError(f'{final} already exists; a backup is never overwritten')
    steps = Steps()
    with WorkDirectory(root, name) as work:
        info = engine.backup(module, params, work.path)
        steps.mark('dump')
        files = checksum_tree(work.path, jobs)
        steps.mark('checksums')
        finished = utc_now()
        manifest = dict(
            manifest_version=MANIFEST_VERSION,
            name=name,
            kind=kind,
            engine=engine.name,
            database=database,
            host=socket.gethostname(),
            server_version=info['server_version'],
            tool_version=info['tool_version'],
            started_at=isoformat(started),
            finished_at=isoformat(finished),
            duration_seconds=round(time.monotonic() - clock, 3),
            size_bytes=sum(f['size'] for f in files.values()),
            files=files,
            row_counts=info['row_counts'],
            row_count_method=info.get('row_count_method', 'exact count(*) per table'),
            commands=info['commands'],
            details=info.get('details', {}),
            steps=steps.seconds,
        )
        work.commit(manifest)
    manifest['path'] = final
    return manifest


def summary(manifest):
    """The short line the playbooks print."""
    return (f"{manifest['engine']} {manifest['database']}: {manifest['name']}, "
            f"{format_size(manifest['size_bytes'])}, {len(manifest['row_counts'])} tables, "
            f"{manifest['duration_seconds']:.1f} s")
