DROP VIEW IF EXISTS standing_crownings;
ALTER TABLE submissions DROP COLUMN IF EXISTS disqualified_reason;
ALTER TABLE submissions DROP CONSTRAINT IF EXISTS submissions_score_check;
ALTER TABLE submissions ADD CONSTRAINT submissions_score_check
    CHECK (status IN ('queued', 'running') OR (status = 'scored') = (score IS NOT NULL)) NOT VALID;
ALTER TABLE submissions DROP CONSTRAINT IF EXISTS submissions_status_check;
-- NOT VALID: disqualified rows may remain.
ALTER TABLE submissions ADD CONSTRAINT submissions_status_check
    CHECK (status IN ('queued', 'running', 'scored', 'failed', 'rejected')) NOT VALID;
