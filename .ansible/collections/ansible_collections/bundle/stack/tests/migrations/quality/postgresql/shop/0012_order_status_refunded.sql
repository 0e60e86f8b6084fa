-- migrate:up
ALTER TYPE order_status ADD VALUE 'refunded' AFTER 'delivered';

-- migrate:down
DROP MATERIALIZED VIEW daily_sales;
ALTER TYPE order_status RENAME TO order_status_old;
CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped', 'delivered', 'cancelled');
ALTER TABLE orders ALTER COLUMN status DROP DEFAULT;
ALTER TABLE orders ALTER COLUMN status TYPE order_status USING status::text::order_status;
ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'pending';
DROP TYPE order_status_old;
CREATE MATERIALIZED VIEW daily_sales AS
    SELECT date_trunc('day', placed_at) AS day, count(*) AS orders, sum(total) AS revenue
    FROM orders WHERE status IN ('paid', 'shipped', 'delivered')
    GROUP BY 1;
CREATE UNIQUE INDEX daily_sales_day_key ON daily_sales (day);
