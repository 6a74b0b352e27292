package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/sandbox"
)

// codeHash identifies what a module executes (sandbox.CanonicalSHA256):
// the duplicate rule keys on it. Bytes that are not a well-framed module
// (which the API refuses before they get here) are their own code.
func codeHash(module []byte) [32]byte {
	if sum, err := sandbox.CanonicalSHA256(module); err == nil {
		return sum
	}
	return sha256.Sum256(module)
}

// copied is the first submission of a module's code to a challenge.
type copied struct {
	id           string
	competitorID int64
	competitor   string
	sameBytes    bool
}

// firstWithCode finds the first submission to a challenge of the code
// hash, or of the very bytes: rows from before code hashes were recorded
// (code_sha256 NULL until FillCodeHashes reaches them) match by sha256
// only. It takes a transaction-long advisory lock per challenge and code
// hash first, so two uploads of one code cannot both pass.
func firstWithCode(ctx context.Context, tx pgx.Tx, challengeID int64, code, sum [32]byte) (*copied, error) {
	lock := sha256.Sum256(binary.BigEndian.AppendUint64(code[:], uint64(challengeID)))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(binary.BigEndian.Uint64(lock[:8]))); err != nil {
		return nil, fmt.Errorf("lock code hash: %w", err)
	}
	var c copied
	err := tx.QueryRow(ctx, `
		SELECT s.id::text, s.competitor_id, co.name, s.sha256 = $3
		FROM submissions s JOIN competitors co ON co.id = s.competitor_id
		WHERE s.challenge_id = $1 AND (s.code_sha256 = $2 OR s.sha256 = $3)
		ORDER BY s.created_at, s.id LIMIT 1`, challengeID, code[:], sum[:]).Scan(&c.id, &c.competitorID, &c.competitor, &c.sameBytes)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("look up identical submission: %w", err)
	}
	return &c, nil
}

// conflict is the 409 for a copy: it names the submission it copies.
func (c *copied) conflict(ch arena.Challenge, competitorID int64) error {
	const differ = "the modules differ only in custom sections, which do not run"
	switch {
	case c.competitorID == competitorID && c.sameBytes:
		return arena.Errorf(arena.ECONFLICT, "you already submitted this module to %s as submission %s", ch.Slug, c.id)
	case c.competitorID == competitorID:
		return arena.Errorf(arena.ECONFLICT, "you already submitted this code to %s as submission %s (%s)", ch.Slug, c.id, differ)
	case c.sameBytes:
		return arena.Errorf(arena.ECONFLICT, "an identical module was already submitted to %s by %s as submission %s; it is theirs", ch.Slug, c.competitor, c.id)
	}
	return arena.Errorf(arena.ECONFLICT, "the same code was already submitted to %s by %s as submission %s (%s); it is theirs", ch.Slug, c.competitor, c.id, differ)
}

// FillCodeHashes records the code hash of submissions stored before it
// was (code_sha256 NULL), a batch at a time, until none is left or ctx
// ends; it returns how many it filled. arena serve runs it on start: until
// it has, such a row is matched as a copy by its sha256 only.
func (s *Store) FillCodeHashes(ctx context.Context) (int, error) {
	filled := 0
	for {
		rows, err := s.pool.Query(ctx, `SELECT id::text, module FROM submissions WHERE code_sha256 IS NULL ORDER BY created_at, id LIMIT 50`)
		if err != nil {
			return filled, fmt.Errorf("find submissions without a code hash: %w", err)
		}
		type pending struct {
			id     string
			module []byte
		}
		batch, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (pending, error) {
			var p pending
			return p, row.Scan(&p.id, &p.module)
		})
		if err != nil {
			return filled, fmt.Errorf("find submissions without a code hash: %w", err)
		}
		if len(batch) == 0 {
			return filled, nil
		}
		for _, p := range batch {
			code := codeHash(p.module)
			if _, err := s.pool.Exec(ctx, `UPDATE submissions SET code_sha256 = $2 WHERE id = $1`, p.id, code[:]); err != nil {
				return filled, fmt.Errorf("record code hash: %w", err)
			}
			filled++
		}
	}
}
