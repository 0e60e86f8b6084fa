-- migrate:up
CREATE VIEW order_totals AS
    SELECT o.id AS order_id, o.customer_id, sum(i.quantity * i.unit_price) AS items_total
    FROM orders o JOIN order_items i ON i.order_id = o.id
    GROUP BY o.id, o.customer_id;

CREATE MATERIALIZED VIEW daily_sales AS
    SELECT date_trunc('day', placed_at) AS day, count(*) AS orders, sum(total) AS revenue
    FROM orders WHERE status IN ('paid', 'shipped', 'delivered')
    GROUP BY 1;
CREATE UNIQUE INDEX daily_sales_day_key ON daily_sales (day);

-- migrate:down
DROP MATERIALIZED VIEW daily_sales;
DROP VIEW order_totals;
