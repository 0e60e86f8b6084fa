-- migrate:up
ALTER TABLE products ALTER COLUMN created_at TYPE timestamptz USING created_at AT TIME ZONE 'UTC';
ALTER TABLE customers ALTER COLUMN created_at TYPE timestamptz;
ALTER TABLE orders ALTER COLUMN placed_at TYPE timestamptz;

-- migrate:down
ALTER TABLE orders ALTER COLUMN placed_at TYPE timestamp;
ALTER TABLE customers ALTER COLUMN created_at TYPE timestamp;
ALTER TABLE products ALTER COLUMN created_at TYPE timestamp USING created_at AT TIME ZONE 'UTC';
