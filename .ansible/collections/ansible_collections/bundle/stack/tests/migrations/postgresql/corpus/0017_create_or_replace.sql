CREATE OR REPLACE FUNCTION billing.invoice_total(p_user bigint, p_since date DEFAULT '-infinity')
RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT coalesce(sum(total_cents), 0) FROM billing.invoices WHERE user_id = p_user AND issued_on > p_since $$;
CREATE OR REPLACE VIEW billing.user_totals WITH (security_barrier = true) AS
    SELECT u.id AS user_id, sum(i.total_cents) AS total_cents, count(*) AS invoices
    FROM users u JOIN billing.invoices i ON i.user_id = u.id GROUP BY u.id;
CREATE OR REPLACE FUNCTION billing.invoice_total(p_user bigint) RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT billing.invoice_total(p_user, '-infinity') $$;
