-- Admins disqualify submissions. A disqualified submission keeps its
-- record (score included) but leaves the leaderboard, and its crownings no
-- longer count: the crown returns to the latest champion still standing.
ALTER TABLE submissions DROP CONSTRAINT submissions_status_check;
ALTER TABLE submissions ADD CONSTRAINT submissions_status_check
    CHECK (status IN ('queued', 'running', 'scored', 'failed', 'rejected', 'disqualified'));
ALTER TABLE submissions DROP CONSTRAINT submissions_score_check;
ALTER TABLE submissions ADD CONSTRAINT submissions_score_check
    CHECK (status IN ('queued', 'running', 'disqualified') OR (status = 'scored') = (score IS NOT NULL));
ALTER TABLE submissions ADD COLUMN disqualified_reason text NOT NULL DEFAULT '';

CREATE VIEW standing_crownings AS
    SELECT cr.* FROM crownings cr JOIN submissions s ON s.id = cr.submission_id
    WHERE s.status <> 'disqualified';
