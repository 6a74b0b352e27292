// Command arena is Arena's one binary: the server, workers, migrations,
// admin tasks, the competitor CLI and local evaluation.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

const usage = `arena: tournaments for training-workflow algorithms

Server:
  arena serve    [--addr :8080] [--workers N] [--nats-listen HOST:PORT]   HTTP + web + NATS + workers
  arena worker   [--concurrency N] [--metrics-addr ADDR]                  a worker for an external NATS
  arena migrate up                                                        apply database migrations
  arena admin create-key --role admin|competitor --name NAME              print a new API key

Competitors and trainers (ARENA_URL, ARENA_KEY; flags override):
  arena register NAME                              register and print your API key
  arena keys rotate                                replace your own key; the old one stops working
  arena submit --challenge SLUG FILE [--wait]      submit a module; --wait follows it to its result
  arena status ID                                  show a submission
  arena submissions SLUG [--mine]                  a challenge's recent submissions (--mine: yours)
  arena leaderboard SLUG                           show a challenge's ranking
  arena download ID -o FILE                        a submission's module: yours, or any once code is revealed
  arena champion pull SLUG -o FILE                 download the champion's module (its receipt checked)
  arena receipt ID [--round N] [--public-key KEY] [--module FILE]
                                                   check a submission's signed receipt; with the module,
                                                   recompute it (hidden tasks once the round is revealed)
  arena rounds list SLUG                           rounds, seed commitments, revealed seeds (checked)
  arena eval (--kind KIND [--params FILE] | --challenge SLUG) [--seed N | --seeds N,M | --round N] [--json] FILE
                                                   score a module locally, exactly as workers do;
                                                   --round N: on a closed round's revealed hidden seeds
  arena wasm inspect [--kind KIND] [--json] FILE   imports, exports, memory, tables, verdict
  arena wasm meter FILE -o OUT                     write the fuel-metered module

Admins (an admin key in ARENA_KEY or --key):
  arena challenge create --file SPEC.json          define a challenge
  arena challenge update SLUG --file CHANGES.json  change its title, description or rules
  arena rounds open SLUG                           close the round, reveal its seeds, open the next
  arena queue [--json]                             work waiting and under way, in the database and the stream
  arena rescore ID                                 score a submission again on the current round
  arena disqualify ID --reason TEXT                take a submission out; the crown returns to the last
                                                   champion before it still standing
  arena keys list | create --role R --name N | revoke ID
                                                   manage API keys

Database: ARENA_DATABASE_URL (default ` + defaultDatabaseURL + `)
NATS: ARENA_NATS_URL (unset: an embedded server, reachable only in-process)
`

const defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/arena?sslmode=disable"

// exit codes
const (
	exitOK     = 0
	exitFailed = 1
	exitMisuse = 2
)

// misuse is an error in how a command was called.
type misuse struct{ msg string }

func (m misuse) Error() string { return m.msg }

func misusef(format string, args ...any) error { return misuse{fmt.Sprintf(format, args...)} }

// env reads configuration; tests pass their own instead of os.Getenv.
type env func(string) string

func (e env) or(key, fallback string) string {
	if v := e(key); v != "" {
		return v
	}
	return fallback
}

func (e env) floatOr(key string, fallback float64) float64 {
	if v, err := strconv.ParseFloat(e(key), 64); err == nil {
		return v
	}
	return fallback
}

func (e env) intOr(key string, fallback int) int {
	if v, err := strconv.Atoi(e(key)); err == nil {
		return v
	}
	return fallback
}

// cli bundles the streams and environment a command runs with.
type cli struct {
	stdout, stderr io.Writer
	env            env
	logger         *slog.Logger
	// serverReady, when set, is told the HTTP address once serve listens.
	serverReady func(addr string)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &cli{stdout: os.Stdout, stderr: os.Stderr, env: os.Getenv}
	os.Exit(c.run(ctx, os.Args[1:]))
}

// run executes one command line and returns the exit code.
func (c *cli) run(ctx context.Context, args []string) int {
	stdout, stderr := c.stdout, c.stderr
	level := slog.LevelInfo
	if c.env("ARENA_LOG_LEVEL") == "debug" {
		level = slog.LevelDebug
	}
	c.logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	commands := map[string]func(context.Context, []string) error{
		"serve":       c.serve,
		"worker":      c.worker,
		"migrate":     c.migrate,
		"admin":       c.admin,
		"register":    c.register,
		"submit":      c.submit,
		"status":      c.status,
		"leaderboard": c.leaderboard,
		"submissions": c.submissions,
		"champion":    c.champion,
		"challenge":   c.challenge,
		"rounds":      c.rounds,
		"receipt":     c.receiptCmd,
		"rescore":     c.rescore,
		"queue":       c.queue,
		"keys":        c.keys,
		"download":    c.download,
		"disqualify":  c.disqualify,
		"wasm":        c.wasm,
	}
	if args[0] == "eval" {
		return c.eval(ctx, args[1:])
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "arena: unknown command %q\n\n%s", args[0], usage)
		return exitMisuse
	}
	err := cmd(ctx, args[1:])
	var m misuse
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &m):
		fmt.Fprintf(stderr, "arena %s: %s\n", args[0], m.msg)
		return exitMisuse
	default:
		fmt.Fprintf(stderr, "arena %s: %v\n", args[0], err)
		return exitFailed
	}
}

// flags makes a FlagSet that reports misuse instead of exiting.
func (c *cli) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("arena "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	return fs
}

// parse parses args, allowing flags after positional arguments
// ("arena submit FILE --wait"), and wraps errors as misuse.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, misuse{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}
