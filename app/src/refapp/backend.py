"""refapp-backend: the API and the health contract (Starlette under uvicorn).

Every health endpoint runs a real check with the short REFAPP_CHECK_TIMEOUT_SECONDS limit;
a failing dependency gives 503 with the failing part named (contract.answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import platform
import sys
import time
import uuid

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route

from refapp import alerts, cache, contract, database, drill, http_json, metrics, release
from refapp.contract import answer

# schema_migrate's ledger (its default ledger_table, in public): one live row per applied migration.
LEDGER = 'public.bundle_migration_ledger'
# The tables the endpoints below query; /api/health/schema fails when one is missing.
APP_TABLES = ('items', 'job_results')
ITEMS_LIMIT = 100


class State:
    """What the endpoints share: settings, the database, the cache and the recent responses."""

    def __init__(self, settings):
        self.settings = settings
        self.db = database.Database(settings)
        self.cache = cache.Cache(settings)
        self.window = alerts.RequestWindow()
        self.started = time.monotonic()


def state(request: Request) -> State:
    return request.app.state.refapp


# --- checks shared by several endpoints ---

async def cache_report(s):
    try:
        return await s.cache.check()
    except cache.FAILURES as exc:
        return dict(cache='unreachable', error=database.error_text(exc))


async def queues_report(s):
    try:
        return await s.cache.queue_depths(s.settings.worker_queues)
    except cache.FAILURES:
        return None


async def migrations_report(s):
    present = (await s.db.write('SELECT to_regclass(%s) IS NOT NULL AS present', (LEDGER,)))[0]['present']
    applied = []
    if present:
        rows = await s.db.write(f'SELECT name FROM {LEDGER} WHERE rolled_back_at IS NULL ORDER BY id')
        applied = [row['name'] for row in rows]
    expected = release.migration_names()
    pending = [name for name in expected if name not in applied]
    return dict(migrations='up-to-date' if not pending else 'pending', pending=pending, applied=applied,
                # Applied by a newer release: this one runs on that schema too (a release rollback).
                unknown=[name for name in applied if name not in expected])


async def guarded(coroutine):
    """(report, None) or (None, error text) of a database check."""
    try:
        return await coroutine, None
    except database.FAILURES as exc:
        return None, database.error_text(exc)


# --- liveness and readiness ---

async def health(request):
    return answer(dict(uptimeSeconds=round(time.monotonic() - state(request).started, 1)))


async def ready(request):
    s = state(request)
    db, cached, (migrations, migrations_error) = await asyncio.gather(
        s.db.check(), cache_report(s), guarded(migrations_report(s)))
    checks = dict(database=db['database'], cache=cached['cache'],
                  migrations=migrations['migrations'] if migrations else 'unknown')
    failing = [name for name, ok in (('database', db['database'] == 'connected'),
                                     ('cache', cached['cache'] == 'connected'),
                                     ('migrations', migrations and not migrations['pending'])) if not ok]
    errors = {name: error for name, error in (('database', db.get('error')), ('cache', cached.get('error')),
                                              ('migrations', migrations_error)) if error}
    if migrations and migrations['pending']:
        errors['migrations'] = 'pending: ' + ', '.join(migrations['pending'])
    return answer(dict(checks=checks, errors=errors), failing, status_word='not-ready')


# --- the parts ---

async def health_db(request):
    db = await state(request).db.check()
    return answer(db, [] if db['database'] == 'connected' else ['database'])


async def health_cache(request):
    cached = await cache_report(state(request))
    return answer(cached, [] if cached['cache'] == 'connected' else ['cache'])


async def health_queues(request):
    s = state(request)
    try:
        depths = await s.cache.queue_depths(s.settings.worker_queues)
    except cache.FAILURES as exc:
        return answer(dict(error=database.error_text(exc)), ['cache'])
    queues = {name: dict(status='backlog' if waiting > s.settings.queue_backlog_warning else 'ok',
                         waiting=waiting, active=active) for name, (waiting, active) in depths.items()}
    return answer(dict(queues=queues))


async def health_schema(request):
    tables, error = await guarded(state(request).db.write(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
        "AND table_type = 'BASE TABLE' ORDER BY table_name"))
    if error:
        return answer(dict(error=error), ['database'])
    names = [row['table_name'] for row in tables]
    missing = [name for name in APP_TABLES if name not in names]
    return answer(dict(tables=names, count=len(names), missing=missing), ['schema'] if missing else [])


async def health_migrations(request):
    report, error = await guarded(migrations_report(state(request)))
    if error:
        return answer(dict(error=error), ['database'])
    return answer(report, ['migrations'] if report['pending'] else [], status_word='pending')


async def version(request):
    s = state(request)
    return answer(dict(version=release.version(), python=platform.python_version(), platform=platform.platform(),
                       environment=s.settings.environment, workerTypes=sorted(s.settings.worker_urls)))


async def health_alerts(request):
    s = state(request)
    if s.settings.alertmanager_url:
        try:
            lists = await alerts.from_alertmanager(s.settings.alertmanager_url, s.settings.check_timeout_seconds)
        except http_json.Unreachable as exc:
            return answer(dict(source='alertmanager', error=str(exc)), ['alertmanager'])
        source = 'alertmanager'
    else:
        db, cached, queues = await asyncio.gather(s.db.check(), cache_report(s), queues_report(s))
        lists = alerts.own(s.window, db, cached if cached['cache'] == 'connected' else None, queues,
                           s.settings.queue_backlog_warning)
        source = 'application'
    highest = next((severity for severity in alerts.SEVERITIES if lists[severity]), 'none')
    return answer(dict(source=source, highest=highest, **lists))


async def one_worker(url, kind, timeout):
    """One worker health server's view of its worker of this type."""
    try:
        code, body = await http_json.fetch(f'{url}/health', timeout)
    except http_json.Unreachable as exc:
        return dict(url=url, status='unreachable', reason=str(exc), jobsProcessed=None, lastJobTime=None)
    worker = (body.get('workers') or {}).get(kind) if isinstance(body, dict) else None
    if worker is None:
        return dict(url=url, status='unhealthy', reason=f'no worker of type {kind} there (HTTP {code})',
                    jobsProcessed=None, lastJobTime=None)
    return dict(url=url, status=worker.get('status', 'unhealthy') if code == 200 else 'unhealthy',
                reason=worker.get('reason'), jobsProcessed=worker.get('jobsProcessed'),
                lastJobTime=worker.get('lastJobTime'))


async def health_worker(request):
    s = state(request)
    kind = request.path_params['type']
    urls = s.settings.worker_urls.get(kind)
    if not urls:
        return answer(dict(type=kind, error=f'no worker type {kind!r} in REFAPP_WORKER_URLS',
                           types=sorted(s.settings.worker_urls)), ['worker'], status_word='unknown', code=404)
    instances = await asyncio.gather(*(one_worker(url, kind, s.settings.check_timeout_seconds) for url in urls))
    times = [each['lastJobTime'] for each in instances if each['lastJobTime']]
    body = dict(type=kind, jobsProcessed=sum(each['jobsProcessed'] or 0 for each in instances),
                lastJobTime=max(times) if times else None, instances=instances)
    healthy = all(each['status'] == 'ok' for each in instances)
    return answer(body, [] if healthy else ['worker'], status_word='unhealthy')


async def metrics_endpoint(request):
    # Queue depth is read at scrape time; a failure is counted in refapp_cache_errors_total.
    await queues_report(state(request))
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)


# --- the API ---

async def items(request):
    try:
        limit = min(max(int(request.query_params.get('limit', 20)), 1), ITEMS_LIMIT)
    except ValueError:
        return JSONResponse(dict(status='bad-request', timestamp=contract.timestamp(),
                                 error='limit must be a number'), status_code=400)
    try:
        rows, source = await state(request).db.read(
            'SELECT id, name, created_at FROM items ORDER BY id LIMIT %s', (limit,))
    except database.FAILURES as exc:
        return answer(dict(error=database.error_text(exc)), ['database'])
    return answer(dict(readFrom=source, items=[dict(id=row['id'], name=row['name'],
                                                    createdAt=contract.timestamp(row['created_at']))
                                               for row in rows]))


async def enqueue_job(request):
    s = state(request)
    try:
        body = await request.json()
    except ValueError:
        body = None
    queue = (body.get('queue') or s.settings.worker_queues[0]) if isinstance(body, dict) else None
    if queue not in s.settings.worker_queues:
        return JSONResponse(dict(status='bad-request', timestamp=contract.timestamp(),
                                 error=f'a JSON object with "queue" one of {list(s.settings.worker_queues)}'
                                       ' and any "payload"'), status_code=400)
    job = dict(id=uuid.uuid4().hex, queue=queue, payload=body.get('payload'), enqueuedAt=contract.timestamp())
    try:
        await s.cache.enqueue(queue, json.dumps(job))
    except cache.FAILURES as exc:
        return answer(dict(error=database.error_text(exc)), ['cache'])
    return JSONResponse(dict(status='queued', timestamp=contract.timestamp(), id=job['id'], queue=queue),
                        status_code=202)


ROUTES = [
    Route('/health', health),
    Route('/healthz', health),
    Route('/ready', ready),
    Route('/api/health/db', health_db),
    Route('/api/health/cache', health_cache),
    Route('/api/health/queues', health_queues),
    Route('/api/health/schema', health_schema),
    Route('/api/health/migrations', health_migrations),
    Route('/api/health/alerts', health_alerts),
    Route('/api/health/workers/{type}', health_worker),
    Route('/api/version', version),
    Route('/api/items', items),
    Route('/api/jobs', enqueue_job, methods=['POST']),
    Route('/metrics', metrics_endpoint),
]


def route_template(scope):
    """The path template of the route a request matches (a bounded label), or 'unmatched'."""
    for route in ROUTES:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return route.path
    return 'unmatched'


class Instrument:
    """ASGI middleware: request count by route, method and status; latency by route."""

    def __init__(self, app, window):
        self.app, self.window = app, window

    async def __call__(self, scope, receive, send):
        if scope['type'] != 'http':
            return await self.app(scope, receive, send)
        started, seen = time.perf_counter(), {'status': 500}

        async def send_and_see(message):
            if message['type'] == 'http.response.start':
                seen['status'] = message['status']
            await send(message)

        try:
            await self.app(scope, receive, send_and_see)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            metrics.HTTP_REQUESTS.labels(route, scope['method'], str(seen['status'])).inc()
            metrics.HTTP_LATENCY.labels(route).observe(seconds)
            if route != '/metrics':
                self.window.add(seen['status'], seconds)


def create_app(settings):
    shared = State(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await shared.db.open()
        app.state.refapp = shared
        try:
            yield
        finally:
            await shared.db.close()
            await shared.cache.close()

    # Instrument outside the drill faults, so that the metrics count what a client saw.
    middleware = [Middleware(Instrument, window=shared.window)]
    if drill.kind() in ('errors', 'slow'):
        middleware.append(Middleware(drill.Faults, fault=drill.kind()))
    if settings.cors_origins:
        middleware.append(Middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                                     allow_methods=['GET']))
    return Starlette(routes=ROUTES, middleware=middleware, lifespan=lifespan)


def main():
    if drill.kind() == 'crash':
        sys.exit('refapp-backend: drill release: exits at start')
    settings = drill.settings(contract.settings_or_exit('refapp-backend'))
    uvicorn.run(create_app(settings), host=settings.backend_bind, port=settings.backend_port,
                access_log=False, log_level='info', timeout_graceful_shutdown=5)
