-- migrate:up
CREATE TYPE audit_action AS ENUM ('create', 'write', 'delete');

CREATE TABLE audit_logs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    "time" timestamptz NOT NULL DEFAULT now(),
    user_id uuid NOT NULL,
    organization_id uuid NOT NULL,
    ip inet,
    user_agent varchar(256) NOT NULL DEFAULT '',
    resource_type text NOT NULL,
    resource_id uuid NOT NULL,
    action audit_action NOT NULL,
    diff jsonb NOT NULL DEFAULT '{}'::jsonb,
    status_code integer NOT NULL
);
CREATE INDEX idx_audit_logs_time_desc ON audit_logs USING btree ("time" DESC);
CREATE INDEX idx_audit_log_user_id ON audit_logs USING btree (user_id);
CREATE INDEX idx_audit_log_organization_id ON audit_logs USING btree (organization_id);
CREATE INDEX idx_audit_log_resource_id ON audit_logs USING btree (resource_id);

-- migrate:down
DROP TABLE audit_logs;
DROP TYPE audit_action;
