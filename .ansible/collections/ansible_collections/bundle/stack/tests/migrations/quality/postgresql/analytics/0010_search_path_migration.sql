-- migrate:up
SET search_path TO analytics, public;
CREATE TABLE sessions (
    id uuid PRIMARY KEY,
    started_at timestamptz NOT NULL,
    country char(2)
);
ALTER TABLE page_views ADD CONSTRAINT page_views_session_fk FOREIGN KEY (session_id) REFERENCES sessions (id) NOT VALID;

-- migrate:down
SET search_path TO analytics, public;
ALTER TABLE page_views DROP CONSTRAINT page_views_session_fk;
DROP TABLE sessions;
