// Package pgtest gives each test its own freshly migrated Postgres database
// on a real server: ARENA_TEST_DATABASE_URL, or the local server.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/arena-dev/arena/store"
)

// DefaultURL is the maintenance database tests connect to when
// ARENA_TEST_DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// NewDatabase creates and migrates a database that is dropped when the test
// ends, and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("ARENA_TEST_DATABASE_URL")
	if admin == "" {
		admin = DefaultURL
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v (is Postgres running? `make test` starts it)", admin, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "arena_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		conn.Close(ctx)
		t.Fatalf("pgtest: create database: %v", err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	u.Path = "/" + name
	t.Cleanup(func() {
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop %s: %v", name, err)
		}
	})
	if err := store.Migrate(u.String()); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u.String()
}

// NewStore opens a store on a fresh database.
func NewStore(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}
