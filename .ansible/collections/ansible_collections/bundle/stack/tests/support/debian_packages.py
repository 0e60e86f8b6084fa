"""Debian packages for the tests, unpacked under .cache/debian-tools/ (git-ignored).

The tests use the same packages the roles install (promtool from prometheus, the servers of
PostgreSQL, MariaDB and PgBouncer), in the versions this machine's apt offers: `apt-get download` fetches them the
first time and `dpkg-deb -x` unpacks them into one tree per name. Nothing is installed
system-wide and no service starts.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CACHE = Path(__file__).resolve().parents[2] / '.cache' / 'debian-tools'


class Unavailable(Exception):
    """The packages cannot be fetched here: no apt-get or dpkg-deb, or apt-get failed."""


def _run(command, cwd=None):
    return subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=600,
                          check=False)


def _apt_get(*args, cwd=None):
    command = ['apt-get', *args]
    result = _run(command, cwd)
    if result.returncode != 0 and os.geteuid() == 0:
        # A fresh machine has no package lists yet.
        _run(['apt-get', 'update', '-qq'])
        result = _run(command, cwd)
    if result.returncode != 0:
        raise Unavailable(f"{' '.join(command)} failed ({result.stderr.strip()}); "
                          'as root, run apt-get update and try again.')
    return result.stdout


def unpacked(name, packages, dependencies=False):
    """Root of the tree (usr/...) holding Debian's <packages>, fetched and unpacked the first time.

    With dependencies, the tree also holds what apt would install with them on this
    machine: the libraries it lacks, for LD_LIBRARY_PATH.
    """
    tree = CACHE / name
    if tree.exists():
        return tree
    if not shutil.which('apt-get') or not shutil.which('dpkg-deb'):
        raise Unavailable(f"Debian's {', '.join(packages)} cannot be fetched: this machine lacks apt-get or "
                          'dpkg-deb; run the tests on Debian or Ubuntu.')
    if dependencies:
        plan = _apt_get('install', '--simulate', '--no-install-recommends', '-qq', *packages)
        packages = sorted({*packages, *(line.split()[1] for line in plan.splitlines() if line.startswith('Inst '))})
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as work:
        download, partial = Path(work, 'download'), Path(work, 'tree')
        download.mkdir()
        _apt_get('download', *packages, cwd=download)
        for deb in sorted(download.glob('*.deb')):
            result = _run(['dpkg-deb', '-x', deb, partial])
            if result.returncode != 0:
                raise Unavailable(f'dpkg-deb -x {deb.name} failed: {result.stderr.strip()}')
        # Whole or not at all: an interrupted first run leaves no half tree behind.
        partial.rename(tree)
    return tree


def depends(package):
    """The packages <package> depends on, as this machine's apt has it (a metapackage's choice)."""
    if not shutil.which('apt-cache'):
        raise Unavailable(f"Debian's {package} cannot be looked up: this machine lacks apt-cache.")
    result = _run(['apt-cache', 'depends', '--important', package])
    if result.returncode != 0:
        raise Unavailable(f'apt-cache depends {package} failed ({result.stderr.strip()}); '
                          'as root, run apt-get update and try again.')
    return [line.split(':', 1)[1].strip() for line in result.stdout.splitlines()
            if line.strip().startswith('Depends:')]


def library_env(root):
    """The environment with the tree's own libraries first on LD_LIBRARY_PATH."""
    env = dict(os.environ)
    # Bookworm's packages put libraries in both (libncurses6 in lib/).
    libraries = [str(path) for pattern in ('usr/lib/*-linux-gnu', 'lib/*-linux-gnu')
                 for path in Path(root).glob(pattern)]
    env['LD_LIBRARY_PATH'] = ':'.join(filter(None, [*libraries, env.get('LD_LIBRARY_PATH')]))
    return env
