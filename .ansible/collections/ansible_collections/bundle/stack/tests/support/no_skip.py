"""A pytest plugin: a skipped test fails, so a suite cannot go green by skipping.

A skip hides a test that did not run behind a passing total: a server that did not
start, a corpus that came out empty (pytest skips a parametrize with no cases), a
missing tool. Here each of those fails with its reason. Deselecting (-k, -m) stays
the way to run part of the suite; it shows as "deselected", never as passed. Expected
failures (xfail) keep pytest's meaning. Loaded by tests/conftest.py for the test
suite and by molecule/conftest.py for every scenario's verifier.
"""

import re

import pytest

# pytest's closing summary line: "==== 3 passed, 1 skipped in 2.00s ====".
SUMMARY_SKIPPED = re.compile(r'^=+ .*\b(\d+) skipped\b.* =+$', re.M)


def _failed(report, phase):
    """The skipped report turned into a failure that names the skip and its reason."""
    if isinstance(report.longrepr, tuple):
        path, line, reason = report.longrepr
        where = f'{path}:{line + 1}: ' if line is not None else f'{path}: '
    else:
        where, reason = '', str(report.longrepr)
    report.outcome = 'failed'
    report.longrepr = f'{where}skipped in {phase}, which this suite counts as a failure: {reason}'
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.skipped and not hasattr(report, 'wasxfail'):
        return _failed(report, report.when)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    report = yield
    # A module-level pytest.skip() or importorskip() skips a whole file at collection.
    if report.skipped:
        return _failed(report, 'collection')
    return report


def skipped_in_output(text):
    """How many tests the pytest runs printed in text (a log) report as skipped."""
    return sum(int(count) for count in SUMMARY_SKIPPED.findall(text))
