package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/client"
	"github.com/arena-dev/arena/meter"
	"github.com/arena-dev/arena/receipt"
	"github.com/arena-dev/arena/scoring"
)

const receiptUsage = "usage: arena receipt SUBMISSION [--round N] [--public-key KEY] [--module FILE] [--json]"

// errMismatch reports that a receipt did not hold up; what differed is
// already printed.
var errMismatch = errors.New("the receipt does not hold up: see above")

// receiptCmd fetches a submission's signed receipt, checks its signature
// and, given the module, recomputes every task it can: the public ones
// always, the hidden ones once the round has closed and revealed them.
func (c *cli) receiptCmd(ctx context.Context, args []string) error {
	fs, url, key := c.clientFlags("receipt")
	round := fs.Int("round", 0, "the receipt of the evaluation in this round (default: the latest)")
	pinned := fs.String("public-key", c.env("ARENA_RECEIPT_KEY"), "the server's receipt key to trust, base64 (ARENA_RECEIPT_KEY); default: ask the server")
	modulePath := fs.String("module", "", "the module: check its sha256 and recompute the evaluation locally")
	cacheDir := fs.String("cache-dir", c.env.or("ARENA_CACHE_DIR", defaultCacheDir()), "compiled-module cache (ARENA_CACHE_DIR); empty: memory only")
	asJSON := fs.Bool("json", false, "print the verified receipt as JSON")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 || *round < 0 {
		return misusef(receiptUsage)
	}
	var module []byte
	if *modulePath != "" {
		if module, err = os.ReadFile(*modulePath); err != nil {
			return misusef("read module: %v", err)
		}
	}
	cl := client.New(*url, *key)
	r, publicKey, keySource, err := verifiedReceipt(ctx, cl, rest[0], *round, *pinned)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := printJSON(c, r); err != nil {
			return err
		}
	} else {
		printReceipt(c, r, publicKey, keySource)
	}
	if module == nil {
		return nil
	}
	out := c.stdout
	if *asJSON {
		out = c.stderr // keep stdout JSON
	}
	sum := sha256.Sum256(module)
	if got := hex.EncodeToString(sum[:]); got != r.ModuleSHA256 {
		fmt.Fprintf(out, "module     MISMATCH: %s has sha256 %s, the receipt's module %s\n", *modulePath, got, r.ModuleSHA256)
		return errMismatch
	}
	fmt.Fprintf(out, "module     %s matches the receipt's sha256\n", *modulePath)
	report, err := c.recompute(ctx, cl, r, module, *cacheDir)
	if err != nil {
		return err
	}
	for _, line := range report.lines {
		fmt.Fprintln(out, line)
	}
	if report.mismatches > 0 {
		return errMismatch
	}
	return nil
}

// verifiedReceipt fetches a submission's receipt (of round, or its
// latest when 0) and checks it against the pinned key or, without one,
// the server's own word for its key; it says which.
func verifiedReceipt(ctx context.Context, cl *client.Client, id string, round int, pinned string) (r arena.Receipt, key, keySource string, err error) {
	signed, err := cl.Receipt(ctx, id, round)
	if err != nil {
		return r, "", "", err
	}
	key, keySource = pinned, "pinned"
	if pinned == "" {
		keySource = "fetched from the server; pin it with --public-key or ARENA_RECEIPT_KEY"
		if key, err = cl.ReceiptKey(ctx); err != nil {
			return r, "", "", err
		}
	}
	r, err = receipt.Verify(signed, key)
	return r, key, keySource, err
}

func printReceipt(c *cli, r arena.Receipt, key, keySource string) {
	fmt.Fprintf(c.stdout, "signature  valid, by key %s (%s)\n", key, keySource)
	fmt.Fprintf(c.stdout, "submission %s by %s to %s, module sha256 %s\n", r.SubmissionID, r.Competitor, r.Challenge, r.ModuleSHA256)
	fmt.Fprintf(c.stdout, "benchmark  %s v%d, meter v%d, round %d", r.Kind, r.BenchmarkVersion, r.MeterVersion, r.Round)
	if r.HiddenSeeds > 0 {
		fmt.Fprintf(c.stdout, ", %d hidden seeds committed to as %s", r.HiddenSeeds, r.SeedCommitment)
	}
	fmt.Fprintf(c.stdout, "\nresult     %s", r.Status)
	if r.Score != nil {
		fmt.Fprintf(c.stdout, ", score %.6f, public score %.6f", *r.Score, *r.PublicScore)
	}
	if r.FuelUsed != nil {
		fmt.Fprintf(c.stdout, ", fuel %d", *r.FuelUsed)
	}
	fmt.Fprintf(c.stdout, ", %d failed tasks, evaluated %s\n", r.FailedTasks, r.EvaluatedAt.Format("2006-01-02 15:04:05 UTC"))
	if r.Error != "" {
		fmt.Fprintf(c.stdout, "reason     %s\n", r.Error)
	}
}

type recomputation struct {
	lines      []string
	mismatches int
}

func (rc *recomputation) say(format string, args ...any) {
	rc.lines = append(rc.lines, fmt.Sprintf(format, args...))
}

func (rc *recomputation) mismatch(format string, args ...any) {
	rc.mismatches++
	rc.say("MISMATCH   "+format, args...)
}

// recompute runs the receipt's evaluation again with the workers' code and
// compares it with the receipt, task by task.
func (c *cli) recompute(ctx context.Context, cl *client.Client, r arena.Receipt, module []byte, cacheDir string) (recomputation, error) {
	var rc recomputation
	if r.MeterVersion != meter.Version {
		return rc, fmt.Errorf("this arena meters fuel with meter v%d, the receipt's evaluation used v%d: recompute with a matching arena", meter.Version, r.MeterVersion)
	}
	bench, err := scoring.New(r.Kind, r.Params)
	if err != nil {
		return rc, fmt.Errorf("the receipt's benchmark: %s", arena.ErrorMessage(err))
	}
	if bench.Version() != r.BenchmarkVersion {
		return rc, fmt.Errorf("this arena runs %s v%d, the receipt's evaluation v%d: recompute with a matching arena", r.Kind, bench.Version(), r.BenchmarkVersion)
	}
	var hidden []uint64
	var unrevealed error
	if r.HiddenSeeds > 0 {
		switch round, err := revealedRound(ctx, cl, r.Challenge, r.Round); {
		case err != nil:
			unrevealed = err
		case round.Commitment != r.SeedCommitment:
			rc.mismatch("round %d's revealed seeds are committed to as %s, the receipt says %s", r.Round, round.Commitment, r.SeedCommitment)
		default:
			hidden = round.Seeds
		}
	}
	eng := c.newEngine(1, cacheDir)
	defer eng.Close(context.Background())
	ev, err := scoring.Evaluate(ctx, eng, bench, r.Limits, module, hidden)
	if err != nil {
		return rc, err
	}

	var want, got [2][]arena.TaskResult // public, hidden
	for _, t := range r.Tasks {
		want[b2i(t.Hidden)] = append(want[b2i(t.Hidden)], t)
	}
	for _, t := range ev.Tasks {
		got[b2i(t.Hidden)] = append(got[b2i(t.Hidden)], t)
	}
	compare := func(which string, want, got []arena.TaskResult, seeds bool) {
		if len(want) != len(got) {
			rc.mismatch("%s tasks: the receipt has %d, the recomputation %d", which, len(want), len(got))
			return
		}
		same := 0
		for i := range want {
			if diff := taskDiff(want[i], got[i], seeds); diff != "" {
				rc.mismatch("%s task %d (%s): %s", which, i+1, want[i].Workload, diff)
				continue
			}
			same++
		}
		rc.say("%-10s %d of %d tasks recomputed bit for bit (loss, score, fuel)", which, same, len(want))
	}
	compare("public", want[0], got[0], true)
	if !sameFloat(r.PublicScore, ev.PublicScore) {
		rc.mismatch("public score: the receipt says %s, recomputed %s", fmtScore(r.PublicScore), fmtScore(ev.PublicScore))
	}
	if unrevealed != nil {
		rc.say("hidden     not recomputed: %v", unrevealed)
	}
	if r.HiddenSeeds == 0 || hidden != nil {
		if hidden != nil {
			compare("hidden", want[1], got[1], false)
		}
		if !sameFloat(r.Score, ev.Score) || r.Status != ev.Status {
			rc.mismatch("official result: the receipt says %s %s, recomputed %s %s", r.Status, fmtScore(r.Score), ev.Status, fmtScore(ev.Score))
		} else {
			rc.say("official   %s %s, recomputed exactly", r.Status, fmtScore(r.Score))
		}
	}
	if r.TimedOut {
		rc.say("note       the wall-clock safety net cut this evaluation short, which no recomputation reproduces")
	}
	return rc, nil
}

// taskDiff says how a recomputed task differs from the receipt's ("" when
// it does not); a hidden task's seed is not in the receipt.
func taskDiff(want, got arena.TaskResult, seeds bool) string {
	switch {
	case want.Workload != got.Workload || (seeds && want.Seed != got.Seed):
		return fmt.Sprintf("the receipt has %s seed %d, the recomputation %s seed %d", want.Workload, want.Seed, got.Workload, got.Seed)
	case !sameFloat(want.Loss, got.Loss) || want.BaselineLoss != got.BaselineLoss:
		return fmt.Sprintf("loss %s (baseline %v), recomputed %s (baseline %v)", fmtScore(want.Loss), want.BaselineLoss, fmtScore(got.Loss), got.BaselineLoss)
	case want.Score != got.Score:
		return fmt.Sprintf("score %v, recomputed %v", want.Score, got.Score)
	case !sameInt(want.FuelUsed, got.FuelUsed):
		return fmt.Sprintf("fuel %s, recomputed %s", fmtInt(want.FuelUsed), fmtInt(got.FuelUsed))
	case want.Error != got.Error:
		return fmt.Sprintf("error %q, recomputed %q", want.Error, got.Error)
	}
	return ""
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func sameFloat(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
func sameInt(a, b *int64) bool     { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func fmtScore(v *float64) string {
	if v == nil {
		return "none"
	}
	return fmt.Sprint(*v)
}

func fmtInt(v *int64) string {
	if v == nil {
		return "none"
	}
	return fmt.Sprint(*v)
}
