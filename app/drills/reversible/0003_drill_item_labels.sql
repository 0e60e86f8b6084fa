-- migrate:up
-- Expand: a column and an index the release before never reads. No down section: the
-- rollback's reverse SQL is generated from this SQL and the catalog snapshot.
ALTER TABLE items ADD COLUMN label text;
CREATE INDEX items_label_idx ON items (label);
