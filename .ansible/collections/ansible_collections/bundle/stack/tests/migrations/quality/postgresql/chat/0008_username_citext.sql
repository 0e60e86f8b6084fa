-- migrate:up
ALTER TABLE accounts ALTER COLUMN username TYPE varchar(64);
ALTER TABLE accounts ADD COLUMN display_name text;
UPDATE accounts SET display_name = username;
COMMENT ON COLUMN accounts.display_name IS 'Shown instead of the username when set';

-- migrate:down
ALTER TABLE accounts DROP COLUMN display_name;
ALTER TABLE accounts ALTER COLUMN username TYPE varchar(32);
