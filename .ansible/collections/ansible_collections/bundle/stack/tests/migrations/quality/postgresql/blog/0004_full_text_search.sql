-- migrate:up
ALTER TABLE posts ADD COLUMN search_vector tsvector;

CREATE FUNCTION posts_search_vector_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector :=
        setweight(to_tsvector('english', coalesce(NEW.title, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(NEW.body, '')), 'B');
    RETURN NEW;
END
$$;

CREATE TRIGGER posts_search_vector_trigger
    BEFORE INSERT OR UPDATE OF title, body ON posts
    FOR EACH ROW EXECUTE FUNCTION posts_search_vector_update();

CREATE INDEX posts_search_vector_idx ON posts USING gin (search_vector);

-- migrate:down
DROP INDEX posts_search_vector_idx;
DROP TRIGGER posts_search_vector_trigger ON posts;
DROP FUNCTION posts_search_vector_update();
ALTER TABLE posts DROP COLUMN search_vector;
