package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/arena-dev/arena"
)

// recentEvaluations is how many of the latest evaluations estimate how
// long the next ones take.
const recentEvaluations = 20

// Place sets sub.Queue when sub is queued: its position among the queued
// submissions, in the order they joined the queue (FIFO, as the workers
// take jobs), and an estimated start. With W evaluations at once (workers,
// or more when more are running), R running and A queued ahead, it starts
// when A+R-W+1 evaluations have finished, about one every median/W, the
// median being that of the recent evaluations' durations. Jobs of
// different challenges take different times: the estimate is a median's
// worth, no more.
func (s *Store) Place(ctx context.Context, sub *arena.Submission, workers int) error {
	if sub.Status != arena.StatusQueued {
		sub.Queue = nil
		return nil
	}
	var place arena.QueuePlace
	err := s.pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE status = 'queued' AND (queued_at, id) <= ($1, $2::uuid)),
			count(*) FILTER (WHERE status = 'running')
		FROM submissions WHERE status IN ('queued', 'running')`, sub.QueuedAt, sub.ID).Scan(&place.Position, &place.Running)
	if err != nil {
		return fmt.Errorf("queue position: %w", err)
	}
	place.Position = max(place.Position, 1) // requeued since it was read: at worst, next
	err = s.pool.QueryRow(ctx, `
		SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) FROM (
			SELECT extract(epoch FROM finished_at - started_at)::float8 AS seconds FROM submissions
			WHERE finished_at IS NOT NULL AND started_at IS NOT NULL AND finished_at >= started_at
				AND status <> 'rejected' AND NOT host_failure
			ORDER BY finished_at DESC LIMIT $1) recent`, recentEvaluations).Scan(&place.EvaluationSeconds)
	if err != nil {
		return fmt.Errorf("recent evaluation durations: %w", err)
	}
	place.Workers = max(workers, place.Running, 1)
	if m := place.EvaluationSeconds; m != nil {
		waves := max(0, place.Position-1+place.Running-place.Workers+1)
		at := time.Now().Add(time.Duration(*m * float64(waves) / float64(place.Workers) * float64(time.Second))).UTC().Truncate(time.Second)
		place.EstimatedStart = &at
	}
	sub.Queue = &place
	return nil
}

// Crownings lists every change of a challenge's champion, oldest first,
// disqualified ones included (and marked).
func (s *Store) Crownings(ctx context.Context, challengeID int64) ([]arena.Crowning, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT cr.submission_id::text, co.name, cr.score, cr.crowned_at, s.status = 'disqualified'
		FROM crownings cr JOIN submissions s ON s.id = cr.submission_id JOIN competitors co ON co.id = s.competitor_id
		WHERE cr.challenge_id = $1 ORDER BY cr.id`, challengeID)
	if err != nil {
		return nil, fmt.Errorf("list crownings: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (arena.Crowning, error) {
		var c arena.Crowning
		err := row.Scan(&c.SubmissionID, &c.Competitor, &c.Score, &c.CrownedAt, &c.Disqualified)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("list crownings: %w", err)
	}
	return out, nil
}

// SubmissionsBy lists a competitor's submissions to every challenge,
// newest first.
func (s *Store) SubmissionsBy(ctx context.Context, competitorID int64, limit int) ([]arena.Submission, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+submissionColumns+` `+submissionJoins+`
		WHERE s.competitor_id = $1 ORDER BY s.created_at DESC LIMIT $2`, competitorID, limit)
	if err != nil {
		return nil, fmt.Errorf("list submissions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (arena.Submission, error) { return scanSubmission(row) })
	if err != nil {
		return nil, fmt.Errorf("list submissions: %w", err)
	}
	return out, nil
}
