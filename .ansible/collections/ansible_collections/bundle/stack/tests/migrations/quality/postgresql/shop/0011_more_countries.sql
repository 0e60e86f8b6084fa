-- migrate:up
INSERT INTO countries (code, name) VALUES ('ES', 'Spain'), ('IT', 'Italy');

-- migrate:down
DELETE FROM countries WHERE code IN ('ES', 'IT');
