-- migrate:up
ALTER TABLE posts ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}';
ALTER TABLE posts ADD COLUMN reading_minutes smallint;
CREATE INDEX posts_metadata_idx ON posts USING gin (metadata jsonb_path_ops);
COMMENT ON COLUMN posts.metadata IS 'Free-form front matter of the post';

-- migrate:down
DROP INDEX posts_metadata_idx;
ALTER TABLE posts DROP COLUMN reading_minutes;
ALTER TABLE posts DROP COLUMN metadata;
