"""Every test of the suite: a skip is a failure (tests/support/no_skip.py). pytester runs
the plugin's own tests (tests/unit/support/test_no_skip.py)."""

pytest_plugins = ['tests.support.no_skip', 'pytester']
