"""The fault a drill release carries: `app/build.py --drill KIND` builds a release broken on
purpose, so that the release drills ship a real artifact that fails the way real releases
fail (release.json names the drill). A normal build carries none and this does nothing.

    crash           the backend exits at start
    wrong-port      the backend listens on its port + 1
    wrong-database  the backend asks for database <name>_typo: /health answers, /ready fails
    errors          every 10th request of /api/items answers 500
    slow            every 5th request of /api/items takes 3 s more
"""

from __future__ import annotations

import asyncio
import dataclasses
from importlib import resources

from starlette.responses import JSONResponse

from refapp import contract

KINDS = ('crash', 'wrong-port', 'wrong-database', 'errors', 'slow')
FAULTY_PATH = '/api/items'
ERROR_EVERY, SLOW_EVERY, SLOW_SECONDS = 10, 5, 3.0


def kind():
    entry = resources.files('refapp') / 'drill'
    return entry.read_text().strip() if entry.is_file() else ''


def settings(base):
    """The settings as this release misreads them."""
    if kind() == 'wrong-port':
        return dataclasses.replace(base, backend_port=base.backend_port + 1)
    if kind() == 'wrong-database':
        return dataclasses.replace(base, db_name=base.db_name + '_typo')
    return base


class Faults:
    """ASGI middleware: the errors and slow drills, on FAULTY_PATH only (the health contract
    stays healthy, so that only the error rate or the latency can catch the release)."""

    def __init__(self, app, fault):
        self.app, self.fault, self.count = app, fault, 0

    async def __call__(self, scope, receive, send):
        if scope['type'] == 'http' and scope['path'] == FAULTY_PATH:
            self.count += 1
            if self.fault == 'errors' and self.count % ERROR_EVERY == 0:
                response = JSONResponse(dict(status='error', timestamp=contract.timestamp(),
                                             error='drill release: every 10th request fails'), status_code=500)
                await response(scope, receive, send)
                return
            if self.fault == 'slow' and self.count % SLOW_EVERY == 0:
                await asyncio.sleep(SLOW_SECONDS)
        await self.app(scope, receive, send)
