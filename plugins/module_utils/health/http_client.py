# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One HTTP GET and its JSON body, for the http and worker kinds."""

from __future__ import annotations

import json
from http.client import HTTPException
from urllib.error import HTTPError, URLError

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import open_url
from ansible_collections.bundle.stack.plugins.module_utils.health.probe import ProbeError, describe_error

BODY_EXCERPT_CHARS = 200


def http_get(url, timeout, validate_certs=True):
    """(status, body text) of GET url; raises ProbeError when no answer came."""
    try:
        # The probe talks to the service itself, never through a proxy.
        response = open_url(url, timeout=timeout, validate_certs=validate_certs,
                            use_proxy=False, use_netrc=False, http_agent='health_probe')
        status, body = response.getcode(), response.read()
    except HTTPError as exc:
        # 4xx/5xx still come with a status and a body worth judging.
        status, body = exc.code, exc.read()
    except (URLError, OSError, HTTPException, UrlsConnectionError) as exc:
        raise ProbeError(describe_error(getattr(exc, 'reason', exc))) from exc
    return status, body.decode('utf-8', errors='replace')


def body_excerpt(text):
    """The body on one line, cut short, for messages."""
    return ' '.join(text.split())[:BODY_EXCERPT_CHARS]


def parse_json(text):
    """(document, None), or (None, why) when the body is not JSON."""
    try:
        return json.loads(text), None
    except ValueError as exc:
        return None, f'body is not JSON ({exc})'
