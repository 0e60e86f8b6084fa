-- migrate:up
-- What GET /api/items reads (from a replica when one is usable): a small catalogue,
-- seeded so the endpoint and the benchmark have rows to return.
CREATE TABLE items (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE items IS 'Reference application: the catalogue GET /api/items reads';
INSERT INTO items (name) SELECT 'item ' || n FROM generate_series(1, 200) AS n;

-- migrate:down
DROP TABLE items;
