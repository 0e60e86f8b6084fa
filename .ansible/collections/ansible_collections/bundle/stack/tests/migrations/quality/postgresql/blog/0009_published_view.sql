-- migrate:up
CREATE VIEW published_posts AS
    SELECT p.id, p.slug, p.title, a.name AS author, p.published_at
    FROM posts p JOIN authors a ON a.id = p.author_id
    WHERE p.published_at IS NOT NULL AND p.published_at <= now();
GRANT SELECT ON published_posts TO readonly;

-- migrate:down
DROP VIEW published_posts;
