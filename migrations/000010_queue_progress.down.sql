DROP INDEX IF EXISTS submissions_finished;
DROP INDEX IF EXISTS submissions_queue;
ALTER TABLE submissions DROP COLUMN IF EXISTS running_score, DROP COLUMN IF EXISTS tasks_total, DROP COLUMN IF EXISTS tasks_done,
    DROP COLUMN IF EXISTS requeue_reason, DROP COLUMN IF EXISTS requeues, DROP COLUMN IF EXISTS queued_at;
