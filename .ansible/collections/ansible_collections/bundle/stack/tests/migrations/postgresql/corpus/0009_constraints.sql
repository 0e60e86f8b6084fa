ALTER TABLE users ADD CONSTRAINT users_display_name_length CHECK (char_length(display_name) >= 2);
ALTER TABLE billing.invoices ADD CONSTRAINT invoices_currency_upper CHECK (currency = upper(currency)) NOT VALID;
ALTER TABLE billing.invoices VALIDATE CONSTRAINT invoices_currency_upper;
ALTER TABLE sessions ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
CREATE UNIQUE INDEX invoices_user_number_idx ON billing.invoices (user_id, number);
ALTER TABLE billing.invoices ADD CONSTRAINT invoices_user_number_key UNIQUE USING INDEX invoices_user_number_idx;
ALTER TABLE billing.invoices ALTER CONSTRAINT invoices_user_id_fkey DEFERRABLE INITIALLY DEFERRED;
