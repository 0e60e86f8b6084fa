-- migrate:up
CREATE SEQUENCE order_number_seq START WITH 100000;
ALTER TABLE orders ADD COLUMN number bigint NOT NULL DEFAULT nextval('order_number_seq');
ALTER SEQUENCE order_number_seq OWNED BY orders.number;
ALTER TABLE orders ADD CONSTRAINT orders_number_key UNIQUE (number);

-- migrate:down
ALTER TABLE orders DROP CONSTRAINT orders_number_key;
ALTER TABLE orders DROP COLUMN number;
DROP SEQUENCE IF EXISTS order_number_seq;
