-- golang-migrate style: the down SQL sits in 0003_order_notes.down.sql.
ALTER TABLE orders ADD COLUMN note TEXT NULL, ADD COLUMN updated_at DATETIME NULL;
ALTER TABLE orders ADD INDEX orders_updated_idx (updated_at);
