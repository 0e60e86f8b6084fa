"""The no-skip rule (tests/support/no_skip.py) on small suites run by pytester: every
way pytest has of skipping fails, what is not a skip keeps its outcome."""

import pytest

from tests.support.no_skip import skipped_in_output

PLUGIN = ('-p', 'tests.support.no_skip')


# A skip in a test's call fails it; one in its setup (a fixture, a mark) is an error of the setup.
@pytest.mark.parametrize('source, phase, reason', [
    pytest.param('import pytest\ndef test_x():\n    pytest.skip("no server")\n', 'call', 'no server', id='call'),
    pytest.param('import pytest\n@pytest.fixture\ndef server():\n    pytest.skip("no binary")\n'
                 'def test_x(server):\n    pass\n', 'setup', 'no binary', id='fixture'),
    pytest.param('import pytest\n@pytest.mark.skip(reason="later")\ndef test_x():\n    pass\n', 'setup', 'later',
                 id='mark'),
    pytest.param('import pytest\n@pytest.mark.skipif(True, reason="never here")\ndef test_x():\n    pass\n',
                 'setup', 'never here', id='skipif'),
    pytest.param('import pytest\n@pytest.mark.parametrize("case", [])\ndef test_x(case):\n    pass\n', 'setup',
                 'got empty parameter set', id='empty-parametrize'),
])
def test_a_skip_fails_with_its_reason(pytester, source, phase, reason):
    pytester.makepyfile(test_skipping=source)
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(**{'failed' if phase == 'call' else 'errors': 1})
    result.stdout.fnmatch_lines([f'*skipped in {phase}, which this suite counts as a failure: *{reason}*'])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_a_module_skipped_at_collection_is_an_error(pytester):
    pytester.makepyfile(test_skipping='import pytest\npytest.skip("whole file", allow_module_level=True)\n'
                                      'def test_x():\n    pass\n')
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(['*skipped in collection, which this suite counts as a failure: *whole file*'])
    assert result.ret != 0


def test_passes_and_expected_failures_keep_their_outcome(pytester):
    pytester.makepyfile(test_fine='import pytest\ndef test_ok():\n    pass\n'
                                  '@pytest.mark.xfail(reason="known")\ndef test_known():\n    assert False\n')
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(passed=1, xfailed=1)
    assert result.ret == 0


def test_no_tests_collected_keeps_pytest_s_own_exit_code(pytester):
    pytester.makepyfile(test_empty='X = 1\n')
    result = pytester.runpytest(*PLUGIN)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_skips_are_counted_in_a_log_of_a_run_without_the_rule(pytester):
    """What the molecule runner reads in a verifier's output (tests/molecule/test_scenarios.py)."""
    pytester.makepyfile(test_skipping='import pytest\ndef test_a():\n    pytest.skip("x")\n'
                                      'def test_b():\n    pytest.skip("y")\ndef test_c():\n    pass\n')
    result = pytester.runpytest('-p', 'no:tests.support.no_skip')
    result.assert_outcomes(passed=1, skipped=2)
    assert skipped_in_output('\n'.join(result.outlines)) == 2
    assert skipped_in_output('===== 3 passed in 0.10s =====') == 0
