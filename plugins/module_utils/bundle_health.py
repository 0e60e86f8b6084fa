# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shared parts of the health_probe module.

A probe kind (tcp, postgres, ...) lives in its own bundle_probe_<kind>.py and
describes itself with a Probe object. This file holds what every kind shares:
the common options, the retry-until-deadline loop, the verdict and message
building, and the systemd unit diagnosis collected when a probe fails.
"""

from __future__ import annotations

import time

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


class Probe:
    """One kind of health probe.

    argument_spec -- options of this kind, merged into the module's spec.
    check(params, attempt_timeout) -> observed dict; raises ProbeError.
    evaluate(observed, params) -> (problems, warnings), pure.
    expectations(params) -> (expected dict, list of phrases for messages), pure.
    defaults -- values for options left unset, when they differ per kind.
    required -- options that must be set for this kind.
    preflight(module, params) -- optional; fails early on a missing library
        or a bad option combination.
    endpoint(params) -> (host, port) -- optional; what the result reports.
    describe(observed) -> str -- optional; what a passing probe saw, in a few
        words, for messages and the smoke table.
    """

    def __init__(self, kind, argument_spec, check, evaluate, expectations,
                 defaults=None, required=None, preflight=None, endpoint=None, describe=None):
        self.kind = kind
        self.argument_spec = argument_spec
        self.check = check
        self.evaluate = evaluate
        self.expectations = expectations
        self.defaults = defaults or {}
        self.required = required or []
        self.preflight = preflight
        self.endpoint = endpoint or default_endpoint
        self.describe = describe


class Outcome:
    """What one attempt saw and what is wrong with it."""

    def __init__(self, observed, problems=None, warnings=None):
        self.observed = observed
        self.problems = problems or []
        self.warnings = warnings or []

    @property
    def passed(self):
        return not self.problems


def default_endpoint(params):
    return params['host'], params['port']


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


def probe_argument_spec(probes):
    """Merge the common options with every kind's options.

    Two kinds may share an option (postgres and pgbouncer both have
    login_user), but only with the same definition; per-kind defaults go
    into Probe.defaults instead.
    """
    spec = {name: dict(option) for name, option in COMMON_ARGUMENT_SPEC.items()}
    spec['kind']['choices'] = sorted(probes)
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
    return [('kind', kind, probe.required) for kind, probe in sorted(probes.items()) if probe.required]


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


def wait_until_passing(attempt, timeout, interval, clock=time.monotonic, sleep=time.sleep):
    """Call attempt(attempt_timeout) until its Outcome passes or the deadline passes.

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
        sleep(min(interval, remaining))
    return outcome, attempts, round(clock() - start, 2)


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


def run_probe(probe, params, clock=time.monotonic, sleep=time.sleep):
    """Probe until pass or deadline; return the result dict of health_probe (no diagnosis)."""
    def attempt(attempt_timeout):
        try:
            observed = probe.check(params, attempt_timeout)
        except ProbeError as exc:
            return Outcome({'error': str(exc)}, problems=[str(exc)])
        problems, warnings = probe.evaluate(observed, params)
        return Outcome(observed, problems, warnings)

    outcome, attempts, elapsed = wait_until_passing(
        attempt, params['timeout'], params['interval'], clock=clock, sleep=sleep)
    expected, phrases = probe.expectations(params)
    host, port = probe.endpoint(params)
    verdict = verdict_of(outcome)
    label = probe_label(host, params['service'], params.get('unit'))
    return dict(
        changed=False,
        verdict=verdict,
        kind=probe.kind,
        service=params['service'],
        host=host,
        port=port,
        attempts=attempts,
        elapsed=elapsed,
        expected=expected,
        observed=outcome.observed,
        # Not "warnings": Ansible takes that key for its own warnings and
        # drops it from the registered result.
        probe_warnings=outcome.warnings,
        msg=build_message(label, verdict, phrases, outcome, attempts, elapsed,
                          probe.describe(outcome.observed) if probe.describe and verdict != 'fail' else ''),
    )


def parse_systemctl_show(text):
    """'Key=Value' lines of `systemctl show` as a dict."""
    properties = {}
    for line in text.splitlines():
        key, sep, value = line.partition('=')
        if sep:
            properties[key.strip()] = value.strip()
    return properties


def diagnose_unit(module, unit, log_lines):
    """State and last journal lines of a systemd unit, for a failed probe."""
    diagnosis = dict(unit=unit, active_state=None, sub_state=None, n_restarts=None,
                     journal=[], errors=[])
    systemctl = module.get_bin_path('systemctl')
    if systemctl:
        rc, out, err = module.run_command(
            [systemctl, 'show', '-p', 'ActiveState', '-p', 'SubState', '-p', 'NRestarts', unit])
        if rc == 0:
            properties = parse_systemctl_show(out)
            diagnosis['active_state'] = properties.get('ActiveState')
            diagnosis['sub_state'] = properties.get('SubState')
            diagnosis['n_restarts'] = properties.get('NRestarts')
        else:
            diagnosis['errors'].append(f'systemctl show {unit}: rc={rc} {one_line(err)}')
    else:
        diagnosis['errors'].append('systemctl not found on this host')
    journalctl = module.get_bin_path('journalctl')
    if journalctl and log_lines > 0:
        rc, out, err = module.run_command(
            [journalctl, '-u', unit, '--no-pager', '-n', str(log_lines)])
        if rc == 0:
            diagnosis['journal'] = out.rstrip('\n').splitlines()
        else:
            diagnosis['errors'].append(f'journalctl -u {unit}: rc={rc} {one_line(err)}')
    elif not journalctl:
        diagnosis['errors'].append('journalctl not found on this host')
    return diagnosis


def format_diagnosis(diagnosis, log_lines):
    """The diagnosis as the tail of a failure message."""
    text = f"Unit {diagnosis['unit']}: "
    if diagnosis['active_state'] is None:
        text += 'state unknown.'
    else:
        text += (f"ActiveState={diagnosis['active_state']} SubState={diagnosis['sub_state']} "
                 f"NRestarts={diagnosis['n_restarts']}.")
    if diagnosis['errors']:
        text += f" Diagnosis errors: {'; '.join(diagnosis['errors'])}."
    if log_lines > 0:
        journal = '\n'.join(diagnosis['journal']) or '(none)'
        text += f' Last {log_lines} log lines:\n{journal}'
    return text


def json_safe_number(value, digits=3):
    """Driver numbers (Decimal, int) as plain JSON numbers; None stays None."""
    if value is None:
        return None
    number = float(value)
    if number.is_integer():
        return int(number)
    return round(number, digits)
