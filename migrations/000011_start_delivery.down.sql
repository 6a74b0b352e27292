ALTER TABLE submissions DROP COLUMN IF EXISTS start_delivery;
