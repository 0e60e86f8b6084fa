-- migrate:up
CREATE TABLE categories (
    id serial PRIMARY KEY,
    parent_id integer REFERENCES categories (id),
    name varchar(100) NOT NULL,
    position smallint NOT NULL DEFAULT 0
);

CREATE TABLE products (
    id bigserial PRIMARY KEY,
    category_id integer REFERENCES categories (id) ON DELETE SET NULL,
    sku varchar(32) NOT NULL UNIQUE,
    name varchar(200) NOT NULL,
    description text,
    price numeric(8,2) NOT NULL CHECK (price >= 0),
    active boolean NOT NULL DEFAULT true,
    created_at timestamp NOT NULL DEFAULT now()
);
CREATE INDEX products_category_id_idx ON products (category_id);

-- migrate:down
DROP TABLE products;
DROP TABLE categories;
