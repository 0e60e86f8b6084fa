"""Every scenario's verifier (testinfra under pytest): a skip is a failure, as in the test suite."""

pytest_plugins = ['tests.support.no_skip']
