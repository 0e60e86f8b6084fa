"""Redis through Sentinel, and the job queues on it.

The Sentinel connections get connect and read timeouts too (sentinel_kwargs): without them
a client whose first Sentinel sits on a frozen host waits about a minute before it tries the
next one. Each Sentinel gets a share of a call's time limit, so that discovery reaches the
next Sentinel before the call's own limit ends it.

Queues are Redis lists. The backend pushes a job on the left of `refapp:queue:<name>`; a
worker moves it atomically (BLMOVE) to its own processing list
`refapp:processing:<name>:<worker id>` and removes it from there only after the job's row is
committed, so a worker that dies holding a job finds it again when it starts. The set
`refapp:workers:<name>` names the processing lists, which is how the backend counts the
active jobs of a queue.
"""

from __future__ import annotations

import asyncio
import time

from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from refapp import metrics

FAILURES = (RedisError, TimeoutError, OSError)


def queue_key(queue):
    return f'refapp:queue:{queue}'


def processing_key(queue, worker_id):
    return f'refapp:processing:{queue}:{worker_id}'


def workers_key(queue):
    return f'refapp:workers:{queue}'


class Cache:
    def __init__(self, settings):
        self.settings = settings
        timeouts = dict(socket_timeout=settings.check_timeout_seconds,
                        socket_connect_timeout=settings.check_timeout_seconds)
        # Discovery asks the Sentinels one after the other within one call's time limit: each
        # gets a share of it, and one try (redis-py retries a timeout three times by default;
        # asking the next Sentinel is the retry), so a frozen first Sentinel leaves time to
        # ask the next ones.
        share = settings.check_timeout_seconds / (len(settings.redis_sentinels) + 1)
        sentinel_timeouts = dict(socket_timeout=share, socket_connect_timeout=share, retry=Retry(NoBackoff(), 0))
        sentinel_auth = dict(username=settings.sentinel_user or None, password=settings.sentinel_password or None)
        self.sentinel = Sentinel(list(settings.redis_sentinels),
                                 sentinel_kwargs=dict(sentinel_timeouts, **sentinel_auth), **timeouts)
        self.master = self.sentinel.master_for(
            settings.redis_master_name, username=settings.redis_user or None,
            password=settings.redis_password or None, decode_responses=True, **timeouts)

    async def close(self):
        await self.master.aclose()
        await self.sentinel.aclose()

    async def call(self, coroutine, timeout=None):
        """Await one Redis call within the check's time limit; count it when it fails."""
        try:
            return await asyncio.wait_for(coroutine, timeout or self.settings.check_timeout_seconds)
        except FAILURES:
            metrics.CACHE_ERRORS.inc()
            raise

    async def check(self):
        """What /api/health/cache reports: the master Sentinel names for the master name, and a PING to it."""
        started = time.perf_counter()
        host, port = await self.call(self.sentinel.discover_master(self.settings.redis_master_name))
        await self.call(self.master.ping())
        return dict(cache='connected', masterName=self.settings.redis_master_name, master=f'{host}:{port}',
                    sentinels=[f'{h}:{p}' for h, p in self.settings.redis_sentinels],
                    latencyMs=round((time.perf_counter() - started) * 1000, 1))

    async def enqueue(self, queue, body):
        await self.call(self.master.lpush(queue_key(queue), body))
        metrics.JOBS_ENQUEUED.labels(queue).inc()

    async def queue_depths(self, queues):
        """{queue: (waiting, active)} in one round trip per queue."""
        depths = {}
        for queue in queues:
            async with self.master.pipeline(transaction=False) as pipe:
                pipe.llen(queue_key(queue))
                pipe.smembers(workers_key(queue))
                waiting, lists = await self.call(pipe.execute())
            active = 0
            if lists:
                async with self.master.pipeline(transaction=False) as pipe:
                    for name in sorted(lists):
                        pipe.llen(name)
                    active = sum(await self.call(pipe.execute()))
            depths[queue] = (waiting, active)
            metrics.QUEUE_DEPTH.labels(queue, 'waiting').set(waiting)
            metrics.QUEUE_DEPTH.labels(queue, 'active').set(active)
        return depths
