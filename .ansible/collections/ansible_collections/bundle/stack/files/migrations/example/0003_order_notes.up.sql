-- golang-migrate style: the down SQL sits in 0003_order_notes.down.sql.
ALTER TABLE orders ADD COLUMN note text;
ALTER TABLE orders ADD COLUMN updated_at timestamptz;

CREATE FUNCTION orders_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION orders_touch();
