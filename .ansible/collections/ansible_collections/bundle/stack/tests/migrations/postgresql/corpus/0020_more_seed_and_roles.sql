INSERT INTO plans (code, name, monthly_cents) VALUES ('team', 'Team', 4900);
ALTER TABLE plans ADD COLUMN annual_cents integer;
UPDATE plans SET annual_cents = monthly_cents * 10;
CREATE SCHEMA IF NOT EXISTS archive;
CREATE SCHEMA reports CREATE TABLE daily (day date PRIMARY KEY, signups integer) CREATE VIEW recent AS SELECT * FROM daily;
GRANT reporting TO support;
