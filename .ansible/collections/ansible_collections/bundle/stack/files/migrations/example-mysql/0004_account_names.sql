-- Widen a column, rename another, change a default and a comment, add a view:
-- every statement has a generated reverse (the old definitions come from the
-- SHOW CREATE TABLE snapshot schema_migrate records). MariaDB commits each DDL
-- statement by itself, so the rollback verifies after every statement.
ALTER TABLE accounts MODIFY COLUMN display_name VARCHAR(200) NOT NULL;
ALTER TABLE accounts RENAME COLUMN created_at TO signed_up_at;
ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'paid';
ALTER TABLE accounts COMMENT = 'People who can sign in, and their display names';
CREATE VIEW account_order_totals AS
    SELECT a.id AS account_id, a.email, COUNT(o.id) AS orders, COALESCE(SUM(o.total_cents), 0) AS total_cents
    FROM accounts a LEFT JOIN orders o ON o.account_id = a.id
    GROUP BY a.id, a.email;
