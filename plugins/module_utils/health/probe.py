# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The contract of a health probe kind, and what every kind shares.

A probe kind (tcp, postgres, ...) lives in its own health/kinds/<kind>.py as a
subclass of Probe and is listed once in health/registry.py. This file holds the
contract, the common options, the options several kinds share, the
retry-until-deadline loop (clock and sleep injectable for tests) and the
verdict and message building. The systemd diagnosis of a failed probe is in
health/diagnosis.py.
"""

from __future__ import annotations

import abc
import time
from concurrent.futures import ThreadPoolExecutor

# A single attempt never waits longer than this, so a hung connect cannot
# eat the whole deadline; the floor keeps the last attempt usable.
ATTEMPT_TIMEOUT_MAX = 5.0
ATTEMPT_TIMEOUT_MIN = 1.0

# Options every kind understands. `kind` choices are filled in from the registry.
COMMON_ARGUMENT_SPEC = dict(
    kind=dict(type='str', required=True),
    service=dict(type='str'),
    host=dict(type='str', default='127.0.0.1'),
    port=dict(type='int'),
    timeout=dict(type='float', default=60.0),
    interval=dict(type='float', default=2.0),
    unit=dict(type='str'),
    log_lines=dict(type='int', default=20),
    fail_on_restart=dict(type='bool', default=False),
)

# Options several kinds use. probe_argument_spec refuses two definitions of one
# option, so a kind takes these from here instead of restating them.
SHARED_OPTIONS = dict(
    login_user=dict(type='str'),
    login_password=dict(type='str', no_log=True),
    login_unix_socket=dict(type='str'),
    database=dict(type='str'),
    expect_role=dict(type='str', default='any', choices=['primary', 'replica', 'any']),
    max_lag_seconds=dict(type='float'),
    max_lag_bytes=dict(type='int'),
    warn_lag_seconds=dict(type='float'),
    min_streaming_replicas=dict(type='int'),
)

# Lower-case fragments of driver and socket error texts, and the short label
# a reader wants to see first. The first match wins.
ERROR_LABELS = (
    ('connection refused', 'connection refused'),
    ('timeout expired', 'timed out'),
    ('timed out', 'timed out'),
    ('password authentication failed', 'authentication failed'),
    ('authentication failed', 'authentication failed'),
    ('no password supplied', 'authentication failed'),
    ('no pg_hba.conf entry', 'rejected by pg_hba.conf'),
    ('the database system is starting up', 'server starting up'),
    ('the database system is shutting down', 'server shutting down'),
    ('the database system is in recovery mode', 'server in crash recovery'),
    ('no route to host', 'no route to host'),
    ('name or service not known', 'host name does not resolve'),
    ('temporary failure in name resolution', 'host name does not resolve'),
    ('no such file or directory', 'socket not found'),
    ('certificate verify failed', 'TLS certificate not trusted'),
)


class ProbeError(Exception):
    """An attempt could not observe the service at all (refused, timed out, ...)."""


class Probe(abc.ABC):
    """One kind of health probe: what health_probe calls, in this order.

    kind -- the value of the module's kind option.
    argument_spec -- options of this kind, merged into the module's spec; an
        option several kinds use comes from shared_options(), so it is defined once.
    defaults -- values for options left unset, when they differ per kind.
    required -- options that must be set for this kind.
    """

    kind = None
    argument_spec = {}
    defaults = {}
    required = ()

    def preflight(self, module, params):
        """Fail the module early on a missing library or a bad option combination.

        Most kinds need no library and check nothing beyond the argument spec."""
        return None

    @abc.abstractmethod
    def check(self, params, attempt_timeout):
        """One attempt: the observed dict; raises ProbeError when the service cannot be observed."""

    @abc.abstractmethod
    def evaluate(self, observed, params):
        """(problems, warnings) of what was observed against the options; pure."""

    @abc.abstractmethod
    def expectations(self, params):
        """(expected dict, phrases for messages) of the options; pure."""

    def endpoint(self, params):
        """(host, port) the result reports."""
        return params['host'], params['port']

    def describe(self, observed):
        """What a passing probe saw, in a few words, for messages and the smoke table."""
        return ''

    def parts(self, params):
        """The options of each probe when one call probes several parts at once (run_probes),
        or None for one probe."""
        return None


class Outcome:
    """What one attempt saw and what is wrong with it."""

    def __init__(self, observed, problems=None, warnings=None):
        self.observed = observed
        self.problems = problems or []
        self.warnings = warnings or []

    @property
    def passed(self):
        return not self.problems


def shared_options(*names):
    """The named SHARED_OPTIONS, for a kind's argument_spec."""
    return {name: SHARED_OPTIONS[name] for name in names}


def socket_or_host_endpoint(params):
    """The socket when a database probe connects through it, else the host."""
    return params['login_unix_socket'] or params['host'], params['port']


def replication_expectations(params, by_role, replicas_phrase):
    """What a primary/replica database probe expects, and the phrases that say it.

    by_role maps an expected role to the (expected, phrases) its kind adds;
    replicas_phrase names what min_streaming_replicas counts."""
    role = params.get('expect_role', 'any')
    expected = {'role': role}
    phrases = ['SELECT 1 answering'] if role == 'any' else [f'role={role}']
    role_expected, role_phrases = by_role.get(role, ({}, []))
    expected.update(role_expected)
    phrases += role_phrases
    if params.get('max_lag_seconds') is not None:
        expected['max_lag_seconds'] = params['max_lag_seconds']
        phrases.append(f"lag <= {params['max_lag_seconds']:g} s")
    if params.get('max_lag_bytes') is not None:
        expected['max_lag_bytes'] = params['max_lag_bytes']
        phrases.append(f"lag <= {params['max_lag_bytes']} bytes")
    if params.get('warn_lag_seconds') is not None:
        expected['warn_lag_seconds'] = params['warn_lag_seconds']
    if params.get('min_streaming_replicas') is not None:
        expected['min_streaming_replicas'] = params['min_streaming_replicas']
        phrases.append(f"{replicas_phrase} >= {params['min_streaming_replicas']}")
    return expected, phrases


def probe_argument_spec(probes, deprecated_kinds=()):
    """Merge the common options with every kind's options.

    Two kinds may share an option (postgresql and pgbouncer both have
    login_user), but only with the same definition; per-kind defaults go
    into Probe.defaults instead.
    """
    spec = {name: dict(option) for name, option in COMMON_ARGUMENT_SPEC.items()}
    spec['kind']['choices'] = sorted([*probes, *deprecated_kinds])
    owners = {}
    for probe in probes.values():
        for name, option in probe.argument_spec.items():
            if name in COMMON_ARGUMENT_SPEC:
                raise ValueError(f'kind {probe.kind} redefines common option {name}')
            if name in spec and spec[name] != option:
                raise ValueError(f'kinds {owners[name]} and {probe.kind} define option {name} differently')
            spec[name] = dict(option)
            owners.setdefault(name, probe.kind)
    return spec


def probe_required_if(probes):
    """required_if rules of AnsibleModule for the options each kind needs."""
    return [('kind', kind, list(probe.required)) for kind, probe in sorted(probes.items()) if probe.required]


def probe_params(module_params, probe):
    """The module parameters with the kind's defaults filled in."""
    params = dict(module_params)
    for name, value in probe.defaults.items():
        if params.get(name) is None:
            params[name] = value
    if not params.get('service'):
        params['service'] = probe.kind
    return params


def unused_options(module_params, probe, argument_spec):
    """Options set by the caller that this kind ignores (likely a mistake)."""
    unused = []
    for name, option in sorted(argument_spec.items()):
        if name in COMMON_ARGUMENT_SPEC or name in probe.argument_spec:
            continue
        value = module_params.get(name)
        if value is not None and value != option.get('default'):
            unused.append(name)
    return unused


def check_common_params(params):
    """Return an error message for unusable common options, else None."""
    if params['timeout'] < 0:
        return f"timeout must be 0 or more seconds, got {params['timeout']}"
    if params['interval'] < 0:
        return f"interval must be 0 or more seconds, got {params['interval']}"
    if params['port'] is not None and not 0 < params['port'] < 65536:
        return f"port must be between 1 and 65535, got {params['port']}"
    if params['log_lines'] < 0:
        return f"log_lines must be 0 or more, got {params['log_lines']}"
    return None


def one_line(text):
    return ' '.join(text.split())


def describe_error(exc):
    """One line naming what went wrong, e.g. 'connection refused (<driver text>)'."""
    text = one_line(str(exc)) or type(exc).__name__
    if len(text) > 300:
        text = text[:297] + '...'
    lowered = text.lower()
    for fragment, label in ERROR_LABELS:
        if fragment in lowered:
            return label if lowered == label.lower() else f'{label} ({text})'
    return text


def wait_until_passing(attempt, timeout, interval, clock=time.monotonic, sleep=time.sleep, give_up=None):
    """Call attempt(attempt_timeout) until its Outcome passes or the deadline passes, or
    give_up() (when given) returns why waiting longer is pointless: that reason joins the
    last outcome's problems.

    Returns (last outcome, number of attempts, elapsed seconds).
    """
    start = clock()
    deadline = start + timeout
    attempts = 0
    while True:
        attempts += 1
        remaining = deadline - clock()
        attempt_timeout = max(min(ATTEMPT_TIMEOUT_MAX, remaining), ATTEMPT_TIMEOUT_MIN)
        outcome = attempt(attempt_timeout)
        remaining = deadline - clock()
        if outcome.passed or remaining <= 0:
            break
        reason = give_up() if give_up else None
        if reason:
            outcome.problems.append(reason)
            break
        sleep(min(interval, remaining))
    return outcome, attempts, round(clock() - start, 2)


VERDICTS = ('pass', 'warn', 'fail')  # best first


def verdict_of(outcome):
    if outcome.problems:
        return 'fail'
    if outcome.warnings:
        return 'warn'
    return 'pass'


def probe_label(host, service, unit=None):
    """'pg2 postgres (postgresql@15-main)': who the message is about."""
    label = f'{host} {service}'
    if unit:
        label += f' ({unit})'
    return label


def build_message(label, verdict, phrases, outcome, attempts, elapsed, seen=''):
    tries = f"{attempts} attempt{'' if attempts == 1 else 's'} in {elapsed:.1f} s"
    seen = f' ({seen})' if seen else ''
    if verdict == 'fail':
        return f"{label}: expected {', '.join(phrases)}; saw {'; '.join(outcome.problems)} after {tries}."
    if verdict == 'warn':
        return f"{label}: passed with warnings after {tries}{seen}: {'; '.join(outcome.warnings)}"
    return f'{label}: passed after {tries}{seen}'


def run_probe(probe, params, clock=time.monotonic, sleep=time.sleep, give_up=None):
    """Probe until pass, deadline or give_up(); return the result dict of health_probe (no diagnosis)."""
    def attempt(attempt_timeout):
        try:
            observed = probe.check(params, attempt_timeout)
        except ProbeError as exc:
            return Outcome({'error': str(exc)}, problems=[str(exc)])
        problems, warnings = probe.evaluate(observed, params)
        return Outcome(observed, problems, warnings)

    outcome, attempts, elapsed = wait_until_passing(
        attempt, params['timeout'], params['interval'], clock=clock, sleep=sleep, give_up=give_up)
    expected, phrases = probe.expectations(params)
    host, port = probe.endpoint(params)
    verdict = verdict_of(outcome)
    label = probe_label(host, params['service'], params.get('unit'))
    return probe_result(
        probe, params, host, port,
        verdict=verdict,
        attempts=attempts,
        elapsed=elapsed,
        expected=expected,
        observed=outcome.observed,
        probe_warnings=outcome.warnings,
        msg=build_message(label, verdict, phrases, outcome, attempts, elapsed,
                          probe.describe(outcome.observed) if verdict != 'fail' else ''),
    )


def probe_result(probe, params, host, port, **fields):
    """The result dict of health_probe: who was probed, and the fields of what was seen.
    Warnings go under probe_warnings, not "warnings": Ansible takes that key for its own
    warnings and drops it from the registered result."""
    return dict(changed=False, kind=probe.kind, service=params['service'], host=host, port=port, **fields)


def run_probes(probe, params, many, give_up=None):
    """Several probes of one service at once (each with the whole deadline), as one result:
    the worst verdict, the failed ones' messages, and each probe's own result under results."""
    with ThreadPoolExecutor(max_workers=min(len(many), 8)) as pool:
        results = list(pool.map(lambda one: run_probe(probe, one, give_up=give_up), many))
    host, port = probe.endpoint(many[0])
    elapsed = max(result['elapsed'] for result in results)
    failed = [result['msg'] for result in results if result['verdict'] == 'fail']
    return probe_result(
        probe, params, host, port,
        verdict=max((result['verdict'] for result in results), key=VERDICTS.index),
        attempts=max(result['attempts'] for result in results),
        elapsed=elapsed,
        expected={result['service']: result['expected'] for result in results},
        observed={result['service']: result['observed'] for result in results},
        probe_warnings=[f"{result['service']}: {warning}"
                        for result in results for warning in result['probe_warnings']],
        msg=' '.join(failed) if failed else
        f"{probe_label(host, params['service'], params.get('unit'))}: {len(results)} probes passed in {elapsed:.1f} s",
        results=results,
    )


def json_safe_number(value, digits=3):
    """Driver numbers (Decimal, int) as plain JSON numbers; None stays None."""
    if value is None:
        return None
    number = float(value)
    if number.is_integer():
        return int(number)
    return round(number, digits)
