package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/client"
)

// clientFlags adds --url and --key, defaulting to ARENA_URL and ARENA_KEY.
func (c *cli) clientFlags(name string) (*flag.FlagSet, *string, *string) {
	fs := c.flags(name)
	url := fs.String("url", c.env.or("ARENA_URL", "http://localhost:8080"), "Arena server (ARENA_URL)")
	key := fs.String("key", c.env("ARENA_KEY"), "API key (ARENA_KEY)")
	return fs, url, key
}

func (c *cli) register(ctx context.Context, args []string) error {
	fs, url, key := c.clientFlags("register")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return misusef("usage: arena register NAME")
	}
	reg, err := client.New(*url, *key).Register(ctx, rest[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "Registered %s. Your API key (shown once; export it as ARENA_KEY):\n", reg.Name)
	fmt.Fprintln(c.stdout, reg.APIKey)
	return nil
}

func (c *cli) submit(ctx context.Context, args []string) error {
	fs, url, key := c.clientFlags("submit")
	slug := fs.String("challenge", "", "challenge slug")
	wait := fs.Bool("wait", false, "wait until the submission is scored, failed or rejected")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *slug == "" || len(rest) != 1 {
		return misusef("usage: arena submit --challenge SLUG FILE [--wait]")
	}
	if *key == "" {
		return misusef("submitting needs your API key: set ARENA_KEY or pass --key")
	}
	module, err := os.ReadFile(rest[0])
	if err != nil {
		return misusef("read module: %v", err)
	}
	cl := client.New(*url, *key)
	sub, err := cl.Submit(ctx, *slug, module)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "submission %s %s\n", sub.ID, sub.Status)
	if !*wait {
		return nil
	}
	bar := newProgressBar(c.stderr)
	sub, err = cl.Follow(ctx, sub.ID, 500*time.Millisecond, bar.show)
	bar.done()
	if err != nil {
		return err
	}
	c.printSubmission(sub)
	if sub.Status != arena.StatusScored {
		return fmt.Errorf("submission %s: %s", sub.Status, sub.Error)
	}
	return nil
}

const keysUsage = "usage: arena keys list | arena keys create --role admin|competitor --name NAME | arena keys revoke ID | arena keys rotate"

// keys manages API keys: list, create and revoke (admin), and rotate the
// caller's own.
func (c *cli) keys(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return misusef(keysUsage)
	}
	fs, url, key := c.clientFlags("keys " + args[0])
	role := fs.String("role", "", "with create: admin or competitor")
	name := fs.String("name", "", "with create: an admin key's label, or the competitor")
	rest, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	cl := client.New(*url, *key)
	switch {
	case args[0] == "list" && len(rest) == 0:
		keys, err := cl.Keys(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "id\trole\tname\tissued\trevoked")
		for _, k := range keys {
			revoked := "-"
			if k.RevokedAt != nil {
				revoked = minute(*k.RevokedAt)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", k.ID, k.Role, k.Name, minute(k.CreatedAt), revoked)
		}
		return tw.Flush()
	case args[0] == "create" && len(rest) == 0 && *role != "" && *name != "":
		k, err := cl.CreateKey(ctx, arena.Role(*role), *name)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, k.APIKey)
		return nil
	case args[0] == "revoke" && len(rest) == 1:
		id, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil {
			return misusef("key ID %q is not a number (arena keys list shows them)", rest[0])
		}
		if err := cl.RevokeKey(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "key %d revoked\n", id)
		return nil
	case args[0] == "rotate" && len(rest) == 0:
		k, err := cl.RotateKey(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "Your old key no longer works. Your new key (shown once; export it as ARENA_KEY):\n")
		fmt.Fprintln(c.stdout, k.APIKey)
		return nil
	}
	return misusef(keysUsage)
}

// queue shows the work waiting and under way (admin).
func (c *cli) queue(ctx context.Context, args []string) error {
	fs, url, key := c.clientFlags("queue")
	asJSON := fs.Bool("json", false, "print the queue as JSON")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return misusef("usage: arena queue [--json]")
	}
	q, err := client.New(*url, *key).Queue(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(c, q)
	}
	fmt.Fprintf(c.stdout, "database  %d queued, %d running", q.Queued, q.Running)
	if q.OldestQueuedAt != nil {
		fmt.Fprintf(c.stdout, "; the oldest queued for %s", time.Since(*q.OldestQueuedAt).Round(time.Second))
	}
	fmt.Fprintf(c.stdout, "\nstream    %d undelivered, %d in flight (%d redelivered), %d workers waiting\n",
		q.Stream.Undelivered, q.Stream.InFlight, q.Stream.Redelivered, q.Stream.Waiting)
	if len(q.Jobs) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nsubmission\tchallenge\tcompetitor\tstatus\tattempts\tsubmitted\tlast update")
	for _, j := range q.Jobs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s ago\t%s ago\n", j.SubmissionID, j.Challenge, j.Competitor, j.Status, j.Attempts,
			time.Since(j.CreatedAt).Round(time.Second), time.Since(j.UpdatedAt).Round(time.Second))
	}
	return tw.Flush()
}

// download writes a submission's module to a file: your own, or anyone's
// once the challenge reveals code.
func (c *cli) download(ctx context.Context, args []string) error {
	fs, url, key := c.clientFlags("download")
	out := fs.String("o", "", "where to write the module")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 || *out == "" {
		return misusef("usage: arena download ID -o FILE")
	}
	sub, module, err := client.New(*url, *key).SubmissionModule(ctx, rest[0])
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, module, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "wrote %s (%d bytes): %s's submission %s to %s, sha256 %s\n", *out, len(module), sub.Competitor, sub.ID, sub.Challenge, sub.SHA256)
	return nil
}

// rescore queues a submission to be scored again (admin).
func (c *cli) rescore(ctx context.Context, args []string) error {
	fs, url, key := c.clientFlags("rescore")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return misusef("usage: arena rescore ID")
	}
	sub, err := client.New(*url, *key).Rescore(ctx, rest[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "submission %s is %s, to be scored again on %s's current round\n", sub.ID, sub.Status, sub.Challenge)
	return nil
}

// disqualify takes a submission out of the tournament (admin).
func (c *cli) disqualify(ctx context.Context, args []string) error {
	fs, url, key := c.clientFlags("disqualify")
	reason := fs.String("reason", "", "why (required; the competitor and everyone else see it)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 || *reason == "" {
		return misusef("usage: arena disqualify ID --reason TEXT")
	}
	d, err := client.New(*url, *key).Disqualify(ctx, rest[0], *reason)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "submission %s of %s to %s is disqualified: %s\n", d.Submission.ID, d.Submission.Competitor, d.Submission.Challenge, d.Submission.DisqualifiedReason)
	switch {
	case !d.CrownChanged:
	case d.Champion == nil:
		fmt.Fprintf(c.stdout, "it held the crown, which is now vacant\n")
	default:
		fmt.Fprintf(c.stdout, "it held the crown, which returns to %s's submission %s (score %.6f)\n", d.Champion.Competitor, d.Champion.SubmissionID, d.Champion.Score)
	}
	return nil
}

func (c *cli) status(ctx context.Context, args []string) error {
	fs, url, key := c.clientFlags("status")
	asJSON := fs.Bool("json", false, "print the submission as JSON")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return misusef("usage: arena status ID")
	}
	sub, err := client.New(*url, *key).Submission(ctx, rest[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(c, sub)
	}
	c.printSubmission(sub)
	return nil
}

func (c *cli) printSubmission(s arena.Submission) {
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "id\t%s\n", s.ID)
	fmt.Fprintf(tw, "challenge\t%s\n", s.Challenge)
	fmt.Fprintf(tw, "competitor\t%s\n", s.Competitor)
	fmt.Fprintf(tw, "status\t%s\n", s.Status)
	if s.Score != nil {
		fmt.Fprintf(tw, "score\t%.6f\n", *s.Score)
	}
	if s.PublicScore != nil {
		fmt.Fprintf(tw, "public score\t%.6f  (on the public seeds, as arena eval computes it)\n", *s.PublicScore)
	}
	if s.Round != 0 {
		fmt.Fprintf(tw, "round\t%d\n", s.Round)
	}
	if s.Error != "" {
		fmt.Fprintf(tw, "reason\t%s\n", s.Error)
	}
	if s.FuelUsed != nil {
		fmt.Fprintf(tw, "fuel\t%d\n", *s.FuelUsed)
	}
	fmt.Fprintf(tw, "sha256\t%s\n", s.SHA256)
	tw.Flush()
	printTasks(c, s.Tasks)
}

// printTasks writes the per-task table. A time-to-target task (the LM)
// shows its steps to the target beside the baseline's, and the speedup
// that is its score's exponent; a control shows its final loss beside the
// baseline's; an activation_compression task trained through a pipeline
// cut shows its compression ratio and its excess loss over the
// uncompressed run's.
func printTasks(c *cli, tasks []arena.TaskResult) {
	if len(tasks) == 0 {
		return
	}
	if slices.ContainsFunc(tasks, func(t arena.TaskResult) bool { return t.Training != nil && t.Training.RawBytes > 0 }) {
		printCutTasks(c, tasks)
		return
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nworkload\tseed\tloss\tbaseline\tsteps to target\tbaseline steps\tspeedup\tscore\tfuel\terror")
	for _, t := range tasks {
		loss := "—"
		if t.Loss != nil {
			loss = fmt.Sprintf("%.6g", *t.Loss)
		}
		fuel := "—"
		if t.FuelUsed != nil {
			fuel = fmt.Sprint(*t.FuelUsed)
		}
		seed := fmt.Sprint(t.Seed)
		if t.Hidden && t.Seed == 0 {
			seed = "hidden"
		} else if t.Hidden {
			seed += " (hidden)"
		}
		steps, baseSteps, speedup := "—", "—", "—"
		if tr := t.Training; tr != nil {
			baseSteps = fmt.Sprintf("%.1f", tr.BaselineStepsToTarget)
			switch {
			case tr.StepsToTarget != nil:
				steps = fmt.Sprintf("%.1f", *tr.StepsToTarget)
			case tr.EstimatedSteps != nil:
				steps = fmt.Sprintf("never (~%.0f)", *tr.EstimatedSteps)
			default:
				steps = "never"
			}
			if t.Error == "" {
				speedup = fmt.Sprintf("%.3f×", math.Exp(t.Score))
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.6g\t%s\t%s\t%s\t%.4f\t%s\t%s\n", t.Workload, seed, loss, t.BaselineLoss, steps, baseSteps, speedup, t.Score, fuel, t.Error)
	}
	tw.Flush()
}

// printCutTasks is printTasks for tasks trained through a pipeline cut.
func printCutTasks(c *cli, tasks []arena.TaskResult) {
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nworkload\tseed\tloss\tuncompressed\texcess loss\tratio\tscore\tfuel\terror")
	for _, t := range tasks {
		loss, excess, ratio, fuel := "—", "—", "—", "—"
		if t.Loss != nil {
			loss = fmt.Sprintf("%.6g", *t.Loss)
			excess = fmt.Sprintf("%+.2f%%", 100*(*t.Loss-t.BaselineLoss)/t.BaselineLoss)
		}
		if tr := t.Training; tr != nil && tr.SentBytes > 0 {
			ratio = fmt.Sprintf("%.3f×", float64(tr.RawBytes)/float64(tr.SentBytes))
		}
		if t.FuelUsed != nil {
			fuel = fmt.Sprint(*t.FuelUsed)
		}
		seed := fmt.Sprint(t.Seed)
		if t.Hidden && t.Seed == 0 {
			seed = "hidden"
		} else if t.Hidden {
			seed += " (hidden)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.6g\t%s\t%s\t%.4f\t%s\t%s\n", t.Workload, seed, loss, t.BaselineLoss, excess, ratio, t.Score, fuel, t.Error)
	}
	tw.Flush()
}

func printJSON(c *cli, v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// submissions lists a challenge's recent submissions (--mine: yours).
func (c *cli) submissions(ctx context.Context, args []string) error {
	fs, url, key := c.clientFlags("submissions")
	mine := fs.Bool("mine", false, "only yours (needs your key)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return misusef("usage: arena submissions SLUG [--mine]")
	}
	subs, err := client.New(*url, *key).Submissions(ctx, rest[0], *mine)
	if err != nil {
		return err
	}
	if len(subs) == 0 {
		fmt.Fprintln(c.stdout, "no submissions yet")
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "submission\tcompetitor\tstatus\tscore\tround\tsubmitted")
	for _, s := range subs {
		score := "-"
		if s.Score != nil {
			score = fmt.Sprintf("%.6f", *s.Score)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", s.ID, s.Competitor, s.Status, score, s.Round, minute(s.CreatedAt))
	}
	return tw.Flush()
}

func (c *cli) leaderboard(ctx context.Context, args []string) error {
	fs, url, key := c.clientFlags("leaderboard")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return misusef("usage: arena leaderboard SLUG")
	}
	entries, err := client.New(*url, *key).Leaderboard(ctx, rest[0])
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		fmt.Fprintln(c.stdout, "no scored submissions yet")
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "rank\tcompetitor\tscore\tsubmission")
	for _, e := range entries {
		fmt.Fprintf(tw, "%d\t%s\t%.6f\t%s\n", e.Rank, e.Competitor, e.Score, e.SubmissionID)
	}
	return tw.Flush()
}

func (c *cli) champion(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "pull" && args[0] != "show") {
		return misusef("usage: arena champion pull SLUG -o FILE | arena champion show SLUG")
	}
	fs, url, key := c.clientFlags("champion " + args[0])
	out := fs.String("o", "", "where to write the module (pull)")
	pinned := fs.String("public-key", c.env("ARENA_RECEIPT_KEY"), "the server's receipt key to trust, base64 (ARENA_RECEIPT_KEY); default: ask the server")
	rest, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(rest) != 1 || (args[0] == "pull" && *out == "") {
		return misusef("usage: arena champion pull SLUG -o FILE | arena champion show SLUG")
	}
	cl := client.New(*url, *key)
	if args[0] == "show" {
		champ, err := cl.Champion(ctx, rest[0])
		if err != nil {
			return err
		}
		return printJSON(c, champ)
	}
	champ, module, err := cl.ChampionModule(ctx, rest[0])
	if err != nil {
		return err
	}
	// The module is only as good as the evaluation behind it: check the
	// server's signed receipt names these bytes before using them.
	r, publicKey, keySource, err := verifiedReceipt(ctx, cl, champ.SubmissionID, 0, *pinned)
	if err != nil {
		return fmt.Errorf("the champion's receipt: %w", err)
	}
	if r.ModuleSHA256 != champ.SHA256 {
		return fmt.Errorf("the champion's receipt is for module %s, not the %s served", r.ModuleSHA256, champ.SHA256)
	}
	if err := os.WriteFile(*out, module, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "wrote %s (%d bytes): %s's submission %s, score %.6f, sha256 %s\n",
		*out, len(module), champ.Competitor, champ.SubmissionID, champ.Score, champ.SHA256)
	fmt.Fprintf(c.stdout, "receipt: signed by %s (%s), round %d, %s v%d, meter v%d; arena receipt %s --module %s recomputes it\n",
		publicKey, keySource, r.Round, r.Kind, r.BenchmarkVersion, r.MeterVersion, champ.SubmissionID, *out)
	return nil
}

const challengeUsage = "usage: arena challenge create --file SPEC.json | arena challenge update SLUG --file CHANGES.json"

func (c *cli) challenge(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "update") {
		return misusef(challengeUsage)
	}
	fs, url, key := c.clientFlags("challenge " + args[0])
	file := fs.String("file", "", "create: {\"slug\",\"title\",\"kind\",\"params\",\"limits\",\"rules\"}; update: {\"title\",\"description\",\"rules\"}, rules partial")
	rest, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if *file == "" || len(rest) != map[string]int{"create": 0, "update": 1}[args[0]] {
		return misusef(challengeUsage)
	}
	data, err := os.ReadFile(*file)
	if err != nil {
		return misusef("read %s: %v", *file, err)
	}
	if args[0] == "update" {
		if !json.Valid(data) {
			return misusef("%s is not JSON", *file)
		}
		ch, err := client.New(*url, *key).UpdateChallenge(ctx, rest[0], data)
		if err != nil {
			return err
		}
		return printJSON(c, ch)
	}
	var spec arena.ChallengeSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		return misusef("%s is not a challenge definition: %v", *file, err)
	}
	ch, err := client.New(*url, *key).CreateChallenge(ctx, spec)
	if err != nil {
		return err
	}
	return printJSON(c, ch)
}
