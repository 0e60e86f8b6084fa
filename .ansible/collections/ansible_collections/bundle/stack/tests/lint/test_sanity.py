"""ansible-test sanity on the collection bundle.stack, one pytest case per sanity test, so
module docs and argument specs (validate-modules), imports, pep8 and the rest cannot drift.

ansible-test wants the collection under .../ansible_collections/bundle/stack, so the clone's
files (tracked, and untracked ones git does not ignore) are copied there first. It runs each
test in a virtual environment of its own, bootstrapped with a get-pip.py it downloads from a
host this machine cannot reach: a stand-in that runs pip from a pip wheel of the package index
does the same job. Its home (venvs, the stand-in) lives under .cache, so later runs reuse it."""

import os
import pathlib
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

PROJECT = pathlib.Path(__file__).resolve().parents[2]
VENV_BIN = pathlib.Path(sys.executable).parent
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
HOME = PROJECT / ".cache" / "ansible-test"
SANITY_TESTS = [
    "action-plugin-docs", "ansible-doc", "compile", "ignores", "import", "line-endings",
    "no-assert", "no-get-exception", "no-illegal-filenames", "no-smart-quotes", "pep8", "replace-urlopen",
    "runtime-metadata", "shebang", "symlinks", "use-argspec-type-path", "use-compat-six", "validate-modules",
    "yamllint",
]
GET_PIP = '''"""Stand-in for get-pip.py: installs the pip ansible-test asks for, with pip run from a wheel."""
import runpy
import sys

sys.path.insert(0, {wheel!r})
sys.argv = ["pip", "install", *(a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel"))]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
'''


def pip_bootstrap():
    """Write the get-pip stand-in where ansible-test looks for its cached copy."""
    # ansible-test's own choice of pip for its venvs (a child process: its internals stay out of pytest's).
    version = subprocess.run(
        [sys.executable, "-c", "import types; from ansible_test._internal.python_requirements import "
         f"get_venv_packages; print(get_venv_packages(types.SimpleNamespace(version={PYTHON!r}))['pip'])"],
        capture_output=True, text=True, check=True).stdout.strip()
    script = HOME / ".ansible" / "test" / "cache" / f"get_pip_{version.replace('.', '_')}.py"
    wheels = HOME / "wheels"
    wheel = next(wheels.glob(f"pip-{version}-*.whl"), None)
    if wheel is None:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--dest", str(wheels), f"pip=={version}"],
                       capture_output=True, text=True, check=True)
        wheel = next(wheels.glob(f"pip-{version}-*.whl"))
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(GET_PIP.format(wheel=str(wheel)))


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Run every sanity test once on a copy of the collection; return the JUnit report directory."""
    root = tmp_path_factory.mktemp("sanity") / "ansible_collections" / "bundle" / "stack"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=PROJECT, capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        source = PROJECT / name
        # .collections links back to the root (a loop); a file deleted but not yet staged is gone.
        if name.startswith(".collections/") or not source.is_file():
            continue
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, root / name)
    pip_bootstrap()
    command = [str(VENV_BIN / "ansible-test"), "sanity", "--local", "--python", PYTHON, "--junit", "--color", "no"]
    for test in SANITY_TESTS:
        command += ["--test", test]
    env = dict(os.environ, HOME=str(HOME), PATH=f"{VENV_BIN}:{os.environ['PATH']}")
    run = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=1800)
    junit = root / "tests" / "output" / "junit"
    assert junit.is_dir(), run.stdout[-3000:] + run.stderr[-3000:]
    return junit, run


@pytest.mark.parametrize("test", SANITY_TESTS)
def test_sanity(results, test):
    junit, run = results
    reports = [path for path in junit.glob(f"ansible-test-sanity-{test}*.xml")
               if path.stem in (f"ansible-test-sanity-{test}", f"ansible-test-sanity-{test}-python-{PYTHON}")]
    assert reports, f"{test} reported nothing:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    for report in reports:
        for case in ET.parse(report).getroot().iter("testcase"):
            problems = [f"{element.tag}: {element.get('message')}\n{element.text or ''}"
                        for element in case if element.tag in ("failure", "error", "skipped")]
            assert not problems, "\n".join(problems)
