-- migrate:up
ALTER TABLE posts RENAME COLUMN body TO content;
ALTER TABLE comments RENAME COLUMN author_name TO display_name;

-- migrate:down
ALTER TABLE comments RENAME COLUMN display_name TO author_name;
ALTER TABLE posts RENAME COLUMN content TO body;
