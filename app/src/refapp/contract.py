"""The shape every endpoint of the health contract answers with, backend and worker alike:
JSON with `status` and `timestamp`; HTTP 200 exactly when status is "ok", else 503 with the
failing parts named in `failing`."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from starlette.responses import JSONResponse

from refapp import config, release


def timestamp(moment=None):
    """ISO 8601 in UTC with milliseconds and a Z: sortable as text."""
    moment = moment or datetime.now(UTC)
    return moment.isoformat(timespec='milliseconds').replace('+00:00', 'Z')


def answer(body=None, failing=(), status_word='unavailable', code=None):
    """200 with status ok, or 503 (or code) with status_word and the failing parts."""
    body = dict(body or {})
    if failing:
        return JSONResponse(dict(status=status_word, timestamp=timestamp(), failing=list(failing), **body),
                            status_code=code or 503)
    return JSONResponse(dict(status='ok', timestamp=timestamp(), **body), status_code=code or 200)


def settings_or_exit(program):
    """Settings from the environment for a console script (which also answers --version);
    a bad setting ends the process with the message and status 2, before anything listens."""
    parser = argparse.ArgumentParser(prog=program, description='Configured by REFAPP_* environment variables.')
    parser.add_argument('--version', action='version', version=f'{program} {release.version()}')
    parser.parse_args()
    try:
        return config.load()
    except config.ConfigError as exc:
        print(f'{program}: {exc}', file=sys.stderr)
        sys.exit(2)
