-- migrate:up
CREATE TABLE countries (
    code char(2) PRIMARY KEY,
    name text NOT NULL
);
ALTER TABLE customers ADD COLUMN country_code char(2) REFERENCES countries (code);
INSERT INTO countries (code, name) VALUES ('DE', 'Germany'), ('PT', 'Portugal'), ('FR', 'France');

-- migrate:down
ALTER TABLE customers DROP COLUMN country_code;
DROP TABLE countries;
