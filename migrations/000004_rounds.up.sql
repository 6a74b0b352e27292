-- Rounds: when each opened and closed. A round's hidden seeds, salt and
-- commitment are derived from the server secret (scoring.HiddenSeeds,
-- RoundSalt, SeedCommitment), so only the times are stored.
CREATE TABLE rounds (
    challenge_id  bigint NOT NULL REFERENCES challenges (id) ON DELETE CASCADE,
    round         int NOT NULL CHECK (round >= 1),
    opened_at     timestamptz NOT NULL DEFAULT now(),
    closed_at     timestamptz,
    PRIMARY KEY (challenge_id, round)
);

INSERT INTO rounds (challenge_id, round, opened_at)
SELECT id, round, created_at FROM challenges;

-- A champion queued to be scored on a new round's seeds keeps its last
-- official score until the new one replaces it; a final submission has a
-- score exactly when it was scored.
ALTER TABLE submissions DROP CONSTRAINT submissions_check;
ALTER TABLE submissions ADD CONSTRAINT submissions_score_check
    CHECK (status IN ('queued', 'running') OR (status = 'scored') = (score IS NOT NULL));
