-- PostgreSQL cannot drop an enum value: the reverse recreates the type, converts
-- its columns and recreates the view that reads them.
CREATE VIEW calm_users AS SELECT id, mood FROM users WHERE mood = 'calm';
ALTER TYPE user_mood ADD VALUE 'excited' AFTER 'happy';
