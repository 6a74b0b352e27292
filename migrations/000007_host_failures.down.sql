ALTER TABLE submissions DROP COLUMN IF EXISTS host_failure;
