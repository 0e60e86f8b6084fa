CREATE TABLE plans (code text PRIMARY KEY, name text NOT NULL, monthly_cents integer NOT NULL);
INSERT INTO plans (code, name, monthly_cents) VALUES ('free', 'Free', 0), ('pro', 'Pro', 1200);
INSERT INTO users (email, display_name, password_hash, locale) VALUES ('seed@example.com', 'Seed', 'x', 'en');
