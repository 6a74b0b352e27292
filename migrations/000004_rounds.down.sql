ALTER TABLE submissions DROP CONSTRAINT IF EXISTS submissions_score_check;
-- NOT VALID: a champion being rescored may hold a score while queued.
ALTER TABLE submissions ADD CONSTRAINT submissions_check
    CHECK ((status = 'scored') = (score IS NOT NULL)) NOT VALID;
DROP TABLE IF EXISTS rounds;
