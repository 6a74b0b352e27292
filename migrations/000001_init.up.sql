CREATE TABLE competitors (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Keys are shown once and stored only as SHA-256 hashes: they are 256-bit
-- random strings, so a fast hash is enough.
CREATE TABLE api_keys (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    role           text NOT NULL CHECK (role IN ('admin', 'competitor')),
    name           text NOT NULL,
    competitor_id  bigint REFERENCES competitors (id) ON DELETE CASCADE,
    key_hash       bytea NOT NULL UNIQUE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    CHECK ((role = 'competitor') = (competitor_id IS NOT NULL))
);

CREATE TABLE challenges (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug               text NOT NULL UNIQUE,
    title              text NOT NULL,
    description        text NOT NULL DEFAULT '',
    kind               text NOT NULL,
    benchmark_version  int NOT NULL,
    params             jsonb NOT NULL,
    limits             jsonb NOT NULL,
    rules              jsonb NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE submissions (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    challenge_id       bigint NOT NULL REFERENCES challenges (id),
    competitor_id      bigint NOT NULL REFERENCES competitors (id),
    sha256             bytea NOT NULL,
    module             bytea NOT NULL,
    status             text NOT NULL DEFAULT 'queued'
                       CHECK (status IN ('queued', 'running', 'scored', 'failed', 'rejected')),
    score              double precision,
    error              text NOT NULL DEFAULT '',
    fuel_used          bigint,
    failed_tasks       int NOT NULL DEFAULT 0,
    benchmark_version  int,
    attempts           int NOT NULL DEFAULT 0,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    started_at         timestamptz,
    finished_at        timestamptz,
    -- Identical modules belong to whoever submitted them first.
    UNIQUE (challenge_id, sha256),
    CHECK ((status = 'scored') = (score IS NOT NULL))
);
CREATE INDEX submissions_scored ON submissions (challenge_id, score DESC) WHERE status = 'scored';
CREATE INDEX submissions_pending ON submissions (updated_at) WHERE status IN ('queued', 'running');
CREATE INDEX submissions_competitor ON submissions (competitor_id, created_at DESC);

CREATE TABLE task_results (
    submission_id  uuid NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    idx            int NOT NULL,
    workload       text NOT NULL,
    seed           bigint NOT NULL,
    loss           double precision,
    baseline_loss  double precision NOT NULL,
    score          double precision NOT NULL,
    fuel_used      bigint,
    error          text NOT NULL DEFAULT '',
    log            text NOT NULL DEFAULT '',
    PRIMARY KEY (submission_id, idx)
);

-- Every change of champion, newest last: the current champion is the
-- latest row, and the history is the audit trail trainers can follow.
CREATE TABLE crownings (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    challenge_id   bigint NOT NULL REFERENCES challenges (id),
    submission_id  uuid NOT NULL REFERENCES submissions (id),
    score          double precision NOT NULL,
    crowned_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX crownings_latest ON crownings (challenge_id, id DESC);
