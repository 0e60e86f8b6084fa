ALTER TABLE users DROP FOREIGN KEY users_team_fk;
ALTER TABLE users DROP INDEX users_display_name_idx;
DROP VIEW team_sizes;
ALTER TABLE users ALTER COLUMN name DROP DEFAULT;
INSERT INTO squads (id, name) VALUES (42, 'ops');
