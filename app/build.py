"""Build the release artifact of the reference application: refapp-<version>.tar.gz.

    .venv/bin/python app/build.py                   # the version of app/pyproject.toml, into .releases/
    .venv/bin/python app/build.py --version 1.1.0   # another version (release drills), same sources
    .venv/bin/python app/build.py --version 1.1.1 --drill errors   # a release broken on purpose
    .venv/bin/python app/build.py --version 1.2.0 --migration reversible   # bringing a drill migration
    .venv/bin/python app/build.py --fetch           # only put the dependency wheels in the cache

The tarball holds one directory refapp-<version>/ with
  release.json       name, version, python, platform, and the sha256 of every other file
  requirements.lock  every wheel of wheels/ pinned with its hash (app/requirements.lock plus the
                     app's own wheel): pip install --no-index --find-links wheels --require-hashes
                     --no-deps -r requirements.lock, so a host needs no package index
  wheels/            the app's wheel and every dependency wheel for the target (CPython 3.11,
                     manylinux2014 x86_64: Debian bookworm)
  frontend/          the status page, static files
  migrations/postgresql/  the schema, applied by bundle.stack.schema_migrate
A drill release (--drill KIND, app/src/refapp/drill.py) carries the file refapp/drill in its
wheel and "drill": KIND in release.json: the release drills deploy real, broken artifacts.
--migration KIND adds the migration of app/drills/KIND/ (app/drills/README.md) to the release's
migrations, in the artifact and in the wheel.
Same sources and lock give the same bytes: sorted members, fixed times, owners and modes,
gzip without a name or a time, and hatchling's reproducible wheel. Dependency wheels come
from .cache/refapp-wheels/ (the index is asked only for wheels not there yet: scripts/setup.sh
fills it) and are checked against the lock's hashes.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from pathlib import Path

APP = Path(__file__).resolve().parent
ROOT = APP.parent
LOCK = APP / 'requirements.lock'
CACHE = ROOT / '.cache' / 'refapp-wheels'
NAME = 'refapp'
PYTHON = '3.11'
PLATFORM = 'manylinux2014_x86_64'
# Every member of the tarball and of the app's wheel carries this time (2020-02-02, hatchling's own default).
EPOCH = 1580601600
VERSION = re.compile(r'^[0-9]+(\.[0-9]+)*([._+-]?[0-9A-Za-z]+)*$')
SOURCES = ('pyproject.toml', 'src', 'frontend')
DRILLS = ('crash', 'wrong-port', 'wrong-database', 'errors', 'slow')
DRILL_MIGRATIONS = APP / 'drills'


class BuildError(Exception):
    pass


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def locked():
    """{name==version line: set of sha256} of app/requirements.lock."""
    entries, current = {}, None
    for line in LOCK.read_text().replace('\\\n', ' ').splitlines():
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        pin, *options = line.split()
        entries[pin] = {option.removeprefix('--hash=sha256:') for option in options if option.startswith('--hash=')}
        current = pin
    if current is None:
        raise BuildError(f'{LOCK} holds no package: run scripts/lock.sh')
    return entries


def pip_download(*extra):
    command = [sys.executable, '-m', 'pip', 'download', '--quiet', '--disable-pip-version-check',
               '--only-binary=:all:', '--no-deps', '--require-hashes', '--python-version', PYTHON,
               '--implementation', 'cp', '--abi', 'cp' + PYTHON.replace('.', ''), '--platform', PLATFORM,
               '-r', str(LOCK), '-d', str(CACHE), *extra]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def dependency_wheels():
    """The cached wheel of every lock entry, fetched first when one is missing."""
    CACHE.mkdir(parents=True, exist_ok=True)
    if pip_download('--no-index', '--find-links', str(CACHE)).returncode != 0:
        completed = pip_download()
        if completed.returncode != 0:
            raise BuildError(f'cannot fetch the wheels of {LOCK}: {completed.stderr.strip()}')
    by_hash = {sha256(path): path for path in CACHE.glob('*.whl')}
    wheels, missing = [], []
    for pin, hashes in sorted(locked().items()):
        found = sorted(by_hash[h] for h in hashes if h in by_hash)
        if not found:
            missing.append(pin)
        else:
            wheels.append(found[0])
    if missing:
        raise BuildError(f'no wheel for {PLATFORM} CPython {PYTHON} with a locked hash: {", ".join(missing)}')
    return wheels


def project_version():
    return tomllib.loads((APP / 'pyproject.toml').read_text())['project']['version']


def drill_migrations():
    return sorted(path.name for path in DRILL_MIGRATIONS.iterdir() if path.is_dir())


def copy_migrations(target, migration=''):
    """The app's migrations into target, with the drill migration of that kind when asked."""
    shutil.copytree(APP / 'migrations' / 'postgresql', target)
    if migration:
        for path in (DRILL_MIGRATIONS / migration).glob('*.sql'):
            shutil.copyfile(path, target / path.name)


def app_wheel(version, out, drill='', migration=''):
    """Build the app's wheel of this version from a clean copy of its sources (hatchling, no isolation)."""
    with tempfile.TemporaryDirectory(prefix='refapp-src-') as tmp:
        source = Path(tmp) / 'src-tree'
        source.mkdir()
        for name in SOURCES:
            origin = APP / name
            if origin.is_dir():
                shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
            else:
                shutil.copy2(origin, source / name)
        pyproject = source / 'pyproject.toml'
        text, count = re.subn(r'(?m)^version = "[^"]*"$', f'version = "{version}"', pyproject.read_text())
        if count != 1:
            raise BuildError('app/pyproject.toml: expected one line version = "..."')
        pyproject.write_text(text)
        if drill:
            (source / 'src' / 'refapp' / 'drill').write_text(drill + '\n')
        copy_migrations(source / 'migrations' / 'postgresql', migration)
        completed = subprocess.run(
            [sys.executable, '-c', 'import sys, hatchling.build as b; print(b.build_wheel(sys.argv[1]))', str(out)],
            cwd=source, capture_output=True, text=True, check=False,
            env={'SOURCE_DATE_EPOCH': str(EPOCH), 'PATH': '/usr/bin:/bin'})
        if completed.returncode != 0:
            raise BuildError(f'hatchling could not build the wheel: {completed.stderr.strip()}')
        return out / completed.stdout.strip().splitlines()[-1]


def tree(staging, version, wheels, drill='', migration=''):
    """Fill staging/refapp-<version>/ and return it."""
    top = staging / f'{NAME}-{version}'
    (top / 'wheels').mkdir(parents=True)
    built = app_wheel(version, top / 'wheels', drill, migration)
    for wheel in wheels:
        shutil.copyfile(wheel, top / 'wheels' / wheel.name)
    shutil.copytree(APP / 'frontend', top / 'frontend', ignore=shutil.ignore_patterns('__pycache__'))
    copy_migrations(top / 'migrations' / 'postgresql', migration)
    pins = [f'{pin} --hash=sha256:{sha256(wheel)}' for pin, wheel in zip(sorted(locked()), wheels, strict=True)]
    pins.append(f'bundle-refapp=={version} --hash=sha256:{sha256(built)}')
    (top / 'requirements.lock').write_text(
        '# The wheels of wheels/, each pinned with its hash: pip install --no-index --find-links wheels\n'
        '# --require-hashes --no-deps -r requirements.lock\n' + '\n'.join(sorted(pins)) + '\n')
    files = {path.relative_to(top).as_posix(): sha256(path) for path in sorted(top.rglob('*')) if path.is_file()}
    release = dict(name=NAME, distribution='bundle-refapp', version=version, python=PYTHON, platform=PLATFORM,
                   wheel=built.name, files=files, **(dict(drill=drill) if drill else {}),
                   **(dict(drill_migration=migration) if migration else {}))
    (top / 'release.json').write_text(json.dumps(release, indent=2, sort_keys=True) + '\n')
    return top


def normalized(info):
    info.mtime, info.uid, info.gid, info.uname, info.gname = EPOCH, 0, 0, 'root', 'root'
    info.mode = 0o755 if info.isdir() else 0o644
    return info


def pack(top, target):
    """A gzipped tar of top whose bytes depend on the files' names and contents only."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w', format=tarfile.PAX_FORMAT) as tar:
        for path in [top, *sorted(top.rglob('*'))]:
            tar.add(path, arcname=path.relative_to(top.parent).as_posix(), recursive=False, filter=normalized)
    with open(target, 'wb') as raw, gzip.GzipFile(filename='', mode='wb', fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(buffer.getvalue())


def build(version, out, drill='', migration=''):
    if not VERSION.match(version):
        raise BuildError(f'version {version!r} is not a release version (digits and dots, e.g. 1.2.0)')
    if drill and drill not in DRILLS:
        raise BuildError(f'drill {drill!r} is not one of {", ".join(DRILLS)}')
    if migration and migration not in drill_migrations():
        raise BuildError(f'drill migration {migration!r} is not one of {", ".join(drill_migrations())}')
    wheels = dependency_wheels()
    out.mkdir(parents=True, exist_ok=True)
    target = out / f'{NAME}-{version}.tar.gz'
    with tempfile.TemporaryDirectory(prefix='refapp-build-') as staging:
        pack(tree(Path(staging), version, wheels, drill, migration), target)
    digest = sha256(target)
    (out / f'{target.name}.sha256').write_text(f'{digest}  {target.name}\n')
    return target, digest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--version', help='release version (default: app/pyproject.toml)')
    parser.add_argument('--out', type=Path, default=ROOT / '.releases', help='output directory (default: .releases)')
    parser.add_argument('--drill', default='', help=f'build a release broken on purpose: one of {", ".join(DRILLS)}')
    parser.add_argument('--migration', default='',
                        help=f'add a drill migration (app/drills/): one of {", ".join(drill_migrations())}')
    parser.add_argument('--fetch', action='store_true', help='only fetch the dependency wheels into the cache')
    args = parser.parse_args(argv)
    try:
        if args.fetch:
            print(f'{len(dependency_wheels())} wheels in {CACHE}')
            return 0
        target, digest = build(args.version or project_version(), args.out, args.drill, args.migration)
    except BuildError as exc:
        print(f'build.py: {exc}', file=sys.stderr)
        return 1
    print(f'{target} sha256 {digest}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
