CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, legacy_code varchar(40), score numeric(10,2));
CREATE TABLE legacy_orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers (id), note text);
CREATE INDEX legacy_orders_customer_idx ON legacy_orders (customer_id);
COMMENT ON TABLE legacy_orders IS 'Orders from the old shop';
INSERT INTO customers VALUES (1, 'Ada', 'A-1', 12.50), (2, 'Grace', NULL, 7.25), (3, 'Linus', 'L-3', 1.00);
INSERT INTO legacy_orders VALUES (10, 1, 'first'), (11, 2, 'second');
