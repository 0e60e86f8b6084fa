"""Every test of the suite: a skip is a failure (tests/support/no_skip.py)."""

pytest_plugins = ['tests.support.no_skip']
