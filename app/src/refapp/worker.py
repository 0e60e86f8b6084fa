"""refapp-worker: takes jobs from the Redis queues of REFAPP_WORKER_QUEUES and records each
as a row of job_results in PostgreSQL; its own health server answers on
REFAPP_WORKER_HEALTH_PORT.

A job leaves its processing list only after its row is committed (cache.py describes the
lists). While the database fails, the worker retries the job it holds and takes no other,
so jobs wait and, after REFAPP_WORKER_STALL_SECONDS, /health says the worker is stalled:
the check is the worker's own progress, not a port of Redis.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
import time
from datetime import UTC, datetime

import psycopg
import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from refapp import cache, contract, database, metrics
from refapp.contract import answer

log = logging.getLogger('refapp.worker')

RECORD_SQL = """
INSERT INTO job_results (job_id, queue, worker_type, worker_id, payload, enqueued_at)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (job_id) DO NOTHING
"""
RETRY_SECONDS = 1.0


def parse_job(raw):
    """(job id, payload as JSON text, enqueued at or None) of a queued job; ValueError when it is not one."""
    job = json.loads(raw)
    if not isinstance(job, dict) or not isinstance(job.get('id'), str) or not job['id']:
        raise ValueError('not a job object with an "id"')
    enqueued = job.get('enqueuedAt')
    return job['id'], json.dumps(job.get('payload')), datetime.fromisoformat(enqueued) if enqueued else None


class Worker:
    def __init__(self, settings):
        self.settings = settings
        self.kind = settings.worker_type
        # Stable across restarts of the same worker on the same host: a restarted worker
        # finds the jobs it held in its own processing lists.
        self.id = f'{socket.gethostname()}-{self.kind}'
        self.cache = cache.Cache(settings)
        self.connection = None
        self.processed = 0
        self.last_job_time = None
        self.last_ready = time.monotonic()  # last time it took a job or found the queues empty
        self.error = None
        self.task = None
        # BLMOVE blocks for less than the socket timeout, or the read would time out first.
        self.block_seconds = max(0.1, min(1.0, settings.check_timeout_seconds / 2))

    # --- the job loop ---

    async def run(self):
        while True:
            try:
                await self.recover()
                break
            except cache.FAILURES as exc:
                self.error = f'cache: {database.error_text(exc)}'
                await asyncio.sleep(RETRY_SECONDS)
        while True:
            try:
                taken = await self.take()
            except cache.FAILURES as exc:
                self.error = f'cache: {database.error_text(exc)}'
                await asyncio.sleep(RETRY_SECONDS)
                continue
            self.last_ready = time.monotonic()
            if taken:
                await self.finish(*taken)

    async def recover(self):
        """Put back the jobs this worker held when it stopped, and register its processing lists."""
        master = self.cache.master
        for queue in self.settings.worker_queues:
            mine = cache.processing_key(queue, self.id)
            while await self.cache.call(master.lmove(mine, cache.queue_key(queue), 'RIGHT', 'RIGHT')):
                pass
            await self.cache.call(master.sadd(cache.workers_key(queue), mine))

    async def take(self):
        """(queue, raw job) moved to this worker's processing list, or None after a short wait."""
        master = self.cache.master
        queues = self.settings.worker_queues
        for queue in queues:
            raw = await self.cache.call(master.lmove(cache.queue_key(queue), cache.processing_key(queue, self.id),
                                                     'RIGHT', 'LEFT'))
            if raw:
                return queue, raw
        raw = await self.cache.call(
            master.blmove(cache.queue_key(queues[0]), cache.processing_key(queues[0], self.id),
                          self.block_seconds, 'RIGHT', 'LEFT'),
            timeout=self.block_seconds + self.settings.check_timeout_seconds)
        return (queues[0], raw) if raw else None

    async def finish(self, queue, raw):
        """Record the job, then drop it from the processing list; retry until both happened."""
        try:
            job_id, payload, enqueued = parse_job(raw)
            outcome = 'done'
        except ValueError as exc:
            log.warning('rejected a malformed job on %s: %s', queue, exc)
            job_id, payload, enqueued, outcome = None, None, None, 'rejected'
        while True:
            try:
                if job_id:
                    await self.record(job_id, queue, payload, enqueued)
                await self.cache.call(self.cache.master.lrem(cache.processing_key(queue, self.id), 1, raw))
                break
            except (*database.FAILURES, *cache.FAILURES) as exc:
                self.error = database.error_text(exc)
                log.warning('job %s on %s: %s; retrying', job_id, queue, self.error)
                await self.disconnect()
                await asyncio.sleep(RETRY_SECONDS)
        self.error = None
        self.processed += 1
        self.last_job_time = datetime.now(UTC)
        metrics.WORKER_JOBS.labels(self.kind, queue, outcome).inc()
        metrics.WORKER_LAST_JOB.labels(self.kind).set(self.last_job_time.timestamp())

    async def record(self, job_id, queue, payload, enqueued):
        if self.connection is None or self.connection.closed:
            self.connection = await asyncio.wait_for(psycopg.AsyncConnection.connect(
                **self.settings.conninfo(), prepare_threshold=None, autocommit=True),
                self.settings.check_timeout_seconds)
        await asyncio.wait_for(self.connection.execute(RECORD_SQL, (job_id, queue, self.kind, self.id, payload,
                                                                    enqueued)),
                               self.settings.check_timeout_seconds)

    async def disconnect(self):
        if self.connection is not None:
            await self.connection.close()
            self.connection = None

    # --- health ---

    async def report(self):
        """(healthy, this worker type's entry of /health)."""
        entry = dict(jobsProcessed=self.processed,
                     lastJobTime=contract.timestamp(self.last_job_time) if self.last_job_time else None,
                     queues={}, lastError=self.error)
        try:
            async with self.cache.master.pipeline(transaction=False) as pipe:
                for queue in self.settings.worker_queues:
                    pipe.llen(cache.queue_key(queue))
                waiting = await self.cache.call(pipe.execute())
        except cache.FAILURES as exc:
            return False, dict(entry, status='unhealthy', reason=f'cache unreachable: {database.error_text(exc)}')
        entry['queues'] = dict(zip(self.settings.worker_queues, waiting, strict=True))
        idle = time.monotonic() - self.last_ready
        if self.task is not None and self.task.done():
            reason = 'the job loop stopped'
        elif sum(waiting) and idle > self.settings.worker_stall_seconds:
            reason = f'no job taken for {idle:.0f} s while {sum(waiting)} wait'
        else:
            return True, dict(entry, status='ok', reason=None)
        return False, dict(entry, status='unhealthy', reason=reason)


def health_app(worker):
    async def health(request):
        healthy, entry = await worker.report()
        return answer(dict(workers={worker.kind: entry}), [] if healthy else ['worker'], status_word='unhealthy')

    async def metrics_endpoint(request):
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    return Starlette(routes=[Route('/health', health), Route('/metrics', metrics_endpoint)])


async def serve(settings):
    worker = Worker(settings)
    server = uvicorn.Server(uvicorn.Config(health_app(worker), host=settings.worker_health_bind,
                                           port=settings.worker_health_port, access_log=False,
                                           log_level='info', lifespan='off'))
    worker.task = asyncio.create_task(worker.run())
    try:
        await server.serve()
    finally:
        worker.task.cancel()
        await asyncio.gather(worker.task, return_exceptions=True)
        await worker.disconnect()
        await worker.cache.close()
    return server.started


def main():
    settings = contract.settings_or_exit('refapp-worker')
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')
    if not asyncio.run(serve(settings)):
        sys.exit(1)
