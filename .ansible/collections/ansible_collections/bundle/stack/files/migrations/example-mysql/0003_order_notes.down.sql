ALTER TABLE orders DROP INDEX orders_updated_idx;
ALTER TABLE orders DROP COLUMN updated_at, DROP COLUMN note;
