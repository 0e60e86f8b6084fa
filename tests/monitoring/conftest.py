"""Tools for the monitoring tests: Debian's promtool and amtool on the control node.

They come from the same Debian packages the roles install (prometheus,
prometheus-alertmanager), fetched with `apt-get download` and unpacked with
`dpkg-deb -x` into .cache/debian-tools/ (git-ignored) the first time; nothing
is installed system-wide.
"""

import os
import pathlib
import shutil
import subprocess

import pytest

PROJECT = pathlib.Path(__file__).resolve().parents[2]
CACHE = PROJECT / ".cache" / "debian-tools"


def _run(command, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, **kwargs)


def debian_tool(package, binary):
    """Path of /usr/bin/<binary> from Debian's <package>, unpacked under .cache."""
    tool = CACHE / package / "usr" / "bin" / binary
    if tool.exists():
        return tool
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        pytest.fail(f"{binary} comes from Debian's {package} package, fetched with apt-get and dpkg-deb, "
                    "which this control node lacks; run the tests on Debian or Ubuntu.")
    download = CACHE / "download"
    download.mkdir(parents=True, exist_ok=True)
    result = _run(["apt-get", "download", package], cwd=download)
    if result.returncode != 0 and os.geteuid() == 0:
        # A fresh machine has no package lists yet.
        _run(["apt-get", "update", "-qq"])
        result = _run(["apt-get", "download", package], cwd=download)
    debs = sorted(download.glob(f"{package}_*.deb"))
    if result.returncode != 0 or not debs:
        pytest.fail(f"apt-get download {package} failed ({result.stderr.strip()}); "
                    f"as root, run apt-get update and try again.")
    unpacked = _run(["dpkg-deb", "-x", str(debs[-1]), str(CACHE / package)])
    if unpacked.returncode != 0 or not tool.exists():
        pytest.fail(f"dpkg-deb -x {debs[-1].name} did not give {tool}: {unpacked.stderr.strip()}")
    return tool


@pytest.fixture(scope="session")
def promtool():
    return debian_tool("prometheus", "promtool")


@pytest.fixture(scope="session")
def amtool():
    return debian_tool("prometheus-alertmanager", "amtool")
