-- Accounts of the reference app. No down section: schema_rollback generates
-- the reverse SQL (DROP TABLE, DROP EXTENSION...) from this file.
CREATE EXTENSION IF NOT EXISTS citext;

CREATE TABLE accounts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email citext NOT NULL,
    display_name varchar(80) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT accounts_email_key UNIQUE (email)
);
COMMENT ON TABLE accounts IS 'People who can sign in';
