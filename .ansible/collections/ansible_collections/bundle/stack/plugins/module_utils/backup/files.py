# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The work directory of a backup: written under a hidden temporary name and
renamed into place when complete, never over an existing backup; and the
removal of a backup, hidden first."""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import tempfile

from ansible_collections.bundle.stack.plugins.module_utils.backup.engine import BackupError
from ansible_collections.bundle.stack.plugins.module_utils.backup.manifest import write_manifest

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


def remove_backup(root, name):
    """Hide the backup first (rename to a dot name), then delete it, so a
    half-deleted backup never looks complete."""
    path = os.path.join(root, name)
    hidden = os.path.join(root, f'.{name}.deleting')
    os.rename(path, hidden)
    shutil.rmtree(hidden)
