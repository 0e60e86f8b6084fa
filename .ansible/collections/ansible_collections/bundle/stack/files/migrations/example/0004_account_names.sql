-- Widen a column, rename another, change a default and add a view: every
-- statement has a generated reverse (the old type and default come from the
-- catalog snapshot schema_migrate records).
ALTER TABLE accounts ALTER COLUMN display_name TYPE varchar(200);
ALTER TABLE accounts RENAME COLUMN created_at TO signed_up_at;
ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'paid';
COMMENT ON TABLE accounts IS 'People who can sign in, and their display names';
CREATE VIEW account_order_totals AS
    SELECT a.id AS account_id, a.email, count(o.id) AS orders, coalesce(sum(o.total_cents), 0) AS total_cents
    FROM accounts a LEFT JOIN orders o ON o.account_id = a.id
    GROUP BY a.id, a.email;
