"""Tools for the monitoring tests: Debian's promtool and amtool on the control node.

They come from the same Debian packages the roles install (prometheus,
prometheus-alertmanager), unpacked under .cache/ the first time by
tests/support/debian_packages.py; nothing is installed system-wide.
"""

import pytest

from tests.support import debian_packages


def debian_tool(package, binary):
    """Path of /usr/bin/<binary> from Debian's <package>."""
    try:
        return debian_packages.unpacked(package, [package]) / "usr" / "bin" / binary
    except debian_packages.Unavailable as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def promtool():
    return debian_tool("prometheus", "promtool")


@pytest.fixture(scope="session")
def amtool():
    return debian_tool("prometheus-alertmanager", "amtool")
