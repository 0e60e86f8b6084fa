-- migrate:up
ALTER TABLE products DROP COLUMN description;

-- migrate:down
ALTER TABLE products ADD COLUMN description text;
