package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/arena-dev/arena/queue"
	"github.com/arena-dev/arena/scoring"
	"github.com/arena-dev/arena/store"
)

// UpgradeBenchmarks brings every challenge whose benchmark this code runs
// at a newer version than the challenge was scored under to this
// version (store.UpgradeBenchmark): its parameters normalized anew, and
// its scored and failed submissions queued to be scored again, the
// champion first. A server runs it at start, so that after an upgrade a
// leaderboard never ranks scores from two versions of the rules against
// each other. It returns how many submissions it queued. A challenge
// whose parameters this version refuses is left as it is, and logged.
func UpgradeBenchmarks(ctx context.Context, st *store.Store, q *queue.Queue, log *slog.Logger) (int, error) {
	challenges, err := st.Challenges(ctx)
	if err != nil {
		return 0, err
	}
	queued := 0
	for _, ch := range challenges {
		b, err := scoring.New(ch.Kind, ch.Params)
		if err != nil {
			log.Error("upgrade: this version refuses the challenge's parameters; it stays as it is", "challenge", ch.Slug, "benchmark_version", ch.BenchmarkVersion, "err", err)
			continue
		}
		switch {
		case b.Version() == ch.BenchmarkVersion:
			continue
		case b.Version() < ch.BenchmarkVersion:
			// An older server beside newer ones: leave it to them.
			log.Warn("upgrade: the challenge was scored under a newer version of its benchmark than this server runs", "challenge", ch.Slug, "benchmark_version", ch.BenchmarkVersion, "running", b.Version())
			continue
		}
		params, err := json.Marshal(b.Params())
		if err != nil {
			return queued, fmt.Errorf("challenge %s: encode params: %w", ch.Slug, err)
		}
		ids, err := st.UpgradeBenchmark(ctx, ch, b.Version(), params)
		if err != nil {
			return queued, fmt.Errorf("challenge %s: %w", ch.Slug, err)
		}
		log.Info("upgrade: the challenge's benchmark changed; its results are scored again", "challenge", ch.Slug, "kind", ch.Kind,
			"from", ch.BenchmarkVersion, "to", b.Version(), "requeued", len(ids))
		for _, id := range ids {
			if err := q.Publish(ctx, id); err != nil {
				// Committed as queued: the reconciler republishes it.
				log.Warn("upgrade: publish job; the reconciler will retry", "submission", id, "err", err)
			}
		}
		queued += len(ids)
	}
	return queued, nil
}
