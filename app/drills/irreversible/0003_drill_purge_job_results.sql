-- migrate:up
-- A purge: the rows it deletes are gone, so no rollback can bring them back (the
-- backup taken before the migration can).
DELETE FROM job_results WHERE processed_at < now() - interval '90 days';
