# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The release ledger of an app host: one JSON file beside the releases, the history of
every switch of `current` (a deploy or a rollback), with the verdict of the release's health
gate and, when it was rolled back, when and why. Written to a temporary file, fsynced and
renamed over the old one: a crash leaves the old ledger or the new one, never half of one."""

from __future__ import annotations

import datetime
import json
import os
import tempfile

from ansible_collections.bundle.stack.plugins.module_utils.backup.files import fsync_directory

LEDGER_FORMAT = 1
VERDICTS = ('pending', 'passed', 'failed')


class ReleaseError(Exception):
    """A release operation refused or failed; the message says which value and why."""


def utc_now():
    return datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds').replace('+00:00', 'Z')


class Ledger:
    """The records of one host's releases, oldest first."""

    def __init__(self, path):
        self.path = path
        self.records = self._read()

    def _read(self):
        try:
            with open(self.path, encoding='utf-8') as handle:
                document = json.load(handle)
        except FileNotFoundError:
            return []
        except ValueError as exc:
            raise ReleaseError(f'the release ledger {self.path} is not JSON ({exc}); it is left as it is') from exc
        if not isinstance(document, dict) or document.get('format') != LEDGER_FORMAT:
            raise ReleaseError(f'the release ledger {self.path} is not format {LEDGER_FORMAT}; it is left as it is')
        return document['releases']

    def save(self):
        directory = os.path.dirname(self.path)
        text = json.dumps(dict(format=LEDGER_FORMAT, releases=self.records), indent=2, sort_keys=True) + '\n'
        fd, temporary = tempfile.mkstemp(prefix='.ledger.', dir=directory)
        try:
            with os.fdopen(fd, 'w', encoding='utf-8') as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o644)
            os.replace(temporary, self.path)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
        fsync_directory(directory)

    @property
    def last(self):
        return self.records[-1] if self.records else None

    def checksum_of(self, version):
        """The artifact checksum the ledger holds for version, or None."""
        return next((r['checksum'] for r in self.records if r['version'] == version), None)

    def last_passed(self, other_than):
        """The newest record whose gate passed, of a version other than other_than."""
        return next((r for r in reversed(self.records)
                     if r['gate']['verdict'] == 'passed' and r['version'] != other_than), None)

    def passed_versions(self):
        """Every version with a record whose gate passed, sorted: the possible rollback targets."""
        return sorted({r['version'] for r in self.records if r['gate']['verdict'] == 'passed'})

    def migrations_by_version(self):
        """{version: the migrations its latest deploy record lists}."""
        return {r['version']: r['migrations'] for r in self.records if r['action'] == 'deploy'}

    def add(self, action, version, checksum, previous, by, migrations=()):
        record = dict(id=len(self.records) + 1, action=action, version=version, checksum=checksum,
                      previous=previous, at=utc_now(), by=by, migrations=list(migrations),
                      gate=dict(verdict='pending', at=None, checks=[], reason=None), rolled_back=None)
        self.records.append(record)
        return record


def table(records):
    """The history as rows a person reads: one line per switch, newest last."""
    rows = []
    for r in records:
        back = f" rolled back {r['rolled_back']['at']} to {r['rolled_back']['to']}: {r['rolled_back']['reason']}" \
            if r['rolled_back'] else ''
        reason = f" ({r['gate']['reason']})" if r['gate']['reason'] else ''
        rows.append(f"#{r['id']} {r['at']} {r['action']} {r['previous'] or '-'} -> {r['version']} by {r['by']}: "
                    f"gate {r['gate']['verdict']}{reason}{back}")
    return rows


def current_version(install_dir):
    """The version `current` points at (<install_dir>/releases/<version>), or None."""
    link = os.path.join(install_dir, 'current')
    return os.path.basename(os.readlink(link).rstrip('/')) if os.path.islink(link) else None


def check_installed(install_dir, version):
    """Refuse a switch to a release that is not fully installed: its release.json names
    version and its virtual environment exists."""
    directory = os.path.join(install_dir, 'releases', version)
    try:
        with open(os.path.join(directory, 'release.json'), encoding='utf-8') as handle:
            manifest = json.load(handle)
    except (OSError, ValueError) as exc:
        raise ReleaseError(f'release {version} is not installed in {directory} ({exc}): install it first') from exc
    if manifest.get('version') != version:
        raise ReleaseError(f"{directory}/release.json names version {manifest.get('version')!r}, not {version!r}")
    if not os.path.exists(os.path.join(directory, 'venv', 'bin', 'python')):
        raise ReleaseError(f'release {version} in {directory} has no virtual environment: its install did not finish')


def switch(install_dir, version):
    """Point `current` at the release in one rename: a reader sees the old link or the new one."""
    link = os.path.join(install_dir, 'current')
    temporary = os.path.join(install_dir, f'.current.{os.getpid()}')
    if os.path.lexists(temporary):
        os.unlink(temporary)
    os.symlink(os.path.join(install_dir, 'releases', version), temporary)
    os.replace(temporary, link)
    fsync_directory(install_dir)
