package store

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/arena-dev/arena"
)

// DefaultTimeout bounds each database call when Open is given no other:
// a Postgres that stops answering costs a request this long, then an
// unavailable error, never a hang.
const DefaultTimeout = 5 * time.Second

// db is the pool with a deadline on every call, and with the failures
// that mean "the database is not answering" turned into arena
// unavailable errors (the API answers them 503 with Retry-After). The
// store's SQL goes through it exactly as it would through the pool.
type db struct {
	pool    *pgxpool.Pool
	timeout time.Duration
}

// deadline gives ctx the store's deadline; an earlier one of its own wins.
func (d *db) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if d.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d.timeout)
}

func (d *db) Ping(ctx context.Context) error {
	ctx, cancel := d.deadline(ctx)
	defer cancel()
	return classify(d.pool.Ping(ctx))
}

func (d *db) Close() { d.pool.Close() }

func (d *db) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	ctx, cancel := d.deadline(ctx)
	defer cancel()
	tag, err := d.pool.Exec(ctx, sql, args...)
	return tag, classify(err)
}

func (d *db) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	ctx, cancel := d.deadline(ctx)
	rows, err := d.pool.Query(ctx, sql, args...)
	if err != nil {
		cancel()
		return nil, classify(err)
	}
	return &deadlineRows{Rows: rows, cancel: cancel}, nil
}

func (d *db) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	ctx, cancel := d.deadline(ctx)
	return &deadlineRow{row: d.pool.QueryRow(ctx, sql, args...), cancel: cancel}
}

// Begin starts a transaction with one deadline for all of it, commit
// included: the calls inside use the deadline whatever context they pass.
func (d *db) Begin(ctx context.Context) (pgx.Tx, error) {
	ctx, cancel := d.deadline(ctx)
	defer cancel()
	deadline, _ := ctx.Deadline()
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return nil, classify(err)
	}
	return &deadlineTx{Tx: tx, deadline: deadline}, nil
}

type deadlineRow struct {
	row    pgx.Row
	cancel context.CancelFunc
}

func (r *deadlineRow) Scan(dest ...any) error {
	defer r.cancel()
	return classify(r.row.Scan(dest...))
}

type deadlineRows struct {
	pgx.Rows
	cancel context.CancelFunc
}

func (r *deadlineRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.cancel() // the rows closed themselves
	return false
}

func (r *deadlineRows) Close()     { r.Rows.Close(); r.cancel() }
func (r *deadlineRows) Err() error { return classify(r.Rows.Err()) }

type deadlineTx struct {
	pgx.Tx
	deadline time.Time // zero: none
}

func (t *deadlineTx) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	if t.deadline.IsZero() {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, t.deadline)
}

func (t *deadlineTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	tag, err := t.Tx.Exec(ctx, sql, args...)
	return tag, classify(err)
}

func (t *deadlineTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	ctx, cancel := t.ctx(ctx)
	rows, err := t.Tx.Query(ctx, sql, args...)
	if err != nil {
		cancel()
		return nil, classify(err)
	}
	return &deadlineRows{Rows: rows, cancel: cancel}, nil
}

func (t *deadlineTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	ctx, cancel := t.ctx(ctx)
	return &deadlineRow{row: t.Tx.QueryRow(ctx, sql, args...), cancel: cancel}
}

func (t *deadlineTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	ctx, cancel := t.ctx(ctx)
	return &deadlineBatch{BatchResults: t.Tx.SendBatch(ctx, b), cancel: cancel}
}

func (t *deadlineTx) Commit(ctx context.Context) error {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	return classify(t.Tx.Commit(ctx))
}

func (t *deadlineTx) Rollback(ctx context.Context) error {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	return classify(t.Tx.Rollback(ctx))
}

type deadlineBatch struct {
	pgx.BatchResults
	cancel context.CancelFunc
}

func (b *deadlineBatch) Exec() (pgconn.CommandTag, error) {
	tag, err := b.BatchResults.Exec()
	return tag, classify(err)
}

func (b *deadlineBatch) Close() error {
	defer b.cancel()
	return classify(b.BatchResults.Close())
}

// classify turns a failure to reach the database into an unavailable
// error, and a value Postgres cannot store as text into an invalid one,
// keeping the cause for the logs. Anything else it returns as it is, so
// comparisons with pgx.ErrNoRows and unique-violation checks still work.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if e := (*arena.Error)(nil); errors.As(err, &e) {
		return err // classified already, or the store's own answer
	}
	switch {
	case unreachable(err):
		return &arena.Error{Code: arena.EUNAVAILABLE, Message: "the database is not answering; try again shortly", Err: err}
	case badText(err):
		return &arena.Error{Code: arena.EINVALID, Message: "a value in the request is not text the database can store (a NUL byte, or invalid UTF-8)", Err: err}
	}
	return err
}

// unreachable says whether err means the database did not answer: a
// deadline passed, a connection could not be made or broke, or the
// server is shutting down or starting up.
func unreachable(err error) bool {
	if pg := (*pgconn.PgError)(nil); errors.As(err, &pg) {
		switch {
		case strings.HasPrefix(pg.Code, "08"): // connection exception
			return true
		case pg.Code == "57P01", pg.Code == "57P02", pg.Code == "57P03": // admin or crash shutdown, cannot connect now
			return true
		case pg.Code == "53300": // too many connections
			return true
		}
		return false
	}
	if ce := (*pgconn.ConnectError)(nil); errors.As(err, &ce) {
		return true
	}
	var netErr net.Error
	// ErrConnClosed: a call on a connection the driver closed when an
	// earlier one lost its server (a rollback after a failed commit).
	return errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.As(err, &netErr) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// badText says whether Postgres refused a value for its encoding: a NUL
// byte, invalid UTF-8, or a \u0000 in JSON.
func badText(err error) bool {
	pg := (*pgconn.PgError)(nil)
	return errors.As(err, &pg) && (pg.Code == "22021" || pg.Code == "22P05")
}
