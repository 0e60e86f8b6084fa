# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The metrics half of a release's health gate: the error rate and p95 latency of one app
host over the bake window, from Prometheus, judged against thresholds and against the
previous release's baseline over the same window length; synthetic traffic when the
policy asks for it. An empty answer is "no data", never a pass by itself."""

from __future__ import annotations

import threading
import time
import urllib.parse

from ansible_collections.bundle.stack.plugins.module_utils.health.http_client import http_get, parse_json
from ansible_collections.bundle.stack.plugins.module_utils.health.probe import ProbeError
from ansible_collections.bundle.stack.plugins.module_utils.release.ledger import ReleaseError

NO_DATA_POLICIES = ('fail', 'pass', 'traffic')
# A baseline comparison fails a release only above these floors too: twice a near-zero
# error rate or a few milliseconds of p95 is noise, not a regression.
ERROR_PERCENT_FLOOR = 1.0
P95_SECONDS_FLOOR = 0.25


class Prometheus:
    def __init__(self, url, timeout):
        self.url, self.timeout = url.rstrip('/'), timeout

    def query(self, expr):
        """The single value of an instant query, or None when it has no series."""
        url = f'{self.url}/api/v1/query?' + urllib.parse.urlencode(dict(query=expr))
        try:
            status, text = http_get(url, self.timeout)
        except ProbeError as exc:
            raise ReleaseError(f'Prometheus at {self.url} did not answer: {exc}') from exc
        document, why = parse_json(text)
        if status != 200 or why or document.get('status') != 'success':
            raise ReleaseError(f'Prometheus at {self.url} refused {expr!r}: HTTP {status} {text[:200]}')
        result = document['data']['result']
        if not result:
            return None
        value = float(result[0]['value'][1])
        return None if value != value else value  # NaN: no samples in the window


def measure(prometheus, job, instance, window_seconds, excluded_routes):
    """Requests, 5xx, error percent and p95 of instance over the last window_seconds."""
    selector = f'job="{job}",instance="{instance}"'
    routes = f',route!~"{"|".join(excluded_routes)}"' if excluded_routes else ''
    window = f'{int(window_seconds)}s'
    requests = prometheus.query(f'sum(increase(http_requests_total{{{selector}{routes}}}[{window}]))')
    errors = prometheus.query(f'sum(increase(http_requests_total{{{selector}{routes},status=~"5.."}}[{window}]))')
    p95 = prometheus.query('histogram_quantile(0.95, sum by (le) (increase('
                           f'http_request_duration_seconds_bucket{{{selector}{routes}}}[{window}])))')
    up = prometheus.query(f'max(up{{{selector}}})')
    requests = round(requests or 0.0, 1)
    errors = round(errors or 0.0, 1) if requests else 0.0
    return dict(requests=requests, errors=errors, up=up == 1.0,
                error_percent=round(100.0 * errors / requests, 2) if requests else None,
                p95_seconds=round(p95, 4) if requests and p95 is not None else None, window_seconds=window_seconds)


def check(name, value, threshold, passed, detail):
    return dict(check=name, value=value, threshold=threshold, passed=passed, detail=detail)


def judge(measured, limits, baseline, no_data):
    """(verdict, checks, reason): every check the metrics gate ran, the first failure as the reason."""
    window = measured['window_seconds']
    if not measured['up']:
        checks = [check('scraped', False, True, False, f'Prometheus cannot scrape the release (up != 1) '
                                                       f'over {window} s')]
    elif not measured['requests']:
        passed = no_data == 'pass'
        checks = [check('traffic', 0, '> 0', passed,
                        f'no requests in {window} s: {"passed by the no_data=pass policy" if passed else "no data"}')]
    else:
        checks = thresholds(measured, limits, baseline)
    failed = [c for c in checks if not c['passed']]
    return ('failed' if failed else 'passed'), checks, (failed[0]['detail'] if failed else None)


def thresholds(measured, limits, baseline):
    window, requests = measured['window_seconds'], measured['requests']
    error, p95 = measured['error_percent'], measured['p95_seconds']
    checks = [check('error_rate', error, limits['error_percent'], error <= limits['error_percent'],
                    f"error rate {error} % {'<=' if error <= limits['error_percent'] else '>'} "
                    f"{limits['error_percent']} % over {window} s ({requests:g} requests)")]
    if p95 is not None:
        checks.append(check('p95_latency', p95, limits['p95_seconds'], p95 <= limits['p95_seconds'],
                            f"p95 latency {p95} s {'<=' if p95 <= limits['p95_seconds'] else '>'} "
                            f"{limits['p95_seconds']} s over {window} s"))
    factor = limits['baseline_factor']
    if baseline and baseline.get('requests'):
        for name, value, floor, unit in (('error_percent', error, ERROR_PERCENT_FLOOR, '%'),
                                         ('p95_seconds', p95, P95_SECONDS_FLOOR, 's')):
            before = baseline.get(name)
            if value is None or before is None:
                continue
            limit = max(factor * before, floor)
            checks.append(check(f'{name}_vs_baseline', value, limit, value <= limit,
                                f"{name} {value} {unit} {'<=' if value <= limit else '>'} {limit:g} {unit} "
                                f"({factor:g} x the previous release's {before} {unit}, at least {floor:g} {unit})"))
    return checks


class Traffic:
    """Synthetic GETs to urls at rate per second for at most seconds, in a thread: the bake's
    traffic when the policy asks for it. Bounded in count (rate x seconds) and time."""

    def __init__(self, urls, rate, seconds, timeout):
        self.urls, self.rate, self.seconds, self.timeout = urls, rate, seconds, timeout
        self.sent, self.failed = 0, 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        started, limit = time.monotonic(), int(self.rate * self.seconds)
        while self.sent < limit and time.monotonic() - started < self.seconds:
            url = self.urls[self.sent % len(self.urls)]
            try:
                status, _ = http_get(url, self.timeout)
            except ProbeError:
                status = None
            self.sent += 1
            self.failed += status is None or status >= 500
            next_at = started + self.sent / self.rate
            time.sleep(max(0.0, next_at - time.monotonic()))

    def start(self):
        self.thread.start()

    def join(self):
        self.thread.join(self.seconds + self.timeout + 5)
