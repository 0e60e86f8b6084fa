CREATE VIEW active_users AS
    SELECT id, email FROM users WHERE created_at > now() - interval '1 year';
CREATE VIEW billing.user_totals WITH (security_barrier = true) AS
    SELECT u.id AS user_id, sum(i.total_cents) AS total_cents
    FROM users u JOIN billing.invoices i ON i.user_id = u.id GROUP BY u.id;
CREATE MATERIALIZED VIEW billing.monthly_revenue AS
    SELECT date_trunc('month', issued_on) AS month, sum(total_cents) AS cents FROM billing.invoices GROUP BY 1
    WITH DATA;
CREATE UNIQUE INDEX monthly_revenue_month_key ON billing.monthly_revenue (month);
