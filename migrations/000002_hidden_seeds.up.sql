-- Rounds and hidden seeds: official scores come from seeds derived from a
-- server secret per challenge and round; public-seed scores are what a
-- competitor can reproduce locally.
ALTER TABLE challenges ADD COLUMN round int NOT NULL DEFAULT 1 CHECK (round >= 1);

ALTER TABLE submissions ADD COLUMN public_score double precision;
ALTER TABLE submissions ADD COLUMN round int;

ALTER TABLE task_results ADD COLUMN hidden boolean NOT NULL DEFAULT false;

-- Secrets the server generates once and every worker shares.
CREATE TABLE server_secrets (
    name        text PRIMARY KEY,
    value       bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
