"""The metrics gate's verdicts from measured numbers: thresholds, the previous release's
baseline with its floors, a release Prometheus cannot scrape, and each no-data policy."""

import pytest
from ansible_collections.bundle.stack.plugins.module_utils.release.gate import judge

LIMITS = dict(error_percent=5.0, p95_seconds=2.0, baseline_factor=2.0)


def measured(requests=200.0, errors=0.0, p95=0.05, up=True):
    return dict(requests=requests, errors=errors, up=up, window_seconds=30,
                error_percent=round(100 * errors / requests, 2) if requests else None,
                p95_seconds=p95 if requests else None)


def test_a_healthy_release_passes_every_check():
    verdict, checks, reason = judge(measured(), LIMITS, None, 'traffic')
    assert verdict == 'passed' and reason is None
    assert [c['check'] for c in checks] == ['error_rate', 'p95_latency'] and all(c['passed'] for c in checks)


def test_ten_percent_of_5xx_fails_naming_the_number_and_the_threshold():
    verdict, _, reason = judge(measured(errors=20.0), LIMITS, None, 'traffic')
    assert verdict == 'failed' and reason == 'error rate 10.0 % > 5.0 % over 30 s (200 requests)'


def test_a_slow_release_fails_on_p95():
    verdict, _, reason = judge(measured(p95=3.1), LIMITS, None, 'traffic')
    assert verdict == 'failed' and reason == 'p95 latency 3.1 s > 2.0 s over 30 s'


def test_more_than_twice_the_baseline_fails_above_the_floors_only():
    baseline = dict(requests=150.0, error_percent=1.0, p95_seconds=0.2)
    verdict, _, reason = judge(measured(errors=6.0, p95=0.3), LIMITS, baseline, 'traffic')
    assert verdict == 'failed' and reason.startswith('error_percent 3.0 % > 2 % (2 x the previous release')
    # 0.01 s against a baseline of 0.004 s is more than twice, but under the 0.25 s floor.
    quick = dict(requests=150.0, error_percent=0.0, p95_seconds=0.004)
    assert judge(measured(p95=0.01), LIMITS, quick, 'traffic')[0] == 'passed'
    assert judge(measured(p95=0.6), LIMITS, dict(quick, p95_seconds=0.2), 'traffic')[2].startswith(
        'p95_seconds 0.6 s > 0.4 s')


def test_a_baseline_without_requests_leaves_the_thresholds_only():
    verdict, checks, _ = judge(measured(errors=4.0), LIMITS, dict(requests=0.0), 'traffic')
    assert verdict == 'passed' and [c['check'] for c in checks] == ['error_rate', 'p95_latency']


def test_a_release_prometheus_cannot_scrape_fails_whatever_the_policy():
    for policy in ('fail', 'pass', 'traffic'):
        verdict, _, reason = judge(measured(up=False), LIMITS, None, policy)
        assert verdict == 'failed' and 'cannot scrape' in reason


@pytest.mark.parametrize(('policy', 'verdict'), [('fail', 'failed'), ('traffic', 'failed'), ('pass', 'passed')])
def test_no_data_is_judged_by_the_policy_and_always_named(policy, verdict):
    got, checks, _ = judge(measured(requests=0.0), LIMITS, None, policy)
    assert got == verdict and checks[0]['check'] == 'traffic' and 'no requests in 30 s' in checks[0]['detail']
