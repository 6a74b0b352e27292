-- The delivery that last started a submission's evaluation. A worker
-- retries its start while the database does not answer; when the first
-- try committed but its answer was lost, the retry must not count the
-- same delivery as another attempt.
ALTER TABLE submissions ADD COLUMN start_delivery text;
