ALTER TABLE users CHANGE COLUMN age age_years BIGINT NULL;
ALTER TABLE users RENAME COLUMN created_at TO signed_up_at;
ALTER TABLE users RENAME INDEX users_name_idx TO users_display_name_idx;
RENAME TABLE teams TO squads;
ALTER TABLE users COMMENT = 'people who sign in';
