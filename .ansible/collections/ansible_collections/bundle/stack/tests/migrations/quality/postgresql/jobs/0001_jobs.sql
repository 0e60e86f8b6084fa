-- migrate:up
CREATE TYPE job_state AS ENUM ('available', 'running', 'completed', 'discarded');

CREATE TABLE jobs (
    id bigserial PRIMARY KEY,
    queue text NOT NULL DEFAULT 'default',
    kind text NOT NULL,
    args jsonb NOT NULL DEFAULT '{}',
    state job_state NOT NULL DEFAULT 'available',
    attempt smallint NOT NULL DEFAULT 0,
    max_attempts smallint NOT NULL,
    scheduled_at timestamptz NOT NULL DEFAULT now(),
    attempted_at timestamptz,
    finalized_at timestamptz,
    errors jsonb[],
    CONSTRAINT max_attempts_is_positive CHECK (max_attempts > 0),
    CONSTRAINT kind_length CHECK (char_length(kind) > 0 AND char_length(kind) < 128)
);
CREATE INDEX jobs_prioritized_fetching_index ON jobs USING btree (state, queue, scheduled_at, id);
CREATE INDEX jobs_kind ON jobs USING btree (kind);

-- migrate:down
DROP TABLE jobs;
DROP TYPE job_state;
