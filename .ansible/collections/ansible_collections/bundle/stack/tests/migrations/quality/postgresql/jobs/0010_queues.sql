-- migrate:up
CREATE TABLE queues (
    name text PRIMARY KEY NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    paused_at timestamptz,
    updated_at timestamptz NOT NULL
);
ALTER TABLE queues ADD CONSTRAINT name_length CHECK (char_length(name) > 0 AND char_length(name) < 128);
INSERT INTO queues (name, updated_at) VALUES ('main', now());

-- migrate:down
DROP TABLE queues;
