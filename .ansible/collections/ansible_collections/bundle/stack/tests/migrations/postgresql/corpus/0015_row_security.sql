ALTER TABLE billing.invoices ENABLE ROW LEVEL SECURITY;
CREATE POLICY invoices_owner ON billing.invoices FOR SELECT TO reporting
    USING (user_id = current_setting('app.user_id', true)::bigint);
CREATE POLICY invoices_insert ON billing.invoices AS RESTRICTIVE FOR INSERT TO PUBLIC WITH CHECK (total_cents < 10000000);
ALTER POLICY invoices_owner ON billing.invoices TO reporting, support;
