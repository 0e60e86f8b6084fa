-- migrate:up
ALTER TABLE audit_logs ADD COLUMN resource_target text NOT NULL DEFAULT '';
ALTER TABLE audit_logs ALTER COLUMN user_agent TYPE text;
ALTER TABLE audit_logs ALTER COLUMN user_agent DROP DEFAULT;
ALTER TABLE audit_logs ALTER COLUMN ip SET NOT NULL;

-- migrate:down
ALTER TABLE audit_logs ALTER COLUMN ip DROP NOT NULL;
ALTER TABLE audit_logs ALTER COLUMN user_agent SET DEFAULT '';
ALTER TABLE audit_logs ALTER COLUMN user_agent TYPE varchar(256);
ALTER TABLE audit_logs DROP COLUMN resource_target;
