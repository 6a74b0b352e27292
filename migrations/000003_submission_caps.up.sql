-- A daily cap on submissions per competitor and challenge: existing
-- challenges get the default, counting a competitor's last 24 hours takes
-- an index, and evaluations the wall-clock safety net cut short (perhaps
-- the machine's fault, not the competitor's) are marked so they are not
-- charged.
UPDATE challenges SET rules = rules || '{"daily_submissions": 20}'::jsonb
WHERE NOT rules ? 'daily_submissions';

CREATE INDEX submissions_recent_by_competitor ON submissions (challenge_id, competitor_id, created_at);

ALTER TABLE submissions ADD COLUMN timed_out boolean NOT NULL DEFAULT false;
