-- migrate:up
CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');

CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id),
    status order_status NOT NULL DEFAULT 'new',
    total_cents integer NOT NULL CHECK (total_cents >= 0),
    placed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_account_placed_idx ON orders (account_id, placed_at DESC);

-- migrate:down
-- A handwritten down section: schema_rollback uses it instead of generating one.
DROP TABLE orders;
DROP TYPE order_status;
