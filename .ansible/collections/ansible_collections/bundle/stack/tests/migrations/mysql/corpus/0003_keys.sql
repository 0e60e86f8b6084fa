CREATE INDEX users_name_idx ON users (name);
ALTER TABLE users ADD INDEX users_team_idx (team_id);
ALTER TABLE users ADD CONSTRAINT users_team_fk FOREIGN KEY (team_id) REFERENCES teams (id) ON DELETE SET NULL;
ALTER TABLE users ADD CONSTRAINT users_score_check CHECK (score >= 0);
