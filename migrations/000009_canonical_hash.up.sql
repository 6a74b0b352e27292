-- What a module executes, as opposed to the bytes uploaded: the SHA-256 of
-- its canonical form (sandbox.Canonical: custom sections dropped, every
-- other section in order with its id and size). The duplicate rule keys on
-- it, so a copy with a custom section added or its name section changed
-- belongs to whoever submitted the code first; sha256 stays the hash of the
-- bytes as uploaded, which downloads and receipts use.
--
-- Computing it takes parsing the module, which plain SQL cannot do, so it
-- is NULL for rows from before this migration until the server fills it
-- (store.FillCodeHashes, run by arena serve on start). Until then the
-- duplicate check matches such a row by its sha256 only.
--
-- Not unique: rows from before may already hold copies of one another. The
-- check runs in the insert's transaction under an advisory lock per
-- challenge and code hash instead.
ALTER TABLE submissions ADD COLUMN code_sha256 bytea;
CREATE INDEX submissions_challenge_code ON submissions (challenge_id, code_sha256);
