package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/arena-dev/arena"
	"github.com/jackc/pgx/v5"
)

// UpgradeBenchmark moves a challenge to version of its benchmark, with
// params as that version normalizes them (new fields at their defaults),
// and puts every scored or failed submission of it back in the queue to
// be scored again under the new rules, the champion first: scores from two
// versions of a benchmark do not compare, and the leaderboard and the
// crown must rest on one. Everything changes in one transaction. A
// requeued submission keeps its score, and its place, until the new
// evaluation replaces them, as on a new round; so the champion's old score
// stays the bar until its own new one lands (then what was scored
// meanwhile meets the new one: see rechallenge). It returns the requeued
// submissions' IDs, champion first, for the caller to publish; none when
// the challenge is already at version.
func (s *Store) UpgradeBenchmark(ctx context.Context, ch arena.Challenge, version int, params json.RawMessage) ([]string, error) {
	var ids []string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// The challenge row's lock orders this against crownings, and
		// against another server upgrading it at the same time.
		var current int
		if err := tx.QueryRow(ctx, `SELECT benchmark_version FROM challenges WHERE id = $1 FOR UPDATE`, ch.ID).Scan(&current); err != nil {
			return notFound(err, "no challenge %q", ch.Slug)
		}
		if current == version {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE challenges SET benchmark_version = $2, params = $3 WHERE id = $1`, ch.ID, version, []byte(params)); err != nil {
			return fmt.Errorf("upgrade challenge: %w", err)
		}
		reason := UpgradeReason(current, version)
		// The champion first, then the oldest first: the order their jobs
		// are published in.
		rows, err := tx.Query(ctx, `
			WITH champion AS (
				SELECT cr.submission_id AS id FROM standing_crownings cr WHERE cr.challenge_id = $1 ORDER BY cr.id DESC LIMIT 1
			), up AS (
				UPDATE submissions s SET status = 'queued', updated_at = now(), `+requeue+`
				WHERE s.challenge_id = $1 AND s.status IN ('scored', 'failed')
				RETURNING s.id, s.created_at
			)
			SELECT up.id::text FROM up
			ORDER BY up.id IN (SELECT id FROM champion) DESC, up.created_at, up.id`, ch.ID, reason)
		if err != nil {
			return fmt.Errorf("requeue for the upgrade: %w", err)
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("requeue for the upgrade: %w", err)
		}
		return nil
	})
	return ids, err
}

// UpgradeReason is requeue_reason for a submission scored again because
// its challenge's benchmark moved from version from to version to.
func UpgradeReason(from, to int) string {
	return fmt.Sprintf("the benchmark changed from version %d to %d: every result is scored again under the new rules", from, to)
}
