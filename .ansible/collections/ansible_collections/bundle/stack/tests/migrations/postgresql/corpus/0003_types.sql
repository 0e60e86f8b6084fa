CREATE TYPE mood AS ENUM ('happy', 'neutral', 'sad');
CREATE TYPE postal_address AS (street text, city text, zip varchar(10));
CREATE DOMAIN positive_cents AS integer CHECK (VALUE >= 0) NOT NULL DEFAULT 0;
CREATE TYPE price_range AS RANGE (subtype = numeric);
ALTER TABLE users ADD COLUMN mood mood DEFAULT 'neutral', ADD COLUMN address postal_address;
