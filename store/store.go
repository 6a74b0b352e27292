// Package store is Arena's Postgres system of record. All SQL lives here.
package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/golang-migrate/migrate/v4"
	_ "github.com/golang-migrate/migrate/v4/database/pgx/v5" // the pgx5:// driver
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/migrations"
)

// Store wraps a pgx connection pool. Every call it makes has a deadline
// (DefaultTimeout unless Open is told otherwise), so a Postgres that
// stops answering turns into arena unavailable errors, not hangs.
type Store struct {
	pool *db
}

// Option configures Open.
type Option func(*options)

type options struct{ timeout time.Duration }

// WithTimeout bounds each database call, and each connection attempt
// (unless the URL sets connect_timeout), by d; 0 sets no bound.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// Open connects to databaseURL and checks the connection.
func Open(ctx context.Context, databaseURL string, opts ...Option) (*Store, error) {
	o := options{timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	// A connection attempt runs on in the pool's background after the
	// call that asked for it gives up: bound it too, or a server that
	// accepts and never answers keeps it, and its slot, for good.
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = o.timeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	d := &db{pool: pool, timeout: o.timeout}
	if err := d.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return &Store{pool: d}, nil
}

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Migrate applies every pending up migration to databaseURL.
func Migrate(databaseURL string) error {
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	u, err := url.Parse(databaseURL)
	if err != nil {
		return fmt.Errorf("parse database URL: %w", err)
	}
	u.Scheme = "pgx5"
	m, err := migrate.NewWithSourceInstance("iofs", src, u.String())
	if err != nil {
		return fmt.Errorf("start migrations: %w", err)
	}
	defer m.Close()
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

// rowQuerier is the pool or a transaction.
type rowQuerier interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}

// inTx runs fn in a transaction, committing when it returns nil. The
// whole transaction has one deadline (see db.Begin).
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return classify(pgx.BeginFunc(ctx, s.pool, fn))
}

const uniqueViolation = "23505"

func isUniqueViolation(err error, constraint string) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == uniqueViolation && (constraint == "" || pg.ConstraintName == constraint)
}

// notFound maps pgx.ErrNoRows to an arena not_found error.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return arena.Errorf(arena.ENOTFOUND, format, args...)
	}
	return err
}
