ALTER TABLE users ADD COLUMN updated_at timestamptz;

CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE FUNCTION billing.invoice_total(p_user bigint, p_since date DEFAULT '-infinity')
RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT coalesce(sum(total_cents), 0) FROM billing.invoices WHERE user_id = p_user AND issued_on >= p_since $$;

CREATE PROCEDURE billing.purge_before(p_day date) LANGUAGE sql AS
$$ DELETE FROM billing.invoices WHERE issued_on < p_day $$;
