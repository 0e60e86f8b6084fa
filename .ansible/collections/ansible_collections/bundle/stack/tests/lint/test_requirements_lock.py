"""requirements.lock is requirements.txt resolved: scripts/setup.sh installs the lock alone
(pip --require-hashes --no-deps), so a requirement edited without regenerating the lock would
silently not be installed. Every pin of requirements.txt is in the lock at its version, every
package of the lock is one exact version with hashes, and the lock holds exactly the packages
that requirements.txt needs, no fewer and none left over."""

import importlib.metadata
import pathlib

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PROJECT = pathlib.Path(__file__).resolve().parents[2]
FIX = "run scripts/lock.sh and commit requirements.lock with requirements.txt"


def requirement_lines(path):
    """The requirement lines of a pip requirements file, continuations joined, comments dropped."""
    for line in path.read_text().replace("\\\n", " ").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            yield line


def requested():
    return [Requirement(line) for line in requirement_lines(PROJECT / "requirements.txt")]


def locked():
    """{canonical name: (Requirement, [hash options])} for every package of the lock."""
    entries = {}
    for line in requirement_lines(PROJECT / "requirements.lock"):
        pin, *options = line.split()
        requirement = Requirement(pin)
        entries[canonicalize_name(requirement.name)] = (requirement, options)
    return entries


def needed_by(requirements):
    """Canonical names of the requirements and of everything they need on this Python, read from the
    installed packages' metadata (the venv that setup.sh made from the lock)."""
    seen = set()
    todo = [(requirement, requirement.extras) for requirement in requirements]
    while todo:
        requirement, extras = todo.pop()
        name = canonicalize_name(requirement.name)
        key = (name, frozenset(extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            needs = importlib.metadata.requires(requirement.name) or []
        except importlib.metadata.PackageNotFoundError:
            raise AssertionError(f"{requirement.name} is not installed: run scripts/setup.sh") from None
        for need in map(Requirement, needs):
            environments = [dict(default_environment(), extra=extra) for extra in extras or [""]]
            if need.marker is None or any(need.marker.evaluate(environment) for environment in environments):
                todo.append((need, need.extras))
    return {name for name, _ in seen}


def test_every_requirement_is_locked_at_its_pin():
    lock = locked()
    wrong = []
    for requirement in requested():
        pin = lock.get(canonicalize_name(requirement.name), (None,))[0]
        if pin is None or not requirement.specifier.contains(next(iter(pin.specifier)).version):
            wrong.append(f"{requirement} (lock: {pin or 'absent'})")
    assert not wrong, f"requirements.txt pins that the lock does not have: {wrong}; {FIX}"


def test_every_locked_package_is_one_version_with_hashes():
    loose = [
        str(requirement)
        for requirement, options in locked().values()
        if len(requirement.specifier) != 1
        or next(iter(requirement.specifier)).operator != "=="
        or not any(option.startswith("--hash=sha256:") for option in options)
    ]
    assert not loose, f"lock entries without one exact version and a sha256 hash: {loose}; {FIX}"


def test_lock_holds_exactly_what_the_requirements_need():
    needed, lock = needed_by(requested()), set(locked())
    assert needed == lock, (
        f"missing from the lock: {sorted(needed - lock)}; left over in it: {sorted(lock - needed)}; {FIX}"
    )
