-- migrate:up
ALTER TABLE posts ADD COLUMN slug text;
UPDATE posts SET slug = 'post-' || id;
ALTER TABLE posts ALTER COLUMN slug SET NOT NULL;
ALTER TABLE posts ADD CONSTRAINT posts_slug_key UNIQUE (slug);

-- migrate:down
ALTER TABLE posts DROP CONSTRAINT posts_slug_key;
ALTER TABLE posts DROP COLUMN slug;
