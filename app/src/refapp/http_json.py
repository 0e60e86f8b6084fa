"""GET a JSON document from another service (a worker's health server, Alertmanager)."""

import asyncio
import json
import urllib.error
import urllib.request


class Unreachable(Exception):
    """No JSON answer: refused, timed out, or not JSON."""


def get(url, timeout):
    """(HTTP status, decoded JSON body); an HTTP error status with a JSON body is an answer too."""
    request = urllib.request.Request(url, headers={'Accept': 'application/json'})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.load(exc)
        except ValueError:
            raise Unreachable(f'{url}: HTTP {exc.code} without a JSON body') from None
    except (OSError, ValueError) as exc:
        raise Unreachable(f'{url}: {getattr(exc, "reason", exc)}') from None


async def fetch(url, timeout):
    return await asyncio.to_thread(get, url, timeout)
