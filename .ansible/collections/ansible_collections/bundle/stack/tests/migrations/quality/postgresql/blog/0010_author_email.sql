-- migrate:up
ALTER TABLE authors ADD COLUMN email text;
ALTER TABLE authors ADD CONSTRAINT authors_email_key UNIQUE (email);
ALTER TABLE authors ALTER COLUMN bio SET DEFAULT '';

-- migrate:down
ALTER TABLE authors ALTER COLUMN bio DROP DEFAULT;
ALTER TABLE authors DROP CONSTRAINT authors_email_key;
ALTER TABLE authors DROP COLUMN email;
