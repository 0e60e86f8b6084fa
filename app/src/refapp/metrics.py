"""The Prometheus metrics of the backend and the worker.

http_requests_total and http_request_duration_seconds keep the names the bundle's alert
rules already use (files/prometheus/rules/app.yml: 5xx over 5 %, p95 over 2 s).
"""

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

HTTP_REQUESTS = Counter('http_requests_total', 'HTTP responses by route template, method and status',
                        ['route', 'method', 'status'])
HTTP_LATENCY = Histogram('http_request_duration_seconds', 'Time to answer an HTTP request, by route template',
                         ['route'], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10))
DB_READS = Counter('refapp_db_reads_total', 'Database reads by the server that answered them', ['target'])
DB_ERRORS = Counter('refapp_db_errors_total', 'Failed database calls by target', ['target'])
REPLICA_USABLE = Gauge('refapp_db_replica_usable', '1 when reads may go to this replica', ['replica'])
REPLICA_LAG = Gauge('refapp_db_replica_lag_seconds', 'Replay lag of a replica as last measured', ['replica'])
CACHE_ERRORS = Counter('refapp_cache_errors_total', 'Failed Redis or Sentinel calls')
QUEUE_DEPTH = Gauge('refapp_queue_depth', 'Jobs in a queue: waiting, or taken by a worker (active)',
                    ['queue', 'state'])
JOBS_ENQUEUED = Counter('refapp_jobs_enqueued_total', 'Jobs the backend put on a queue', ['queue'])
WORKER_JOBS = Counter('refapp_worker_jobs_total', 'Jobs a worker finished, by outcome', ['type', 'queue', 'outcome'])
WORKER_LAST_JOB = Gauge('refapp_worker_last_job_timestamp_seconds', 'When the worker last finished a job', ['type'])


def exposition():
    """(body, content type) of everything registered in this process."""
    return generate_latest(), CONTENT_TYPE_LATEST
