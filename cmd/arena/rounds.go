package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/client"
	"github.com/arena-dev/arena/scoring"
)

const roundsUsage = "usage: arena rounds list SLUG | arena rounds open SLUG"

// rounds lists a challenge's rounds, checking every revealed one against
// its commitment, or (admin) opens the next round.
func (c *cli) rounds(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "open") {
		return misusef(roundsUsage)
	}
	fs, url, key := c.clientFlags("rounds " + args[0])
	rest, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return misusef(roundsUsage)
	}
	cl := client.New(*url, *key)
	if args[0] == "open" {
		ch, err := cl.OpenRound(ctx, rest[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "closed round %d: %s\n", ch.Closed.Round, revealText(ch.Closed))
		fmt.Fprintf(c.stdout, "opened round %d: commitment %s\n", ch.Opened.Round, orNone(ch.Opened.Commitment))
		if ch.Rescoring != "" {
			fmt.Fprintf(c.stdout, "the champion, submission %s, is queued to be scored on round %d's seeds\n", ch.Rescoring, ch.Opened.Round)
		}
		return nil
	}
	rounds, err := cl.Rounds(ctx, rest[0])
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "round\topened\tclosed\tcommitment\tseeds")
	for _, r := range rounds {
		closed := "open"
		if r.ClosedAt != nil {
			closed = minute(*r.ClosedAt)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", r.Round, minute(r.OpenedAt), closed, orNone(r.Commitment), revealText(r))
	}
	return tw.Flush()
}

// revealText says what a round has revealed, checked here against its
// commitment rather than taken on the server's word.
func revealText(r arena.Round) string {
	switch {
	case r.HiddenSeeds == 0:
		return "none hidden (official scores use the public seeds)"
	case r.ClosedAt == nil:
		return "hidden until the round closes"
	}
	if err := verifyRound(r); err != nil {
		return "MISMATCH: " + err.Error()
	}
	seeds := make([]string, len(r.Seeds))
	for i, s := range r.Seeds {
		seeds[i] = fmt.Sprint(s)
	}
	return strings.Join(seeds, ",") + " (match the commitment)"
}

// verifyRound checks a closed round's revealed salt and seeds against the
// commitment published when it opened.
func verifyRound(r arena.Round) error {
	salt, err := hex.DecodeString(r.Salt)
	if err != nil || len(r.Seeds) != r.HiddenSeeds {
		return fmt.Errorf("round %d revealed a malformed salt or %d of its %d seeds", r.Round, len(r.Seeds), r.HiddenSeeds)
	}
	if got := scoring.SeedCommitment(salt, r.Seeds); got != r.Commitment {
		return fmt.Errorf("round %d's revealed seeds hash to %s, not to its commitment %s", r.Round, got, r.Commitment)
	}
	return nil
}

// minute is how tables show a time: UTC, to the minute.
func minute(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") }

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
