-- migrate:up
-- Written to be re-runnable, as some projects do.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                   WHERE table_name = 'posts' AND column_name = 'view_count') THEN
        ALTER TABLE posts ADD COLUMN view_count bigint NOT NULL DEFAULT 0;
    END IF;
END
$$;

-- migrate:down
ALTER TABLE posts DROP COLUMN IF EXISTS view_count;
