# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""worker kind of health_probe: a worker's own health server (GET /health on
port 9000) reports every worker type, or each named one, healthy.

The health server answers JSON with `workers`: per worker type its `status`
(`ok` when healthy), `jobsProcessed`, `lastJobTime` and, when unhealthy, the
`reason` (and `lastError`); HTTP 200 when every type it runs is healthy, else 503."""

from __future__ import annotations

from ansible_collections.bundle.stack.plugins.module_utils.health.http_client import body_excerpt, http_get, parse_json
from ansible_collections.bundle.stack.plugins.module_utils.health.probe import Probe

ARGUMENT_SPEC = dict(
    worker_types=dict(type='list', elements='str'),
)

HEALTH_PATH = '/health'
HEALTHY = 'ok'
# What the probe keeps of a worker type's entry.
ENTRY_FIELDS = ('status', 'jobsProcessed', 'lastJobTime', 'reason', 'lastError')


def health_url(params):
    host = params['host']
    if ':' in host:  # an IPv6 literal
        host = f'[{host}]'
    return f"http://{host}:{params['port']}{HEALTH_PATH}"


def observe_workers(status, text):
    observed = dict(status=status)
    document, error = parse_json(text)
    if error:
        return dict(observed, json_error=error, body_excerpt=body_excerpt(text))
    workers = document.get('workers') if isinstance(document, dict) else None
    if not isinstance(workers, dict):
        return dict(observed, body_excerpt=body_excerpt(text))
    observed['workers'] = {
        kind: {field: entry.get(field) for field in ENTRY_FIELDS} if isinstance(entry, dict) else {'status': entry}
        for kind, entry in workers.items()
    }
    return observed


def why_unhealthy(entry):
    """The reason a worker type gave, with its last error when that says more."""
    reason = entry.get('reason') or 'no reason given'
    last_error = entry.get('lastError')
    if last_error and last_error not in reason:
        reason += f'; last error: {last_error}'
    return reason


class WorkerProbe(Probe):
    kind = 'worker'
    argument_spec = ARGUMENT_SPEC
    defaults = {'port': 9000}

    def check(self, params, attempt_timeout):
        status, text = http_get(health_url(params), attempt_timeout)
        return observe_workers(status, text)

    def evaluate(self, observed, params):
        if 'json_error' in observed:
            return [f"HTTP status {observed['status']}, {observed['json_error']}: {observed['body_excerpt']}"], []
        if 'workers' not in observed:
            return [f"HTTP status {observed['status']} without a workers object "
                    f"(body: {observed['body_excerpt'] or 'empty'})"], []
        workers = observed['workers']
        named = params.get('worker_types')
        problems = []
        if not named and not workers:
            problems.append('no worker type reported')
        for kind in named or sorted(workers):
            entry = workers.get(kind)
            if entry is None:
                problems.append(f"worker type {kind} not reported (reported: {', '.join(sorted(workers)) or 'none'})")
            elif entry.get('status') != HEALTHY:
                problems.append(f"worker type {kind} {entry.get('status')}: {why_unhealthy(entry)}")
        if not named and not problems and observed['status'] != 200:
            # Every type says ok but the server does not: trust the server.
            problems.append(f"HTTP status {observed['status']} while every worker type reports ok")
        return problems, []

    def expectations(self, params):
        named = params.get('worker_types')
        url = health_url(params)
        if named:
            return ({'url': url, 'worker_types': named, 'status': HEALTHY},
                    [f"{url} reporting worker type{'s' if len(named) > 1 else ''} {', '.join(named)} {HEALTHY}"])
        return {'url': url, 'worker_types': 'all', 'status': HEALTHY}, [f'{url} reporting every worker type {HEALTHY}']

    def describe(self, observed):
        return '; '.join(
            f"{kind}: {entry.get('jobsProcessed')} jobs, last {entry.get('lastJobTime') or 'never'}"
            for kind, entry in sorted(observed.get('workers', {}).items()))


PROBE = WorkerProbe()
