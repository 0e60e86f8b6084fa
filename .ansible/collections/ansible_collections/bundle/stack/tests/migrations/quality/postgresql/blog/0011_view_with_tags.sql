-- migrate:up
CREATE OR REPLACE VIEW published_posts AS
    SELECT p.id, p.slug, p.title, a.name AS author, p.published_at,
           array(SELECT t.name FROM post_tags pt JOIN tags t ON t.id = pt.tag_id WHERE pt.post_id = p.id) AS tags
    FROM posts p JOIN authors a ON a.id = p.author_id
    WHERE p.published_at IS NOT NULL AND p.published_at <= now();

-- migrate:down
DROP VIEW published_posts;
CREATE VIEW published_posts AS
    SELECT p.id, p.slug, p.title, a.name AS author, p.published_at
    FROM posts p JOIN authors a ON a.id = p.author_id
    WHERE p.published_at IS NOT NULL AND p.published_at <= now();
GRANT SELECT ON published_posts TO readonly;
