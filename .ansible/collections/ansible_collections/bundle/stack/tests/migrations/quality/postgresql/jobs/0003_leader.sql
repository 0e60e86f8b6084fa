-- migrate:up
CREATE UNLOGGED TABLE leader (
    name text PRIMARY KEY DEFAULT 'default',
    leader_id text NOT NULL,
    elected_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    CONSTRAINT name_length CHECK (name = 'default'),
    CONSTRAINT leader_id_length CHECK (char_length(leader_id) > 0 AND char_length(leader_id) < 128)
);

-- migrate:down
DROP TABLE leader;
