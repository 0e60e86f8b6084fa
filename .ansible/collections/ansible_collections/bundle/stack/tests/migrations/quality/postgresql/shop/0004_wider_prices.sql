-- migrate:up
ALTER TABLE products ALTER COLUMN price TYPE numeric(12,2);
ALTER TABLE order_items ALTER COLUMN unit_price TYPE numeric(12,2);
ALTER TABLE orders ALTER COLUMN total TYPE numeric(14,2);

-- migrate:down
ALTER TABLE orders ALTER COLUMN total TYPE numeric(10,2);
ALTER TABLE order_items ALTER COLUMN unit_price TYPE numeric(8,2);
ALTER TABLE products ALTER COLUMN price TYPE numeric(8,2);
