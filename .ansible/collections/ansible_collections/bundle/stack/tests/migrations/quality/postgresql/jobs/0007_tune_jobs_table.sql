-- migrate:up
ALTER TABLE jobs SET (fillfactor = 90, autovacuum_vacuum_scale_factor = 0.05);
ALTER TABLE leader SET LOGGED;

-- migrate:down
ALTER TABLE leader SET UNLOGGED;
ALTER TABLE jobs RESET (fillfactor, autovacuum_vacuum_scale_factor);
