-- migrate:up
CREATE TABLE job_logs (
    job_id bigint NOT NULL,
    logged_at timestamptz NOT NULL,
    level text NOT NULL,
    message text NOT NULL
) PARTITION BY RANGE (logged_at);
CREATE TABLE job_logs_2025_01 PARTITION OF job_logs FOR VALUES FROM ('2025-01-01') TO ('2025-02-01');
CREATE TABLE job_logs_2025_02 PARTITION OF job_logs FOR VALUES FROM ('2025-02-01') TO ('2025-03-01');
CREATE INDEX job_logs_job_id_idx ON job_logs (job_id);

-- migrate:down
DROP TABLE job_logs;
