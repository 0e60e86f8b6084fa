GRANT USAGE ON SCHEMA billing TO reporting;
GRANT SELECT ON users, billing.invoices TO reporting;
GRANT SELECT (id, email), UPDATE (display_name) ON users TO support;
GRANT EXECUTE ON FUNCTION billing.invoice_total(bigint, date) TO reporting;
REVOKE EXECUTE ON FUNCTION touch_updated_at() FROM PUBLIC;
GRANT USAGE, SELECT ON SEQUENCE billing.invoice_number_seq TO reporting WITH GRANT OPTION;
ALTER DEFAULT PRIVILEGES IN SCHEMA billing GRANT SELECT ON TABLES TO reporting;
