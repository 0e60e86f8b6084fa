# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""http kind of health_probe: a URL answers with an expected status and,
optionally, a JSON body whose field has an expected value."""

from __future__ import annotations

import json
from http.client import HTTPException
from urllib.error import HTTPError, URLError
from urllib.parse import urlparse

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import open_url
from ansible_collections.bundle.stack.plugins.module_utils.health.probe import Probe, ProbeError, describe_error

ARGUMENT_SPEC = dict(
    url=dict(type='str'),
    expect_status=dict(type='list', elements='int', default=[200]),
    json_field=dict(type='str'),
    json_value=dict(type='raw'),
    validate_certs=dict(type='bool', default=True),
)

BODY_EXCERPT_CHARS = 200
DEFAULT_PORTS = {'http': 80, 'https': 443}


def observe_json_field(text, field):
    try:
        document = json.loads(text)
    except ValueError as exc:
        return {'json_error': f'body is not JSON ({exc})'}
    found, value = lookup_dotted(document, field)
    return {'json_field_found': found, 'json_value': value}


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

    def endpoint(self, params):
        url = urlparse(params['url'])
        return url.hostname, url.port or DEFAULT_PORTS.get(url.scheme)

    def check(self, params, attempt_timeout):
        try:
            # The probe talks to the service itself, never through a proxy.
            response = open_url(params['url'], timeout=attempt_timeout, validate_certs=params['validate_certs'],
                                use_proxy=False, use_netrc=False, http_agent='health_probe')
            status, body = response.getcode(), response.read()
        except HTTPError as exc:
            # 4xx/5xx still come with a status and a body worth judging.
            status, body = exc.code, exc.read()
        except (URLError, OSError, HTTPException, UrlsConnectionError) as exc:
            raise ProbeError(describe_error(getattr(exc, 'reason', exc))) from exc
        text = body.decode('utf-8', errors='replace')
        observed = dict(status=status, body_excerpt=' '.join(text.split())[:BODY_EXCERPT_CHARS])
        if params.get('json_field'):
            observed.update(observe_json_field(text, params['json_field']))
        return observed

    def evaluate(self, observed, params):
        problems = []
        if observed['status'] not in params['expect_status']:
            problems.append(f"HTTP status {observed['status']} (body: {observed['body_excerpt'] or 'empty'})")
        field = params.get('json_field')
        if field:
            wanted = params.get('json_value')
            if 'json_error' in observed:
                problems.append(observed['json_error'])
            elif not observed['json_field_found']:
                problems.append(f'JSON field {field} missing')
            elif wanted is not None and not json_values_equal(observed['json_value'], wanted):
                problems.append(f"JSON field {field} = {json.dumps(observed['json_value'])}")
        return problems, []

    def expectations(self, params):
        url, statuses = params['url'], params['expect_status']
        field, value = params.get('json_field'), params.get('json_value')
        expected = {'url': url, 'status': statuses}
        phrases = [f"{url} answering HTTP status {' or '.join(str(status) for status in statuses)}"]
        if field:
            expected['json_field'] = field
            if value is None:
                phrases.append(f'JSON field {field} present')
            else:
                expected['json_value'] = value
                phrases.append(f'JSON field {field} = {json.dumps(value)}')
        return expected, phrases


PROBE = HttpProbe()
