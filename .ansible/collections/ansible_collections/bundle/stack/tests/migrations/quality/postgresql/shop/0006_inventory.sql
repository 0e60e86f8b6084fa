-- migrate:up
CREATE TABLE warehouses (
    id serial PRIMARY KEY,
    code char(4) NOT NULL UNIQUE,
    city text NOT NULL
);

CREATE TABLE stock_levels (
    warehouse_id integer NOT NULL REFERENCES warehouses (id),
    product_id bigint NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    on_hand integer NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    reserved integer NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (warehouse_id, product_id),
    CONSTRAINT stock_levels_reserved_le_on_hand CHECK (reserved <= on_hand)
);
INSERT INTO warehouses (code, city) VALUES ('BER1', 'Berlin'), ('LIS1', 'Lisbon');

-- migrate:down
DROP TABLE stock_levels;
DROP TABLE warehouses;
