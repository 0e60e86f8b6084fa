ALTER TABLE customers ALTER COLUMN score TYPE numeric(10,0);
