-- Conditional DDL in a DO block, as many projects write it: reversed from the
-- catalogs before and after the block (the PL/pgSQL is parsed to make sure it
-- changes no data and builds no SQL at run time).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                   WHERE table_schema = 'public' AND table_name = 'plans' AND column_name = 'archived') THEN
        ALTER TABLE plans ADD COLUMN archived boolean NOT NULL DEFAULT false;
        EXECUTE 'CREATE INDEX plans_archived_idx ON plans (archived) WHERE NOT archived';
        COMMENT ON COLUMN plans.archived IS 'Hidden from the price list';
    END IF;
    IF to_regclass('public.plan_features') IS NULL THEN
        CREATE TABLE plan_features (plan_code text NOT NULL REFERENCES plans (code), feature text NOT NULL,
                                    PRIMARY KEY (plan_code, feature));
    END IF;
END
$$;
