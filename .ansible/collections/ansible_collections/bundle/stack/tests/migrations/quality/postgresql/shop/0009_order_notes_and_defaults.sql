-- migrate:up
ALTER TABLE orders ADD COLUMN customer_note text;
ALTER TABLE orders ALTER COLUMN total DROP DEFAULT;
ALTER TABLE categories ALTER COLUMN position SET DEFAULT 100;
ALTER TABLE customers ALTER COLUMN full_name SET NOT NULL;

-- migrate:down
ALTER TABLE customers ALTER COLUMN full_name DROP NOT NULL;
ALTER TABLE categories ALTER COLUMN position SET DEFAULT 0;
ALTER TABLE orders ALTER COLUMN total SET DEFAULT 0;
ALTER TABLE orders DROP COLUMN customer_note;
