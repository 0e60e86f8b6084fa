ALTER TABLE billing.invoices ADD COLUMN currency char(3);
UPDATE billing.invoices SET currency = 'EUR' WHERE currency IS NULL;
ALTER TABLE billing.invoices ALTER COLUMN currency SET NOT NULL;
ALTER TABLE billing.invoices ALTER COLUMN currency SET DEFAULT 'EUR';
ALTER TABLE users ADD COLUMN IF NOT EXISTS email citext;
ALTER TABLE users ADD COLUMN locale text NOT NULL DEFAULT 'en', ADD COLUMN last_login_at timestamptz;
