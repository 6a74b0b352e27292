-- What a time-to-target task measured: the submission's and the
-- baseline's held-out curves and steps to the target (arena.Training, as
-- JSON). NULL for the control workloads, scored by final loss.
ALTER TABLE task_results ADD COLUMN training jsonb;
