-- migrate:up
CREATE TABLE organization_members (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    roles text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);
INSERT INTO organization_members (user_id, organization_id, created_at, updated_at)
    SELECT id, organization_id, created_at, updated_at FROM users;

-- migrate:down
DROP TABLE organization_members;
