package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/scoring"
)

// Rounds lists a challenge's rounds, oldest first: their times, each
// one's seed commitment and, for closed rounds, the salt and hidden seeds
// that open it.
func (s *Store) Rounds(ctx context.Context, ch arena.Challenge) ([]arena.Round, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT round, opened_at, closed_at FROM rounds WHERE challenge_id = $1 ORDER BY round`, ch.ID)
	if err != nil {
		return nil, fmt.Errorf("list rounds: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (arena.Round, error) {
		r := arena.Round{HiddenSeeds: ch.Rules.HiddenSeeds}
		return r, row.Scan(&r.Round, &r.OpenedAt, &r.ClosedAt)
	})
	if err != nil {
		return nil, fmt.Errorf("list rounds: %w", err)
	}
	return out, s.describeRounds(ctx, ch, out)
}

// describeRounds derives the rounds' seed commitments from the server
// secret, and reveals the seeds of closed ones.
func (s *Store) describeRounds(ctx context.Context, ch arena.Challenge, rounds []arena.Round) error {
	if ch.Rules.HiddenSeeds == 0 {
		return nil // official scores use the public seeds: nothing to commit to
	}
	secret, err := s.Secret(ctx, SecretHiddenSeeds)
	if err != nil {
		return err
	}
	for i := range rounds {
		scoring.DescribeRound(secret, ch.Slug, &rounds[i])
	}
	return nil
}

// AdvanceRound closes the challenge's current round, ch.Round, and opens the next,
// and puts the champion, if any, back in the queue to be scored on the
// new round's seeds; all in one transaction. It returns what changed:
// the closed round (revealed) and the opened one (committed to), and the
// champion's submission ID ("" when there is none), which the caller
// publishes as a job.
func (s *Store) AdvanceRound(ctx context.Context, ch arena.Challenge) (arena.RoundChange, error) {
	var closed, opened arena.Round
	var rescore string
	closed.HiddenSeeds, opened.HiddenSeeds = ch.Rules.HiddenSeeds, ch.Rules.HiddenSeeds
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// The challenge row's lock orders this against crownings.
		if err := tx.QueryRow(ctx, `SELECT round FROM challenges WHERE id = $1 FOR UPDATE`, ch.ID).Scan(&closed.Round); err != nil {
			return fmt.Errorf("lock challenge: %w", err)
		}
		// Two admins, or two schedulers, asking at once open one round.
		if closed.Round != ch.Round {
			return arena.Errorf(arena.ECONFLICT, "round %d of %s has already closed; round %d is open", ch.Round, ch.Slug, closed.Round)
		}
		if err := tx.QueryRow(ctx, `
			UPDATE rounds SET closed_at = now() WHERE challenge_id = $1 AND round = $2
			RETURNING opened_at, closed_at`, ch.ID, closed.Round).Scan(&closed.OpenedAt, &closed.ClosedAt); err != nil {
			return fmt.Errorf("close round %d: %w", closed.Round, err)
		}
		opened.Round = closed.Round + 1
		if _, err := tx.Exec(ctx, `UPDATE challenges SET round = $2 WHERE id = $1`, ch.ID, opened.Round); err != nil {
			return fmt.Errorf("advance round: %w", err)
		}
		if err := tx.QueryRow(ctx, `
			INSERT INTO rounds (challenge_id, round) VALUES ($1, $2) RETURNING opened_at`,
			ch.ID, opened.Round).Scan(&opened.OpenedAt); err != nil {
			return fmt.Errorf("open round %d: %w", opened.Round, err)
		}
		// The champion keeps its score, and its place on the leaderboard,
		// until the new evaluation replaces them.
		var champion string
		var pending bool
		err := tx.QueryRow(ctx, `
			SELECT s.id::text, s.status IN ('queued', 'running') FROM standing_crownings cr JOIN submissions s ON s.id = cr.submission_id
			WHERE cr.challenge_id = $1 ORDER BY cr.id DESC LIMIT 1`, ch.ID).Scan(&champion, &pending)
		switch {
		case err == pgx.ErrNoRows:
			return nil // no champion: nothing to score again
		case err != nil:
			return fmt.Errorf("load champion: %w", err)
		case pending:
			// Its job would find it final and score it on the old seeds.
			return arena.Errorf(arena.ECONFLICT, "the champion of %s is still being scored on round %d's seeds; open the next round when that is done", ch.Slug, closed.Round)
		case ch.Rules.HiddenSeeds == 0:
			return nil // the public seeds do not change: neither would its score
		}
		if _, err := tx.Exec(ctx, `UPDATE submissions SET status = 'queued', updated_at = now(), `+requeue+` WHERE id = $1`, champion, ReasonNewRound); err != nil {
			return fmt.Errorf("queue the champion: %w", err)
		}
		rescore = champion
		return nil
	})
	if err != nil {
		return arena.RoundChange{}, err
	}
	pair := []arena.Round{closed, opened}
	if err := s.describeRounds(ctx, ch, pair); err != nil {
		return arena.RoundChange{}, err
	}
	return arena.RoundChange{Closed: pair[0], Opened: pair[1], Rescoring: rescore}, nil
}

// DueRounds lists the challenges whose schedule says a new round is due:
// rules.round_hours have passed since the current round opened, and the
// challenge has not closed.
func (s *Store) DueRounds(ctx context.Context) ([]arena.Challenge, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+challengeColumns+` FROM challenges WHERE id IN (
		SELECT ch.id FROM challenges ch JOIN rounds r ON r.challenge_id = ch.id AND r.round = ch.round
		WHERE coalesce((ch.rules->>'round_hours')::int, 0) > 0
			AND r.opened_at + make_interval(hours => (ch.rules->>'round_hours')::int) <= now()
			AND (ch.rules->>'closes_at' IS NULL OR (ch.rules->>'closes_at')::timestamptz > now()))
		ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("find due rounds: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (arena.Challenge, error) { return scanChallenge(row) })
	if err != nil {
		return nil, fmt.Errorf("find due rounds: %w", err)
	}
	return out, nil
}
