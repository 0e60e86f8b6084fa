-- migrate:up
ALTER TABLE organizations RENAME COLUMN slug TO handle;
ALTER INDEX organizations_slug_key RENAME TO organizations_handle_key;
ALTER TABLE organizations ADD CONSTRAINT organizations_handle_format CHECK (handle ~ '^[a-z0-9-]{2,63}$');

-- migrate:down
ALTER TABLE organizations DROP CONSTRAINT organizations_handle_format;
ALTER INDEX organizations_handle_key RENAME TO organizations_slug_key;
ALTER TABLE organizations RENAME COLUMN handle TO slug;
