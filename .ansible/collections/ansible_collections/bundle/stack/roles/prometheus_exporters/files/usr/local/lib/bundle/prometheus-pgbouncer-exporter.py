"""Run Debian's prometheus-pgbouncer-exporter against PgBouncer 1.8 and later.

Installed by the bundle's prometheus_exporters role. Debian's exporter (1.7)
reads SHOW STATS columns that PgBouncer 1.8 removed (total_requests) and exits
with KeyError. This maps the columns PgBouncer has had since 1.8, then runs the
packaged exporter unchanged: settings come from the environment (HOST, PORT,
PGBOUNCER_HOST, PGBOUNCER_PORT, PGBOUNCER_USER; PGPASSWORD for libpq).
"""

from prometheus_pgbouncer_exporter import cli, collectors

collectors.StatsCollector.metrics = {
    'total_xact_count': ('transactions_total', 'Total number of SQL transactions pooled by pgbouncer'),
    'total_query_count': ('queries_total', 'Total number of SQL queries pooled by pgbouncer'),
    'total_received': ('received_bytes_total', 'Total volume in bytes of network traffic received by pgbouncer'),
    'total_sent': ('sent_bytes_total', 'Total volume in bytes of network traffic sent by pgbouncer'),
    'total_xact_time': ('transaction_microseconds_total', 'Total microseconds spent by pgbouncer in transactions'),
    'total_query_time': ('query_microseconds_total', 'Total microseconds spent by pgbouncer actively querying'),
    'total_wait_time': ('wait_microseconds_total', 'Total microseconds clients waited for a server connection'),
}

if __name__ == '__main__':
    cli.main()
