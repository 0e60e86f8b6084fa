-- migrate:up breaking:true
-- Contract: the release before reads items.name, so it fails on the schema after this.
ALTER TABLE items RENAME COLUMN name TO title;

-- migrate:down
ALTER TABLE items RENAME COLUMN title TO name;
