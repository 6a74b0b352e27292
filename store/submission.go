package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/arena-dev/arena"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func checkID(id string) error {
	if !uuidPattern.MatchString(id) {
		return arena.Errorf(arena.ENOTFOUND, "no submission %q", id)
	}
	return nil
}

// CreateSubmission stores module as a queued submission. A module whose
// code (what it executes: custom sections do not count) is already in the
// challenge is a conflict that names the submission it copies: it belongs
// to whoever submitted it first. A competitor who has used the challenge's
// daily cap gets a rate_limited error.
func (s *Store) CreateSubmission(ctx context.Context, ch arena.Challenge, competitorID int64, module []byte) (arena.Submission, error) {
	sum, code := sha256.Sum256(module), codeHash(module)
	sub := arena.Submission{ChallengeID: ch.ID, Challenge: ch.Slug, CompetitorID: competitorID,
		SHA256: hex.EncodeToString(sum[:]), Size: len(module), Status: arena.StatusQueued}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if ch.Rules.DailySubmissions > 0 {
			// One submission of a competitor's at a time, so two at once
			// cannot both take the last slot.
			if _, err := tx.Exec(ctx, `SELECT 1 FROM competitors WHERE id = $1 FOR UPDATE`, competitorID); err != nil {
				return fmt.Errorf("lock competitor: %w", err)
			}
			if err := submissionCap(ctx, tx, ch, competitorID); err != nil {
				return err
			}
		}
		first, err := firstWithCode(ctx, tx, ch.ID, code, sum)
		if err != nil {
			return err
		}
		if first != nil {
			return first.conflict(ch, competitorID)
		}
		return tx.QueryRow(ctx, `
			WITH ins AS (
				INSERT INTO submissions (challenge_id, competitor_id, sha256, code_sha256, module)
				VALUES ($1, $2, $3, $4, $5)
				RETURNING id::text, created_at, competitor_id)
			SELECT ins.id, ins.created_at, c.name FROM ins JOIN competitors c ON c.id = ins.competitor_id`,
			ch.ID, competitorID, sum[:], code[:], module,
		).Scan(&sub.ID, &sub.CreatedAt, &sub.Competitor)
	})
	if isUniqueViolation(err, "submissions_challenge_id_sha256_key") {
		// The lock above makes this unreachable; it is the schema's word.
		return sub, arena.Errorf(arena.ECONFLICT, "an identical module was already submitted to %s", ch.Slug)
	}
	if c := arena.ErrorCode(err); c == arena.ERATELIMITED || c == arena.ECONFLICT {
		return sub, err
	}
	if err != nil {
		return sub, fmt.Errorf("insert submission: %w", err)
	}
	return sub, nil
}

// SubmissionCap returns a rate_limited error, saying when the next slot
// frees, when the competitor has used the challenge's daily cap. The API
// asks before it spends a compilation on the module; CreateSubmission
// asks again under a lock.
func (s *Store) SubmissionCap(ctx context.Context, ch arena.Challenge, competitorID int64) error {
	return submissionCap(ctx, s.pool, ch, competitorID)
}

func submissionCap(ctx context.Context, q rowQuerier, ch arena.Challenge, competitorID int64) error {
	limit := ch.Rules.DailySubmissions
	if limit <= 0 {
		return nil
	}
	// The limit-th newest submission of the last 24 hours, if there is
	// one, is the cap reached; a slot frees when it turns a day old. An
	// evaluation the wall-clock safety net cut short, or that the host
	// could not run at all, is not charged: that failure may be the
	// machine's, not the competitor's.
	var at time.Time
	err := q.QueryRow(ctx, `
		SELECT created_at FROM submissions
		WHERE challenge_id = $1 AND competitor_id = $2 AND created_at > now() - interval '24 hours'
			AND NOT timed_out AND NOT host_failure
		ORDER BY created_at DESC OFFSET $3 LIMIT 1`, ch.ID, competitorID, limit-1).Scan(&at)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("count recent submissions: %w", err)
	}
	return arena.Errorf(arena.ERATELIMITED, "%s takes %d submissions per competitor in any 24 hours (its daily cap) and you have made them; your next is allowed from %s",
		ch.Slug, limit, at.Add(24*time.Hour).UTC().Format(time.RFC3339))
}

const submissionColumns = `s.id::text, ch.id, ch.slug, s.competitor_id, co.name, encode(s.sha256, 'hex'),
	octet_length(s.module), s.status, s.score, s.public_score, s.round, s.error, s.fuel_used, s.failed_tasks,
	s.attempts, s.timed_out, s.host_failure, s.disqualified_reason, s.created_at, s.finished_at,
	s.queued_at, s.requeues, s.requeue_reason, s.tasks_done, s.tasks_total, s.running_score`

const submissionJoins = `FROM submissions s
	JOIN challenges ch ON ch.id = s.challenge_id
	JOIN competitors co ON co.id = s.competitor_id`

// scanSubmission scans submissionColumns, then any extra columns into extra.
func scanSubmission(row pgx.Row, extra ...any) (arena.Submission, error) {
	var sub arena.Submission
	var status string
	var round, done, total *int
	var runningScore *float64
	err := row.Scan(append([]any{&sub.ID, &sub.ChallengeID, &sub.Challenge, &sub.CompetitorID, &sub.Competitor, &sub.SHA256,
		&sub.Size, &status, &sub.Score, &sub.PublicScore, &round, &sub.Error, &sub.FuelUsed, &sub.FailedTasks,
		&sub.Attempts, &sub.TimedOut, &sub.HostFailure, &sub.DisqualifiedReason, &sub.CreatedAt, &sub.FinishedAt,
		&sub.QueuedAt, &sub.Requeues, &sub.RequeueReason, &done, &total, &runningScore}, extra...)...)
	sub.Status = arena.Status(status)
	if round != nil {
		sub.Round = *round
	}
	if sub.Status == arena.StatusRunning && done != nil && total != nil {
		sub.Progress = &arena.Progress{TasksDone: *done, Tasks: *total, Score: runningScore}
	}
	return sub, err
}

// Summary returns a submission without its task results or module.
func (s *Store) Summary(ctx context.Context, id string) (arena.Submission, error) {
	if err := checkID(id); err != nil {
		return arena.Submission{}, err
	}
	sub, err := scanSubmission(s.pool.QueryRow(ctx, `SELECT `+submissionColumns+` `+submissionJoins+` WHERE s.id = $1`, id))
	if err != nil {
		return sub, notFound(err, "no submission %q", id)
	}
	return sub, nil
}

// Submission returns a submission with its per-task results.
func (s *Store) Submission(ctx context.Context, id string) (arena.Submission, error) {
	sub, err := s.Summary(ctx, id)
	if err != nil {
		return sub, err
	}
	rows, err := s.pool.Query(ctx, `
		SELECT workload, seed, hidden, loss, baseline_loss, score, fuel_used, error, log, training
		FROM task_results WHERE submission_id = $1 ORDER BY idx`, id)
	if err != nil {
		return sub, fmt.Errorf("load task results: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t arena.TaskResult
		var seed int64
		if err := rows.Scan(&t.Workload, &seed, &t.Hidden, &t.Loss, &t.BaselineLoss, &t.Score, &t.FuelUsed, &t.Error, &t.Log, &t.Training); err != nil {
			return sub, fmt.Errorf("load task results: %w", err)
		}
		t.Seed = uint64(seed)
		sub.Tasks = append(sub.Tasks, t)
	}
	return sub, rows.Err()
}

// Submissions lists a challenge's submissions, newest first; competitorID
// zero means everyone's.
func (s *Store) Submissions(ctx context.Context, challengeID, competitorID int64, limit int) ([]arena.Submission, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+submissionColumns+` `+submissionJoins+`
		WHERE s.challenge_id = $1 AND ($2 = 0 OR s.competitor_id = $2)
		ORDER BY s.created_at DESC LIMIT $3`, challengeID, competitorID, limit)
	if err != nil {
		return nil, fmt.Errorf("list submissions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (arena.Submission, error) { return scanSubmission(row) })
	if err != nil {
		return nil, fmt.Errorf("list submissions: %w", err)
	}
	return out, nil
}

// Job is what a worker needs to evaluate a submission.
type Job struct {
	Submission arena.Submission
	Challenge  arena.Challenge
	Module     []byte
}

// Job loads a submission with its challenge and module bytes.
func (s *Store) Job(ctx context.Context, id string) (Job, error) {
	var j Job
	sub, module, err := s.Module(ctx, id)
	if err != nil {
		return j, err
	}
	j.Submission, j.Module = sub, module
	ch, err := scanChallenge(s.pool.QueryRow(ctx, `SELECT `+challengeColumns+` FROM challenges WHERE id = $1`, sub.ChallengeID))
	if err != nil {
		return j, fmt.Errorf("load challenge: %w", err)
	}
	j.Challenge = ch
	return j, nil
}

// Start marks a submission running for delivery, a token unique to one
// delivery of its job, and counts the attempt. Starting again for the
// same delivery (a retry after the database did not answer, when the
// first try may have committed) counts nothing more. It returns false
// when the submission is already final, so a redelivered job is dropped.
func (s *Store) Start(ctx context.Context, id, delivery string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `
		UPDATE submissions SET status = 'running',
			attempts = attempts + CASE WHEN start_delivery IS DISTINCT FROM $2 THEN 1 ELSE 0 END,
			start_delivery = $2,
			started_at = now(), updated_at = now(), tasks_done = NULL, tasks_total = NULL, running_score = NULL
		WHERE id = $1 AND status IN ('queued', 'running')`, id, delivery)
	if err != nil {
		return false, fmt.Errorf("start submission: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// Progress records how far a running evaluation has got, for its page
// and its watchers. Tasks finish in parallel and report in any order:
// progress only moves forward.
func (s *Store) Progress(ctx context.Context, id string, p arena.Progress) error {
	_, err := s.pool.Exec(ctx, `
		UPDATE submissions SET tasks_done = $2, tasks_total = $3, running_score = $4, updated_at = now()
		WHERE id = $1 AND status = 'running' AND (tasks_done IS NULL OR tasks_done < $2)`, id, p.TasksDone, p.Tasks, p.Score)
	if err != nil {
		return fmt.Errorf("record progress: %w", err)
	}
	return nil
}

// Heartbeat records that a worker is still evaluating a submission.
func (s *Store) Heartbeat(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `UPDATE submissions SET updated_at = now() WHERE id = $1 AND status = 'running'`, id)
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	return nil
}

// Finish records an evaluation with its signed receipt (nil when there
// is none: the host could not evaluate at all) and, when it beats the
// better of the baseline and the champion by the challenge's margin,
// crowns it; all in one transaction. Finishing a submission that is
// already final changes nothing, so a redelivered job is harmless. It
// returns the new champion, or nil when the crown did not change.
func (s *Store) Finish(ctx context.Context, id string, ev arena.Evaluation, receipt *arena.SignedReceipt) (*arena.Champion, error) {
	var crowned *arena.Champion
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var challengeID int64
		err := tx.QueryRow(ctx, `
			UPDATE submissions SET status = $2, score = $3, public_score = $4, round = $5, error = $6,
				fuel_used = $7, failed_tasks = $8, benchmark_version = $9, timed_out = $10, host_failure = $11,
				finished_at = now(), updated_at = now(), tasks_done = NULL, tasks_total = NULL, running_score = NULL
			WHERE id = $1 AND status IN ('queued', 'running')
			RETURNING challenge_id`,
			id, string(ev.Status), ev.Score, ev.PublicScore, nullIfZero(ev.Round), ev.Error, ev.FuelUsed,
			ev.FailedTasks, ev.BenchmarkVersion, ev.TimedOut, ev.HostFailure,
		).Scan(&challengeID)
		if err == pgx.ErrNoRows {
			return nil // already final
		}
		if err != nil {
			return fmt.Errorf("record result: %w", err)
		}
		// A champion scored again for a new round replaces its tasks.
		batch := &pgx.Batch{}
		batch.Queue(`DELETE FROM task_results WHERE submission_id = $1`, id)
		for i, t := range ev.Tasks {
			batch.Queue(`
				INSERT INTO task_results (submission_id, idx, workload, seed, hidden, loss, baseline_loss, score, fuel_used, error, log, training)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
				id, i, t.Workload, int64(t.Seed), t.Hidden, t.Loss, t.BaselineLoss, t.Score, t.FuelUsed, t.Error, t.Log, t.Training)
		}
		if receipt != nil {
			batch.Queue(`INSERT INTO receipts (submission_id, round, body, signature, public_key) VALUES ($1, $2, $3, $4, $5)`,
				id, ev.Round, receipt.Body, receipt.Signature, receipt.PublicKey)
		}
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return fmt.Errorf("record task results: %w", err)
		}
		if ev.Status != arena.StatusScored || ev.Score == nil {
			// A champion that fails its new evaluation keeps the crown
			// at the baseline's bar, which what was scored meanwhile
			// may clear.
			crowned, err = failedRescore(ctx, tx, challengeID, id)
			return err
		}
		crowned, err = crown(ctx, tx, challengeID, id, *ev.Score)
		return err
	})
	return crowned, err
}

// crown makes the submission champion if its score clears the bar. The
// challenge row is locked so two results cannot both take the crown.
func crown(ctx context.Context, tx pgx.Tx, challengeID int64, id string, score float64) (*arena.Champion, error) {
	margin, champion, current, err := standing(ctx, tx, challengeID)
	if err != nil {
		return nil, err
	}
	// The bar is the champion's latest official score: after a new round
	// its score on that round's seeds, once it has one (a champion that
	// failed it has none, and the bar is the baseline's).
	bar := 0.0 // the baseline's score
	switch {
	case champion == id:
		// The champion, scored again (a new round, an upgraded
		// benchmark): what was scored meanwhile was measured against its
		// old score, and now meets the new one.
		return rechallenge(ctx, tx, challengeID, id, max(bar, score)+margin)
	case current != nil:
		bar = max(bar, *current)
	}
	if score <= bar+margin {
		return nil, nil
	}
	return crownWith(ctx, tx, challengeID, id, score)
}

// standing locks the challenge's row, which orders every change of its
// crown, and returns its margin and its standing champion ("" for none)
// with the champion's score (nil when it has none).
func standing(ctx context.Context, tx pgx.Tx, challengeID int64) (margin float64, champion string, score *float64, err error) {
	if err = tx.QueryRow(ctx, `SELECT (rules->>'margin')::float8 FROM challenges WHERE id = $1 FOR UPDATE`, challengeID).Scan(&margin); err != nil {
		return 0, "", nil, fmt.Errorf("lock challenge: %w", err)
	}
	err = tx.QueryRow(ctx, `
		SELECT cr.submission_id::text, s.score FROM standing_crownings cr JOIN submissions s ON s.id = cr.submission_id
		WHERE cr.challenge_id = $1 ORDER BY cr.id DESC LIMIT 1`, challengeID).Scan(&champion, &score)
	switch {
	case err == pgx.ErrNoRows:
		return margin, "", nil, nil
	case err != nil:
		return 0, "", nil, fmt.Errorf("load champion: %w", err)
	}
	return margin, champion, score, nil
}

// failedRescore is what a failed evaluation of id does to the crown: if
// id is the champion (scored again and failing it), it keeps the crown at
// the baseline's bar, which what was scored meanwhile may clear.
func failedRescore(ctx context.Context, tx pgx.Tx, challengeID int64, id string) (*arena.Champion, error) {
	// Most failures are not the champion's: they need no lock. Only id's
	// own result could crown id, so the answer cannot change meanwhile.
	var held bool
	if err := tx.QueryRow(ctx, `
		SELECT COALESCE((SELECT cr.submission_id = $2 FROM standing_crownings cr
			WHERE cr.challenge_id = $1 ORDER BY cr.id DESC LIMIT 1), false)`, challengeID, id).Scan(&held); err != nil {
		return nil, fmt.Errorf("load champion: %w", err)
	}
	if !held {
		return nil, nil
	}
	margin, champion, _, err := standing(ctx, tx, challengeID)
	if err != nil || champion != id {
		return nil, err
	}
	return rechallenge(ctx, tx, challengeID, id, margin)
}

// rechallenge is what happens when champion has just been scored again:
// every submission scored since it went back in the queue was measured
// against its old score (or the old rules), so the best of them takes the
// crown if its score is above threshold (the champion's new score, or the
// baseline's, plus the margin). It returns the new champion, or nil when
// the crown stays.
func rechallenge(ctx context.Context, tx pgx.Tx, challengeID int64, champion string, threshold float64) (*arena.Champion, error) {
	var best string
	var score float64
	err := tx.QueryRow(ctx, `
		SELECT s.id::text, s.score FROM submissions s
		WHERE s.challenge_id = $1 AND s.id <> $2 AND s.status = 'scored' AND s.score IS NOT NULL
			AND s.finished_at >= (SELECT queued_at FROM submissions WHERE id = $2)
		ORDER BY s.score DESC, s.finished_at, s.id LIMIT 1`, challengeID, champion).Scan(&best, &score)
	switch {
	case err == pgx.ErrNoRows:
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("find a challenger: %w", err)
	case score <= threshold:
		return nil, nil
	}
	return crownWith(ctx, tx, challengeID, best, score)
}

// crownWith records id's crowning at score and returns the new champion.
func crownWith(ctx context.Context, tx pgx.Tx, challengeID int64, id string, score float64) (*arena.Champion, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO crownings (challenge_id, submission_id, score) VALUES ($1, $2, $3)`, challengeID, id, score); err != nil {
		return nil, fmt.Errorf("crown: %w", err)
	}
	ch, err := championQuery(ctx, tx, challengeID)
	if err != nil {
		return nil, err
	}
	return &ch, nil
}

// Receipt returns the signed receipt of a submission's evaluation in the
// given round, or of its latest one when round is 0.
func (s *Store) Receipt(ctx context.Context, id string, round int) (arena.SignedReceipt, error) {
	var r arena.SignedReceipt
	if err := checkID(id); err != nil {
		return r, err
	}
	var body []byte
	err := s.pool.QueryRow(ctx, `
		SELECT body, signature, public_key FROM receipts
		WHERE submission_id = $1 AND ($2 = 0 OR round = $2)
		ORDER BY round DESC, id DESC LIMIT 1`, id, round).Scan(&body, &r.Signature, &r.PublicKey)
	switch {
	case errors.Is(err, pgx.ErrNoRows) && round != 0:
		return r, arena.Errorf(arena.ENOTFOUND, "submission %s has no receipt for round %d", id, round)
	case errors.Is(err, pgx.ErrNoRows):
		return r, arena.Errorf(arena.ENOTFOUND, "submission %s has no receipt (yet): it has not been evaluated", id)
	case err != nil:
		return r, fmt.Errorf("load receipt: %w", err)
	}
	r.Body = body
	return r, nil
}

// Rescore puts a finished submission back in the queue, to be evaluated
// again on the challenge's current round (after a fix to a benchmark, or
// an evaluation the host botched); the caller publishes its job. It keeps
// its last score, and its place, until the new one replaces them.
func (s *Store) Rescore(ctx context.Context, id string) (arena.Submission, error) {
	if err := checkID(id); err != nil {
		return arena.Submission{}, err
	}
	tag, err := s.pool.Exec(ctx, `
		UPDATE submissions SET status = 'queued', updated_at = now(), `+requeue+`
		WHERE id = $1 AND status IN ('scored', 'failed', 'rejected')`, id, ReasonRescored)
	if err != nil {
		return arena.Submission{}, fmt.Errorf("rescore: %w", err)
	}
	sub, err := s.Summary(ctx, id)
	if err != nil {
		return sub, err
	}
	if tag.RowsAffected() == 0 {
		return sub, arena.Errorf(arena.ECONFLICT, "submission %s is %s: only a scored, failed or rejected submission can be scored again", id, sub.Status)
	}
	return sub, nil
}

// Disqualify takes a submission out of the tournament for reason: it
// leaves the leaderboard and, if it held the crown, the crown returns to
// the latest champion before it that still stands (or none). It returns
// the challenge's champion afterwards when the crown changed hands, with
// only Challenge set when the crown is left vacant; nil otherwise.
func (s *Store) Disqualify(ctx context.Context, id, reason string) (*arena.Champion, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	if reason == "" || len(reason) > 2000 {
		return nil, arena.Errorf(arena.EINVALID, "reason: say why, in 1 to 2000 bytes")
	}
	var changed *arena.Champion
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var challengeID int64
		var slug, status string
		// The challenge row's lock orders this against crownings.
		err := tx.QueryRow(ctx, `
			SELECT ch.id, ch.slug, s.status FROM submissions s JOIN challenges ch ON ch.id = s.challenge_id
			WHERE s.id = $1 FOR UPDATE OF ch, s`, id).Scan(&challengeID, &slug, &status)
		if err != nil {
			return notFound(err, "no submission %q", id)
		}
		if status == string(arena.StatusDisqualified) {
			return arena.Errorf(arena.ECONFLICT, "submission %s is already disqualified", id)
		}
		before, err := championQuery(ctx, tx, challengeID)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("load champion: %w", err)
		}
		if _, err := tx.Exec(ctx, `
			UPDATE submissions SET status = 'disqualified', disqualified_reason = $2, updated_at = now()
			WHERE id = $1`, id, reason); err != nil {
			return fmt.Errorf("disqualify: %w", err)
		}
		if before.SubmissionID != id {
			return nil // the crown stays where it is
		}
		after, err := championQuery(ctx, tx, challengeID)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			changed = &arena.Champion{Challenge: slug}
		case err != nil:
			return fmt.Errorf("load champion: %w", err)
		default:
			changed = &after
		}
		return nil
	})
	return changed, err
}

// Why a submission went back into the queue, as requeue_reason says.
const (
	ReasonRescored  = "an admin asked for it to be scored again"
	ReasonNewRound  = "the champion is scored again on the new round's hidden seeds"
	ReasonHeartbeat = "its worker stopped reporting during the evaluation, which starts again"
)

// requeue is the SET clause that puts a submission at the back of the
// queue, with the reason in parameter $2.
const requeue = `queued_at = now(), requeues = requeues + 1, requeue_reason = $2`

// Stale returns submissions whose job may have been lost: queued rows not
// touched for queuedAfter, and running rows whose worker has not sent a
// heartbeat for runningAfter (those go back to queued, at the back, saying
// why). It touches them so the next sweep does not return them again at
// once.
func (s *Store) Stale(ctx context.Context, queuedAfter, runningAfter time.Duration, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `
		UPDATE submissions SET status = 'queued', updated_at = now(),
			queued_at = CASE WHEN status = 'running' THEN now() ELSE queued_at END,
			requeues = requeues + (status = 'running')::int,
			requeue_reason = CASE WHEN status = 'running' THEN $4 ELSE requeue_reason END
		WHERE id IN (
			SELECT id FROM submissions
			WHERE (status = 'queued' AND updated_at < now() - make_interval(secs => $1))
			   OR (status = 'running' AND updated_at < now() - make_interval(secs => $2))
			ORDER BY updated_at LIMIT $3
			FOR UPDATE SKIP LOCKED)
		RETURNING id::text`, queuedAfter.Seconds(), runningAfter.Seconds(), limit, ReasonHeartbeat)
	if err != nil {
		return nil, fmt.Errorf("find stale submissions: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// nullIfZero stores an unset number as NULL.
func nullIfZero(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}

// PendingCounts counts the queued and running submissions.
func (s *Store) PendingCounts(ctx context.Context) (queued, running int, err error) {
	queued, running, _, err = s.pendingCounts(ctx)
	return queued, running, err
}

func (s *Store) pendingCounts(ctx context.Context) (queued, running int, oldestQueued *time.Time, err error) {
	err = s.pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE status = 'queued'), count(*) FILTER (WHERE status = 'running'),
			min(created_at) FILTER (WHERE status = 'queued')
		FROM submissions WHERE status IN ('queued', 'running')`).Scan(&queued, &running, &oldestQueued)
	if err != nil {
		err = fmt.Errorf("count pending submissions: %w", err)
	}
	return queued, running, oldestQueued, err
}

// Pending is the database's view of the queue: counts of queued and
// running submissions and the oldest hundred of them.
func (s *Store) Pending(ctx context.Context) (arena.QueueState, error) {
	var q arena.QueueState
	var err error
	if q.Queued, q.Running, q.OldestQueuedAt, err = s.pendingCounts(ctx); err != nil {
		return q, err
	}
	// Running first, then the queue in its order, numbered as
	// QueuePlace numbers it.
	rows, err := s.pool.Query(ctx, `
		SELECT s.id::text, ch.slug, co.name, s.status, s.attempts, s.created_at, s.updated_at,
			CASE WHEN s.status = 'queued' THEN row_number() OVER (PARTITION BY s.status ORDER BY s.queued_at, s.id) ELSE 0 END,
			s.requeue_reason
		`+submissionJoins+`
		WHERE s.status IN ('queued', 'running')
		ORDER BY s.status = 'queued', s.queued_at, s.id LIMIT 100`)
	if err != nil {
		return q, fmt.Errorf("list pending submissions: %w", err)
	}
	q.Jobs, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (arena.PendingJob, error) {
		var j arena.PendingJob
		var status string
		err := row.Scan(&j.SubmissionID, &j.Challenge, &j.Competitor, &status, &j.Attempts, &j.CreatedAt, &j.UpdatedAt, &j.Position, &j.RequeueReason)
		j.Status = arena.Status(status)
		return j, err
	})
	if err != nil {
		return q, fmt.Errorf("list pending submissions: %w", err)
	}
	return q, nil
}

// Module returns a submission with its module's bytes.
func (s *Store) Module(ctx context.Context, id string) (arena.Submission, []byte, error) {
	if err := checkID(id); err != nil {
		return arena.Submission{}, nil, err
	}
	var module []byte
	sub, err := scanSubmission(s.pool.QueryRow(ctx, `SELECT `+submissionColumns+`, s.module `+submissionJoins+` WHERE s.id = $1`, id), &module)
	if err != nil {
		return sub, nil, notFound(err, "no submission %q", id)
	}
	return sub, module, nil
}
