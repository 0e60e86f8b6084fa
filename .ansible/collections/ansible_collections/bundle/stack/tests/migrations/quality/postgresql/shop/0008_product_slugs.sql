-- migrate:up
ALTER TABLE products ADD COLUMN slug varchar(220);
UPDATE products SET slug = lower(regexp_replace(name, '[^a-zA-Z0-9]+', '-', 'g'));
ALTER TABLE products ALTER COLUMN slug SET NOT NULL;
CREATE UNIQUE INDEX products_slug_key ON products (slug);

-- migrate:down
DROP INDEX products_slug_key;
ALTER TABLE products DROP COLUMN slug;
