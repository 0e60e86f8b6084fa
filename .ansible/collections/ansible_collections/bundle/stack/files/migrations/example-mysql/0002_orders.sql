-- migrate:up
CREATE TABLE orders (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    status ENUM('new', 'paid', 'shipped', 'cancelled') NOT NULL DEFAULT 'new',
    total_cents INT NOT NULL,
    placed_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT orders_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id),
    CONSTRAINT orders_total_check CHECK (total_cents >= 0)
) ENGINE=InnoDB;
CREATE INDEX orders_account_placed_idx ON orders (account_id, placed_at);

-- migrate:down
-- A handwritten down section: schema_rollback uses it instead of generating one.
DROP TABLE orders;
