COMMENT ON TABLE users IS 'People who can sign in';
COMMENT ON COLUMN users.email IS 'Unique, case-insensitive';
COMMENT ON SCHEMA billing IS 'Invoices, payments and revenue reports';
COMMENT ON INDEX users_created_at_idx IS 'Newest users first';
COMMENT ON FUNCTION billing.invoice_total(bigint, date) IS 'Sum of a user''s invoices';
COMMENT ON TYPE user_mood IS 'How a user feels';
COMMENT ON CONSTRAINT invoices_number_key ON billing.invoices IS 'Invoice numbers are unique';
COMMENT ON TRIGGER users_touch_updated_at ON users IS 'Keeps updated_at current';
COMMENT ON VIEW active_users IS NULL;
