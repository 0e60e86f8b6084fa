# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The manifest of a backup: manifest.json, its own checksum file, and the
times and summary line written from it."""

from __future__ import annotations

import datetime
import hashlib
import json
import os

from ansible_collections.bundle.stack.plugins.module_utils.backup.engine import BackupError

MANIFEST = 'manifest.json'
MANIFEST_SUM = 'manifest.json.sha256'
MANIFEST_VERSION = 1


def utc_now():
    return datetime.datetime.now(datetime.UTC)


def isoformat(moment):
    return moment.astimezone(datetime.UTC).isoformat(timespec='seconds').replace('+00:00', 'Z')


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))


def format_size(size):
    for unit in ('B', 'KiB', 'MiB', 'GiB'):
        if size < 1024 or unit == 'GiB':
            return f'{size:.0f} {unit}' if unit == 'B' else f'{size:.1f} {unit}'
        size /= 1024
    return f'{size:.1f} TiB'  # pragma: no cover


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


def summary(manifest):
    """The short line the playbooks print."""
    return (f"{manifest['engine']} {manifest['database']}: {manifest['name']}, "
            f"{format_size(manifest['size_bytes'])}, {len(manifest['row_counts'])} tables, "
            f"{manifest['duration_seconds']:.1f} s")
