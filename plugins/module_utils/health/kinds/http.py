# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""http kind of health_probe: a URL answers with an expected status and,
optionally, a JSON body whose fields meet expectations.

An expectation names a dotted field and one test: equals a value, is one of a
list, present (the default) or absent (present: false). json_field and
json_value are the short form of one expectation. When the status is not the
expected one and the JSON body names the failing parts (failing_field), the
message names them first."""

from __future__ import annotations

import json
from urllib.parse import urlparse

from ansible_collections.bundle.stack.plugins.module_utils.health.http_client import body_excerpt, http_get, parse_json
from ansible_collections.bundle.stack.plugins.module_utils.health.probe import Probe

ARGUMENT_SPEC = dict(
    url=dict(type='str'),
    paths=dict(
        type='list', elements='dict',
        options=dict(
            path=dict(type='str', required=True),
            check_json=dict(type='bool', default=True),
        ),
    ),
    expect_status=dict(type='list', elements='int', default=[200]),
    expect_json=dict(
        type='list', elements='dict',
        options=dict(
            field=dict(type='str', required=True),
            equals=dict(type='raw'),
            one_of=dict(type='list', elements='raw'),
            present=dict(type='bool'),
        ),
        mutually_exclusive=[['equals', 'one_of', 'present']],
    ),
    json_field=dict(type='str'),
    json_value=dict(type='raw'),
    failing_field=dict(type='str', default='failing'),
    validate_certs=dict(type='bool', default=True),
)

DEFAULT_PORTS = {'http': 80, 'https': 443}
JSON_OPTIONS = ('json_field', 'json_value', 'expect_json')
TESTS = ('equals', 'one_of', 'present')


def lookup_dotted(document, path):
    """(found, value) of a dotted path like 'checks.db.status' or 'items.0.name'."""
    value = document
    for part in path.split('.'):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return False, None
    return True, value


def json_values_equal(actual, wanted):
    if isinstance(wanted, str) and not isinstance(actual, str):
        # From key=value arguments every value arrives as a string: compare it
        # with the JSON text of what was observed ('true', '3', 'null').
        return json.dumps(actual) == wanted.strip()
    # True == 1 in Python, but not in JSON.
    return actual == wanted and isinstance(actual, bool) == isinstance(wanted, bool)


def json_expectations(params):
    """Every JSON expectation of the options, the json_field short form first,
    each a dict of field and its one test (none: the field must be present)."""
    expectations = []
    if params.get('json_field'):
        short = {'field': params['json_field']}
        if params.get('json_value') is not None:
            short['equals'] = params['json_value']
        expectations.append(short)
    for entry in params.get('expect_json') or ():
        expectations.append({name: value for name, value in entry.items() if value is not None})
    return expectations


def expectation_phrase(expectation):
    field = expectation['field']
    if 'equals' in expectation:
        return f"JSON field {field} = {json.dumps(expectation['equals'])}"
    if 'one_of' in expectation:
        return f"JSON field {field} one of {json.dumps(expectation['one_of'])}"
    if expectation.get('present') is False:
        return f'JSON field {field} absent'
    return f'JSON field {field} present'


def expectation_problem(expectation, fields):
    """What is wrong with the observed fields for one expectation, or None."""
    field = expectation['field']
    if expectation.get('present') is False:
        return f'JSON field {field} present (= {json.dumps(fields[field])})' if field in fields else None
    if field not in fields:
        return f'JSON field {field} missing'
    value = fields[field]
    wanted = [expectation['equals']] if 'equals' in expectation else expectation.get('one_of')
    if wanted is not None and not any(json_values_equal(value, one) for one in wanted):
        return f'JSON field {field} = {json.dumps(value)}'
    return None


def failing_parts(value):
    """The failing parts a body named, as text: a list joined, anything else as JSON."""
    if isinstance(value, list):
        return ', '.join(part if isinstance(part, str) else json.dumps(part) for part in value)
    return value if isinstance(value, str) else json.dumps(value)


class HttpProbe(Probe):
    kind = 'http'
    argument_spec = ARGUMENT_SPEC
    required = ('url',)

    def preflight(self, module, params):
        url = urlparse(params['url'])
        if url.scheme not in DEFAULT_PORTS or not url.hostname:
            module.fail_json(msg=f"url must be an http:// or https:// URL with a host, got {params['url']!r}")
        if params.get('json_value') is not None and not params.get('json_field'):
            module.fail_json(msg='json_value needs json_field: name the JSON field that must equal it')
        for entry in params.get('expect_json') or ():
            if entry.get('one_of') == []:
                module.fail_json(msg=f"expect_json: one_of of field {entry['field']} is empty: no value could match")
        for entry in params.get('paths') or ():
            if not entry['path'].startswith('/'):
                module.fail_json(msg=f"paths: {entry['path']!r} must start with / (it is appended to url)")

    def endpoint(self, params):
        url = urlparse(params['url'])
        return url.hostname, url.port or DEFAULT_PORTS.get(url.scheme)

    def check(self, params, attempt_timeout):
        status, text = http_get(params['url'], attempt_timeout, params['validate_certs'])
        observed = dict(status=status, body_excerpt=body_excerpt(text))
        document, error = parse_json(text)
        expectations = json_expectations(params)
        if expectations:
            if error:
                observed['json_error'] = error
            else:
                found = {e['field']: lookup_dotted(document, e['field']) for e in expectations}
                observed['json_fields'] = {field: value for field, (ok, value) in found.items() if ok}
        if params['failing_field'] and document is not None:
            named, value = lookup_dotted(document, params['failing_field'])
            if named:
                observed['failing'] = value
        return observed

    def evaluate(self, observed, params):
        problems = []
        if observed['status'] not in params['expect_status']:
            failing = f", failing {failing_parts(observed['failing'])}" if 'failing' in observed else ''
            problems.append(f"HTTP status {observed['status']}{failing} (body: {observed['body_excerpt'] or 'empty'})")
        expectations = json_expectations(params)
        if expectations and 'json_error' in observed:
            problems.append(observed['json_error'])
        elif expectations:
            for expectation in expectations:
                problem = expectation_problem(expectation, observed['json_fields'])
                if problem:
                    problems.append(problem)
        return problems, []

    def expectations(self, params):
        url, statuses = params['url'], params['expect_status']
        expected = {'url': url, 'status': statuses}
        phrases = [f"{url} answering HTTP status {' or '.join(str(status) for status in statuses)}"]
        expectations = json_expectations(params)
        if expectations:
            expected['json'] = expectations
            phrases += [expectation_phrase(expectation) for expectation in expectations]
        return expected, phrases

    def parts(self, params):
        """With paths, one probe per entry: url + path, the service named with the path
        ({path} in it replaced, else appended), the JSON expectations only where check_json."""
        if not params.get('paths'):
            return None
        base, service = params['url'].rstrip('/'), params['service']
        many = []
        for entry in params['paths']:
            path = entry['path']
            one = dict(params, paths=None, url=base + path,
                       service=service.replace('{path}', path) if '{path}' in service else f'{service} {path}')
            if not entry['check_json']:
                one.update(dict.fromkeys(JSON_OPTIONS))
            many.append(one)
        return many


PROBE = HttpProbe()
