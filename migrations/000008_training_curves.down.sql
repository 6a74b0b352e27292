ALTER TABLE task_results DROP COLUMN training;
