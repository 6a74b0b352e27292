package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/queue"
	"github.com/arena-dev/arena/store"
)

// RoundScheduler opens new rounds on the challenges' schedules
// (rules.round_hours): the closed round's seeds are revealed and the
// champion is queued to be scored on the new ones. Any number may run: a
// round opens once whoever gets there first.
type RoundScheduler struct {
	Store    *store.Store
	Queue    *queue.Queue
	Logger   *slog.Logger
	Interval time.Duration
}

// Run ticks at once and then every Interval until ctx is done.
func (s *RoundScheduler) Run(ctx context.Context) { every(ctx, s.Interval, s.Tick) }

// Tick opens every round that is due.
func (s *RoundScheduler) Tick(ctx context.Context) {
	due, err := s.Store.DueRounds(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.Logger.Warn("rounds: find due rounds", "err", err)
		}
		return
	}
	for _, ch := range due {
		_, err := OpenRound(ctx, s.Store, s.Queue, s.Logger.With("by", "schedule"), ch)
		if arena.ErrorCode(err) == arena.ECONFLICT {
			// Another scheduler was first, or the champion is still being
			// scored on this round: the next tick tries again.
			s.Logger.Debug("rounds: not now", "challenge", ch.Slug, "reason", arena.ErrorMessage(err))
			continue
		}
		if err != nil {
			s.Logger.Warn("rounds: open the next round", "challenge", ch.Slug, "err", err)
		}
	}
}

// OpenRound opens ch's next round (see store.AdvanceRound) and publishes
// the champion's job when it is to be scored again. Admins, through the
// API, and the scheduler open rounds through it.
func OpenRound(ctx context.Context, st *store.Store, q *queue.Queue, log *slog.Logger, ch arena.Challenge) (arena.RoundChange, error) {
	change, err := st.AdvanceRound(ctx, ch)
	if err != nil {
		return change, err
	}
	if change.Rescoring != "" {
		if err := q.Publish(ctx, change.Rescoring); err != nil {
			// The champion is committed as queued: the reconciler republishes it.
			log.Warn("publish the champion's job; the reconciler will retry", "submission", change.Rescoring, "err", err)
		}
	}
	log.Info("round opened", "challenge", ch.Slug, "round", change.Opened.Round, "rescoring", change.Rescoring)
	return change, nil
}
