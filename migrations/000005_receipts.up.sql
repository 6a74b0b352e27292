-- Every evaluation's signed receipt. A champion scored again for a new
-- round gets another, so a submission has one per round it was scored in.
-- body holds the exact bytes signed.
CREATE TABLE receipts (
    id             bigserial PRIMARY KEY,
    submission_id  uuid NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    round          int NOT NULL,
    body           bytea NOT NULL,
    signature      text NOT NULL,   -- Ed25519, base64
    public_key     text NOT NULL,   -- the key that made it, base64
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX receipts_submission ON receipts (submission_id, round DESC, id DESC);
