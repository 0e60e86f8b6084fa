"""PostgreSQL: the write path (PgBouncer in transaction mode) and the replicas reads may use.

Reads go to a replica that answers and lags no more than REFAPP_DB_REPLICA_MAX_LAG_SECONDS,
else to the primary, within the same request: a replica that fails a read is marked down
and the read runs again on the primary, so a lost replica costs latency, not an error. A
background task measures every replica's lag each second.

prepare_threshold=None everywhere: PgBouncer 1.18 in transaction mode cannot carry
server-side prepared statements, and psycopg 3 prepares a query run five times by default.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import time

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from refapp import metrics

# Errors a database call may end in: the server, the pool, or the check's own time limit.
FAILURES = (psycopg.Error, PoolTimeout, TimeoutError, OSError)

# Lag as PostgreSQL's own monitoring reads it: zero when everything received is replayed,
# else the age of the last replayed transaction. A server not in recovery (a promoted
# replica) has no lag.
LAG_SQL = """
SELECT pg_is_in_recovery() AS in_recovery,
       CASE WHEN NOT pg_is_in_recovery() THEN 0
            WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
            ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
       END::float8 AS lag_seconds
"""


def error_text(exc):
    """One line naming what failed, without the SQL state noise."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ''
    return f'{type(exc).__name__}: {text}' if text else type(exc).__name__


def tcp_reachable(host, port, timeout):
    """Whether something accepts TCP connections at host:port (the pooler in front of the server)."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return True
    except OSError:
        return False


def pool(settings, host=None, port=None, size=None):
    """A connection pool that opens in the background, so the process starts while the server is down."""
    kwargs = dict(settings.conninfo(host, port), prepare_threshold=None, autocommit=True, row_factory=dict_row)
    return AsyncConnectionPool(kwargs=kwargs, min_size=1, max_size=size or settings.db_pool_size, open=False,
                               timeout=settings.check_timeout_seconds, name=f'{host or settings.db_host}:'
                               f'{port or settings.db_port}')


class Replica:
    def __init__(self, settings, host, port):
        self.address = f'{host}:{port}'
        self.pool = pool(settings, host, port, size=max(2, settings.db_pool_size // 2))
        self.state = 'unknown'  # ok, lagging, down
        self.lag_seconds = None
        self.error = None

    def mark(self, state, lag=None, error=None):
        self.state, self.lag_seconds, self.error = state, lag, error
        metrics.REPLICA_USABLE.labels(self.address).set(1 if state == 'ok' else 0)
        if lag is not None:
            metrics.REPLICA_LAG.labels(self.address).set(lag)

    def as_dict(self):
        return dict(address=self.address, state=self.state, lagSeconds=self.lag_seconds, error=self.error)


class Database:
    def __init__(self, settings):
        self.settings = settings
        self.primary = pool(settings)
        self.replicas = [Replica(settings, host, port) for host, port in settings.db_read_hosts]
        self.turn = itertools.count()
        self.monitor = None

    async def open(self):
        await self.primary.open(wait=False)
        for replica in self.replicas:
            await replica.pool.open(wait=False)
        if self.replicas:
            self.monitor = asyncio.create_task(self.watch_replicas())

    async def close(self):
        if self.monitor:
            self.monitor.cancel()
        for each in [self.primary, *(replica.pool for replica in self.replicas)]:
            await each.close(timeout=1)

    async def fetch(self, source, sql, params=(), timeout=None):
        """Rows of one statement on a pool (the primary's or a replica's), within the time limit.

        On a frozen server (its host paused: connections open, nothing answers) the driver's
        cleanup of a cancelled query, which asks the server to cancel and then resets the
        connection, takes seconds more; asyncio.wait_for would wait for it. The caller gets
        its TimeoutError at the limit, and the cleanup finishes in the background."""
        async def run():
            async with source.connection() as connection:
                return await (await connection.execute(sql, params)).fetchall()
        limit = timeout or self.settings.check_timeout_seconds
        task = asyncio.ensure_future(run())
        done, _ = await asyncio.wait({task}, timeout=limit)
        if not done:
            task.cancel()
            task.add_done_callback(lambda finished: finished.cancelled() or finished.exception())
            raise TimeoutError(f'no answer within {limit} s')
        return task.result()

    async def write(self, sql, params=()):
        try:
            return await self.fetch(self.primary, sql, params)
        except FAILURES:
            metrics.DB_ERRORS.labels('primary').inc()
            raise

    # --- replicas ---

    async def check_replica(self, replica):
        try:
            row = (await self.fetch(replica.pool, LAG_SQL))[0]
        except FAILURES as exc:
            metrics.DB_ERRORS.labels('replica').inc()
            replica.mark('down', error=error_text(exc))
            return
        lag = round(row['lag_seconds'], 3)
        replica.mark('lagging' if lag > self.settings.db_replica_max_lag_seconds else 'ok', lag)

    async def watch_replicas(self):
        while True:
            await asyncio.gather(*(self.check_replica(replica) for replica in self.replicas))
            await asyncio.sleep(1)

    def usable_replicas(self):
        """The replicas a read may go to, starting with the next in turn."""
        usable = [replica for replica in self.replicas if replica.state == 'ok']
        if not usable:
            return []
        start = next(self.turn) % len(usable)
        return usable[start:] + usable[:start]

    async def read(self, sql, params=()):
        """(rows, 'replica' or 'primary'): a usable replica first, the primary when none is or it fails."""
        for replica in self.usable_replicas():
            try:
                rows = await self.fetch(replica.pool, sql, params)
            except FAILURES as exc:
                metrics.DB_ERRORS.labels('replica').inc()
                replica.mark('down', error=error_text(exc))
                continue
            metrics.DB_READS.labels('replica').inc()
            return rows, 'replica'
        rows = await self.write(sql, params)
        metrics.DB_READS.labels('primary').inc()
        return rows, 'primary'

    # --- the health contract's view ---

    async def check(self):
        """What /api/health/db reports: the write path answered a query, how fast; the replicas."""
        started = time.perf_counter()
        report = dict(target=f'{self.settings.db_host}:{self.settings.db_port}',
                      replicas=[replica.as_dict() for replica in self.replicas],
                      readsFrom='replica' if self.usable_replicas() else 'primary')
        try:
            row = (await self.write('SELECT current_database() AS name, version() AS version'))[0]
        except FAILURES as exc:
            # Connection refused at the write path means the pooler itself is gone; an error
            # through an answering pooler means the server behind it is.
            reachable = await asyncio.to_thread(tcp_reachable, self.settings.db_host, self.settings.db_port,
                                                self.settings.check_timeout_seconds)
            return dict(report, database='unreachable', error=error_text(exc), writePathReachable=reachable)
        return dict(report, database='connected', name=row['name'], serverVersion=row['version'].split(' on ')[0],
                    latencyMs=round((time.perf_counter() - started) * 1000, 1), writePathReachable=True)
