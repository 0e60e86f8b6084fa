"""/api/health/alerts: Alertmanager's active alerts when the inventory has one, else the
application's own view with the same thresholds as the bundle's alert rules (5xx over 5 %
of the last five minutes' responses, p95 over 2 s) plus what its own checks see."""

from __future__ import annotations

import collections
import time
import urllib.parse

from refapp import http_json

SEVERITIES = ('critical', 'warning', 'info')
WINDOW_SECONDS = 300
ERROR_PERCENT = 5.0
P95_SECONDS = 2.0


class RequestWindow:
    """The last five minutes of responses (bounded), for the application's own thresholds."""

    def __init__(self, limit=20000):
        self.entries = collections.deque(maxlen=limit)

    def add(self, status, seconds):
        self.entries.append((time.monotonic(), status, seconds))

    def recent(self):
        cutoff = time.monotonic() - WINDOW_SECONDS
        while self.entries and self.entries[0][0] < cutoff:
            self.entries.popleft()
        return list(self.entries)

    def error_percent(self):
        recent = self.recent()
        return 100.0 * sum(1 for _, status, _ in recent if status >= 500) / len(recent) if recent else 0.0

    def p95(self):
        durations = sorted(seconds for _, _, seconds in self.recent())
        return durations[int(0.95 * (len(durations) - 1))] if durations else 0.0


def empty():
    return {severity: [] for severity in SEVERITIES}


def alert(name, summary, since=None):
    return dict(name=name, summary=summary, since=since)


async def from_alertmanager(url, timeout):
    """Active, unsilenced, uninhibited alerts by severity; raises http_json.Unreachable."""
    query = urllib.parse.urlencode(dict(active='true', silenced='false', inhibited='false'))
    status, body = await http_json.fetch(f'{url}/api/v2/alerts?{query}', timeout)
    if status != 200 or not isinstance(body, list):
        raise http_json.Unreachable(f'{url}: HTTP {status}, not a list of alerts')
    lists = empty()
    for item in body:
        labels, annotations = item.get('labels', {}), item.get('annotations', {})
        severity = labels.get('severity') if labels.get('severity') in SEVERITIES else 'info'
        lists[severity].append(alert(labels.get('alertname', 'unnamed'),
                                     annotations.get('summary') or annotations.get('description', ''),
                                     item.get('startsAt')))
    return lists


def own(window, db, cache, queues, backlog_warning):
    """Alerts from the application's own checks: db and cache are their reports (None when the
    check failed), queues {name: (waiting, active)} or None."""
    lists = empty()
    percent, p95 = window.error_percent(), window.p95()
    if percent > ERROR_PERCENT:
        lists['critical'].append(alert('AppHighErrorRate', f'{percent:.1f}% of responses were 5xx in 5 minutes'))
    if p95 > P95_SECONDS:
        lists['warning'].append(alert('AppHighLatency', f'p95 latency {p95:.2f} s over 5 minutes'))
    if db is None or db.get('database') != 'connected':
        lists['critical'].append(alert('DatabaseUnreachable', 'the application cannot query its database'))
    else:
        for replica in db['replicas']:
            if replica['state'] != 'ok':
                lists['warning'].append(alert('ReplicaNotUsable', f"replica {replica['address']} is "
                                              f"{replica['state']}; reads go elsewhere"))
        if db['replicas'] and db['readsFrom'] == 'primary':
            lists['info'].append(alert('ReadsOnPrimary', 'no replica is usable: reads go to the primary'))
    if cache is None:
        lists['critical'].append(alert('CacheUnreachable', 'the application cannot reach Redis through Sentinel'))
    for queue, (waiting, _) in sorted((queues or {}).items()):
        if waiting > backlog_warning:
            lists['warning'].append(alert('QueueBacklog', f'{waiting} jobs wait in queue {queue}'))
    return lists
