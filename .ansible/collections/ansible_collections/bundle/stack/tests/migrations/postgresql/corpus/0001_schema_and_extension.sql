-- A schema of its own for billing, and an extension the app needs.
CREATE SCHEMA billing;
COMMENT ON SCHEMA billing IS 'Invoices and payments';
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE EXTENSION citext WITH SCHEMA public;
