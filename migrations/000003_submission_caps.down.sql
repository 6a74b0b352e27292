ALTER TABLE submissions DROP COLUMN IF EXISTS timed_out;
DROP INDEX IF EXISTS submissions_recent_by_competitor;
UPDATE challenges SET rules = rules - 'daily_submissions';
