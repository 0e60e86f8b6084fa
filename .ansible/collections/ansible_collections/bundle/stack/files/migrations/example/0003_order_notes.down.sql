DROP TRIGGER orders_touch ON orders;
DROP FUNCTION orders_touch();
ALTER TABLE orders DROP COLUMN updated_at;
ALTER TABLE orders DROP COLUMN note;
