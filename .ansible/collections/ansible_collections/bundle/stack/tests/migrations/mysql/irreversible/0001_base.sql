CREATE TABLE customers (id BIGINT PRIMARY KEY, name VARCHAR(80) NOT NULL, legacy_code VARCHAR(40), score DECIMAL(10,2));
CREATE TABLE legacy_orders (
  id BIGINT PRIMARY KEY,
  customer_id BIGINT,
  note TEXT,
  CONSTRAINT legacy_orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id)
) COMMENT = 'Orders from the old shop';
INSERT INTO customers VALUES (1, 'Ada', 'A-1', 12.50), (2, 'Grace', NULL, 7.25), (3, 'Linus', 'L-3', 1.00);
INSERT INTO legacy_orders VALUES (10, 1, 'first'), (11, 2, 'second');
