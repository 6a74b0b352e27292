-- A daily cap on submissions per competitor and challenge: existing
-- challenges get the default, and counting a competitor's last 24 hours
-- takes an index.
UPDATE challenges SET rules = rules || '{"daily_submissions": 20}'::jsonb
WHERE NOT rules ? 'daily_submissions';

CREATE INDEX submissions_recent_by_competitor ON submissions (challenge_id, competitor_id, created_at);
