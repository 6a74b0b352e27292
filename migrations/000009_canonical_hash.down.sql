DROP INDEX submissions_challenge_code;
ALTER TABLE submissions DROP COLUMN code_sha256;
