-- Where a submission stands in the queue: queued_at is when it last
-- joined it (its submission, or a requeue), so a submission's position,
-- counted in queued_at order, only moves forward until it is requeued;
-- a requeue says why (requeue_reason) and is counted.
ALTER TABLE submissions ADD COLUMN queued_at timestamptz;
UPDATE submissions SET queued_at = created_at;
ALTER TABLE submissions ALTER COLUMN queued_at SET NOT NULL, ALTER COLUMN queued_at SET DEFAULT now();
ALTER TABLE submissions ADD COLUMN requeues int NOT NULL DEFAULT 0;
ALTER TABLE submissions ADD COLUMN requeue_reason text NOT NULL DEFAULT '';
-- How far a running evaluation has got: tasks done of tasks, and the mean
-- score of those done; reset when an attempt starts.
ALTER TABLE submissions ADD COLUMN tasks_done int;
ALTER TABLE submissions ADD COLUMN tasks_total int;
ALTER TABLE submissions ADD COLUMN running_score double precision;
CREATE INDEX submissions_queue ON submissions (queued_at, id) WHERE status = 'queued';
-- Recent evaluations' durations estimate when a queued one will start.
CREATE INDEX submissions_finished ON submissions (finished_at DESC) WHERE finished_at IS NOT NULL;
