DROP TABLE server_secrets;
ALTER TABLE task_results DROP COLUMN hidden;
ALTER TABLE submissions DROP COLUMN round;
ALTER TABLE submissions DROP COLUMN public_score;
ALTER TABLE challenges DROP COLUMN round;
