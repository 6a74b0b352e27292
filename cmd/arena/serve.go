package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/api"
	"github.com/arena-dev/arena/metrics"
	"github.com/arena-dev/arena/queue"
	"github.com/arena-dev/arena/receipt"
	"github.com/arena-dev/arena/sandbox"
	"github.com/arena-dev/arena/store"
	"github.com/arena-dev/arena/web"
	"github.com/arena-dev/arena/worker"
)

// config is everything serve and worker read from flags and ARENA_* variables.
type config struct {
	Addr        string
	DatabaseURL string
	NATSURL     string // empty: embedded server
	NATSListen  string // embedded server's listen address; empty: in-process only
	Workers     int
	Demo        bool
	CacheDir    string   // compiled and metered modules; empty keeps them in memory only
	CacheMemory byteSize // compiled modules kept in memory, estimated; 0: no bound
	CacheDisk   byteSize // the most CacheDir holds; 0: no bound
	MetricsAddr string   // a standalone worker's /metrics listener; empty: none
	RateLimits  api.RateLimits
	TrustProxy  bool
	DBTimeout   time.Duration // bounds each database call; 0: no bound
	BodyTimeout time.Duration // bounds the time a request body may take to arrive
	// SessionSecret MACs the pages' session cookies; empty: a secret kept
	// in the database, shared by every server on it.
	SessionSecret string
	QueuePoll     time.Duration // how often a queued submission's event stream rereads its place
	WarmEvery     time.Duration // how often workers look for baselines to compute ahead; 0: never
}

// warmFlag is the flag of workers' baseline warming (worker.Worker.WarmInterval).
func (c *cli) warmFlag(fs *flag.FlagSet, cfg *config) {
	fs.DurationVar(&cfg.WarmEvery, "warm-baselines", c.env.durationOr("ARENA_WARM_BASELINES", 15*time.Second),
		"how often workers compute the current tasks' baselines ahead of submissions, while idle (ARENA_WARM_BASELINES); 0: never")
}

func (c *cli) serverFlags(name string, cfg *config) *flag.FlagSet {
	fs := c.flags(name)
	fs.StringVar(&cfg.DatabaseURL, "database-url", c.env.or("ARENA_DATABASE_URL", defaultDatabaseURL), "Postgres URL (ARENA_DATABASE_URL)")
	fs.StringVar(&cfg.NATSURL, "nats-url", c.env("ARENA_NATS_URL"), "external NATS URL (ARENA_NATS_URL); empty runs an embedded server")
	fs.StringVar(&cfg.CacheDir, "cache-dir", c.env.or("ARENA_CACHE_DIR", defaultCacheDir()), "compiled-module cache (ARENA_CACHE_DIR); empty: memory only")
	cfg.CacheMemory = c.env.sizeOr("ARENA_CACHE_MEMORY", sandbox.DefaultMaxMemoryBytes)
	fs.Var(&cfg.CacheMemory, "cache-memory", "compiled modules kept in memory, by estimated size, least recently used evicted first (ARENA_CACHE_MEMORY); 0: no bound")
	cfg.CacheDisk = c.env.sizeOr("ARENA_CACHE_DISK", sandbox.DefaultMaxDiskBytes)
	fs.Var(&cfg.CacheDisk, "cache-disk", "the most the cache directory holds, least recently used pruned first (ARENA_CACHE_DISK); 0: no bound")
	fs.DurationVar(&cfg.DBTimeout, "db-timeout", c.env.durationOr("ARENA_DB_TIMEOUT", store.DefaultTimeout), "give up on a database call after this long, answering 503 (ARENA_DB_TIMEOUT); 0: wait for ever")
	return fs
}

func (e env) durationOr(key string, fallback time.Duration) time.Duration {
	if v, err := time.ParseDuration(e(key)); err == nil {
		return v
	}
	return fallback
}

// defaultCacheDir is ~/.cache/arena or the platform's equivalent.
func defaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "arena")
}

// newEngine opens the sandbox engine, with its disk cache when it can.
func (c *cli) newEngine(capacity int, cacheDir string) *sandbox.Engine {
	if cacheDir != "" {
		eng, err := sandbox.NewEngineWithDiskCache(capacity, cacheDir)
		if err == nil {
			return eng
		}
		c.logger.Warn("compiled-module cache unavailable; keeping modules in memory", "err", err)
	}
	return sandbox.NewEngine(capacity)
}

func (c *cli) serve(ctx context.Context, args []string) error {
	var cfg config
	fs := c.serverFlags("serve", &cfg)
	fs.StringVar(&cfg.Addr, "addr", c.env.or("ARENA_ADDR", ":8080"), "HTTP listen address (ARENA_ADDR)")
	fs.StringVar(&cfg.NATSListen, "nats-listen", c.env("ARENA_NATS_LISTEN"), "also expose the embedded NATS on HOST:PORT (ARENA_NATS_LISTEN)")
	fs.IntVar(&cfg.Workers, "workers", c.env.intOr("ARENA_WORKERS", 2), "in-process workers; 0 for none (ARENA_WORKERS)")
	c.warmFlag(fs, &cfg)
	fs.BoolVar(&cfg.Demo, "demo", c.env.or("ARENA_DEMO", "true") == "true", "seed a demo optimizer challenge when none exists (ARENA_DEMO)")
	limits := api.DefaultRateLimits()
	fs.Float64Var(&cfg.RateLimits.PerSecond, "rate-limit", c.env.floatOr("ARENA_RATE_LIMIT", limits.PerSecond), "API requests per second per key or address, bursts of twice that; 0 for no limit (ARENA_RATE_LIMIT)")
	fs.Float64Var(&cfg.RateLimits.RegistrationsPerHour, "registrations-per-hour", c.env.floatOr("ARENA_REGISTRATIONS_PER_HOUR", limits.RegistrationsPerHour), "competitor registrations per hour per address; 0 for no limit (ARENA_REGISTRATIONS_PER_HOUR)")
	fs.BoolVar(&cfg.TrustProxy, "trust-proxy", c.env("ARENA_TRUST_PROXY") == "true", "take client addresses from X-Forwarded-For / X-Real-IP (behind a reverse proxy only) (ARENA_TRUST_PROXY)")
	fs.StringVar(&cfg.SessionSecret, "session-secret", c.env("ARENA_SESSION_SECRET"), "at least 32 bytes that sign the pages' session cookies (ARENA_SESSION_SECRET); empty: a secret kept in the database")
	fs.DurationVar(&cfg.QueuePoll, "queue-poll", c.env.durationOr("ARENA_QUEUE_POLL", api.DefaultQueuePoll), "how often a queued submission's event stream rereads its queue place (ARENA_QUEUE_POLL)")
	fs.DurationVar(&cfg.BodyTimeout, "body-timeout", c.env.durationOr("ARENA_BODY_TIMEOUT", api.DefaultBodyTimeout), "a request body must arrive within this long, or the request gets 400 and its connection is closed (ARENA_BODY_TIMEOUT)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg.RateLimits.Burst = int(math.Ceil(2 * cfg.RateLimits.PerSecond))
	return c.runServer(ctx, cfg)
}

// deps are the shared parts serve and worker both build.
type deps struct {
	store   *store.Store
	queue   *queue.Queue
	engine  *sandbox.Engine
	signer  *receipt.Signer
	metrics *metrics.Metrics
	close   func()
}

func (c *cli) connect(ctx context.Context, cfg config) (*deps, error) {
	if err := store.Migrate(cfg.DatabaseURL); err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, store.WithTimeout(cfg.DBTimeout))
	if err != nil {
		return nil, err
	}
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	closers = append(closers, st.Close)
	// Every server and worker on this database signs with the same key.
	seed, err := st.Secret(ctx, store.SecretReceiptKey)
	if err != nil {
		closeAll()
		return nil, err
	}
	signer, err := receipt.NewSigner(seed)
	if err != nil {
		closeAll()
		return nil, err
	}

	var nc *nats.Conn
	if cfg.NATSURL == "" {
		emb, err := queue.StartEmbedded(cfg.NATSListen)
		if err != nil {
			closeAll()
			return nil, err
		}
		closers = append(closers, emb.Shutdown)
		if cfg.NATSListen != "" {
			c.logger.Info("embedded NATS listening", "url", emb.ClientURL())
		}
		nc, err = emb.Connect()
		if err != nil {
			closeAll()
			return nil, err
		}
	} else {
		nc, err = nats.Connect(cfg.NATSURL, nats.Name("arena"), nats.MaxReconnects(-1))
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("connect to NATS at %s: %w", cfg.NATSURL, err)
		}
	}
	closers = append(closers, func() { _ = nc.Drain() })
	qcfg := queue.DefaultConfig()
	qcfg.Logger = c.logger
	q, err := queue.New(ctx, nc, qcfg)
	if err != nil {
		closeAll()
		return nil, err
	}
	eng := c.serverEngine(cfg)
	closers = append(closers, func() { _ = eng.Close(context.Background()) })
	m := metrics.New(st.PendingCounts)
	m.WatchEngine(eng)
	return &deps{store: st, queue: q, engine: eng, signer: signer, metrics: m, close: closeAll}, nil
}

func (c *cli) runServer(ctx context.Context, cfg config) error {
	d, err := c.connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.close()
	if err := c.bootstrap(ctx, d.store, cfg.Demo); err != nil {
		return err
	}

	srv := &api.Server{Store: d.store, Queue: d.queue, Engine: d.engine, Signer: d.signer, Metrics: d.metrics,
		Limits: cfg.RateLimits, TrustProxy: cfg.TrustProxy, BodyTimeout: cfg.BodyTimeout, Logger: c.logger,
		Workers: cfg.Workers, QueuePoll: cfg.QueuePoll}
	secret := []byte(cfg.SessionSecret)
	if len(secret) == 0 {
		// Shared through the database, as the receipt key is: every
		// server behind one address accepts every other's sessions.
		if secret, err = d.store.Secret(ctx, store.SecretSessionKey); err != nil {
			return err
		}
	}
	pages, err := web.New(d.store, c.logger, web.Options{Actions: srv, SessionSecret: secret, Workers: cfg.Workers})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	// No write timeout: event streams stay open as long as their readers.
	// No read timeout either, for the same reason: the API bounds the time
	// a request body may take instead (--body-timeout), and only requests
	// with a body have one. Idle keep-alive connections are closed, so
	// they cannot pile up.
	httpSrv := &http.Server{Handler: srv.Router(pages), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	// After an upgrade that changed a benchmark, every challenge of it is
	// scored again under the new rules before anything else is.
	if n, err := worker.UpgradeBenchmarks(ctx, d.store, d.queue, c.logger); err != nil {
		c.logger.Warn("upgrade challenges to the running benchmarks; the next start tries again", "requeued", n, "err", err)
	}
	if cfg.Workers > 0 {
		w := &worker.Worker{Store: d.store, Queue: d.queue, Engine: d.engine, Signer: d.signer, Metrics: d.metrics, Logger: c.logger, Concurrency: cfg.Workers, WarmInterval: cfg.WarmEvery}
		wg.Add(1)
		go func() { defer wg.Done(); errs <- w.Run(ctx) }()
	}
	// Submissions stored before code hashes were recorded get theirs, so
	// copies of them are caught too (until then, only identical bytes are).
	wg.Add(1)
	go func() {
		defer wg.Done()
		if n, err := d.store.FillCodeHashes(ctx); err != nil && ctx.Err() == nil {
			c.logger.Warn("fill in code hashes; the next start tries again", "filled", n, "err", err)
		} else if n > 0 {
			c.logger.Info("filled in the code hashes of older submissions", "filled", n)
		}
	}()
	rec := &worker.Reconciler{Store: d.store, Queue: d.queue, Logger: c.logger,
		Interval: 30 * time.Second, QueuedAfter: time.Minute, RunningAfter: 2 * time.Minute}
	wg.Add(1)
	go func() { defer wg.Done(); rec.Run(ctx) }()
	rounds := &worker.RoundScheduler{Store: d.store, Queue: d.queue, Logger: c.logger, Interval: time.Minute}
	wg.Add(1)
	go func() { defer wg.Done(); rounds.Run(ctx) }()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- err
		}
	}()
	c.logger.Info("arena serving", "addr", ln.Addr().String(), "workers", cfg.Workers, "embedded_nats", cfg.NATSURL == "")
	if c.serverReady != nil {
		c.serverReady(ln.Addr().String())
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errs:
	}
	c.logger.Info("shutting down")
	shutdownCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	_ = httpSrv.Shutdown(shutdownCtx)
	cancel()
	wg.Wait()
	return runErr
}

// demoChallenge is seeded in the default mode so a fresh server has
// something to submit to.
const demoChallenge = "optimizer-demo"

// bootstrap prints a ready-to-use admin key when no admin exists yet and
// seeds the demo challenge.
func (c *cli) bootstrap(ctx context.Context, st *store.Store, demo bool) error {
	has, err := st.HasAdmin(ctx)
	if err != nil {
		return err
	}
	if !has {
		key, err := st.CreateKey(ctx, arena.RoleAdmin, "admin")
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "No admin existed, so one was created. Admin API key (shown once, keep it):\n%s\n", key)
	}
	if !demo {
		return nil
	}
	if _, err := st.Challenge(ctx, demoChallenge); err == nil {
		return nil
	} else if arena.ErrorCode(err) != arena.ENOTFOUND {
		return err
	}
	ch, err := api.NewChallenge(arena.ChallengeSpec{Slug: demoChallenge, Title: "Optimizer demo", Kind: "optimizer",
		Description: "Write an update rule that trains a small transformer language model (on Go source code) to AdamW's final held-out loss in fewer steps. AdamW with warmup and cosine decay scores 0; ln 2 is twice as fast. See docs/optimizer.md."})
	if err != nil {
		return err
	}
	if err := st.CreateChallenge(ctx, &ch); err != nil && arena.ErrorCode(err) != arena.ECONFLICT {
		return err
	}
	c.logger.Info("seeded demo challenge", "slug", demoChallenge)
	return nil
}

func (c *cli) worker(ctx context.Context, args []string) error {
	var cfg config
	fs := c.serverFlags("worker", &cfg)
	fs.IntVar(&cfg.Workers, "concurrency", c.env.intOr("ARENA_WORKERS", 2), "evaluations at once (ARENA_WORKERS)")
	c.warmFlag(fs, &cfg)
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", c.env("ARENA_METRICS_ADDR"), "serve Prometheus metrics at http://ADDR/metrics (ARENA_METRICS_ADDR); empty: none")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if cfg.NATSURL == "" {
		return misusef("a standalone worker needs --nats-url or ARENA_NATS_URL (the server's NATS)")
	}
	d, err := c.connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.close()
	if cfg.MetricsAddr != "" {
		ln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", cfg.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", d.metrics.Handler())
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		c.logger.Info("serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	}
	c.logger.Info("arena worker running", "concurrency", cfg.Workers, "nats", cfg.NATSURL)
	w := &worker.Worker{Store: d.store, Queue: d.queue, Engine: d.engine, Signer: d.signer, Metrics: d.metrics, Logger: c.logger, Concurrency: cfg.Workers, WarmInterval: cfg.WarmEvery}
	return w.Run(ctx)
}

func (c *cli) migrate(ctx context.Context, args []string) error {
	var cfg config
	fs := c.serverFlags("migrate", &cfg)
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 || rest[0] != "up" {
		return misusef("usage: arena migrate up")
	}
	if err := store.Migrate(cfg.DatabaseURL); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "migrations applied")
	return nil
}

func (c *cli) admin(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "create-key" {
		return misusef("usage: arena admin create-key --role admin|competitor --name NAME")
	}
	var cfg config
	var role, name string
	fs := c.serverFlags("admin create-key", &cfg)
	fs.StringVar(&role, "role", "", "admin or competitor")
	fs.StringVar(&name, "name", "", "key label (admin) or competitor name")
	if _, err := parse(fs, args[1:]); err != nil {
		return err
	}
	if !arena.Role(role).Valid() || name == "" {
		return misusef("usage: arena admin create-key --role admin|competitor --name NAME")
	}
	if err := store.Migrate(cfg.DatabaseURL); err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, store.WithTimeout(cfg.DBTimeout))
	if err != nil {
		return err
	}
	defer st.Close()
	key, err := st.CreateKey(ctx, arena.Role(role), name)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, key)
	return nil
}
