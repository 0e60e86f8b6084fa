-- migrate:up
ALTER TABLE participants ALTER CONSTRAINT participants_last_read_fk NOT DEFERRABLE;
ALTER TABLE conversations ALTER COLUMN title TYPE varchar(200);

-- migrate:down
ALTER TABLE conversations ALTER COLUMN title TYPE text;
ALTER TABLE participants ALTER CONSTRAINT participants_last_read_fk DEFERRABLE INITIALLY DEFERRED;
