DROP INDEX IF EXISTS submissions_recent_by_competitor;
UPDATE challenges SET rules = rules - 'daily_submissions';
