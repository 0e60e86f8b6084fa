-- migrate:up
ALTER TABLE stock_levels RENAME TO inventory_levels;
ALTER TABLE inventory_levels RENAME CONSTRAINT stock_levels_reserved_le_on_hand TO inventory_levels_reserved_le_on_hand;
ALTER INDEX stock_levels_pkey RENAME TO inventory_levels_pkey;

-- migrate:down
ALTER INDEX inventory_levels_pkey RENAME TO stock_levels_pkey;
ALTER TABLE inventory_levels RENAME CONSTRAINT inventory_levels_reserved_le_on_hand TO stock_levels_reserved_le_on_hand;
ALTER TABLE inventory_levels RENAME TO stock_levels;
