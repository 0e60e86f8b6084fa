ALTER TABLE users ALTER COLUMN display_name TYPE varchar(200);
ALTER TABLE billing.invoices ALTER COLUMN id TYPE bigint;
ALTER TABLE users ALTER COLUMN password_hash DROP DEFAULT;
ALTER TABLE users ALTER COLUMN locale SET DEFAULT 'en_US';
ALTER TABLE users ALTER COLUMN display_name SET NOT NULL;
ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL;
ALTER TABLE sessions ALTER COLUMN expires_at SET DEFAULT now() + interval '30 days';
ALTER TABLE billing.invoices ALTER COLUMN number TYPE text COLLATE "C";
ALTER TABLE users ALTER COLUMN last_login_at TYPE timestamptz USING last_login_at::timestamptz;
