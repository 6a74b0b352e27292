package store

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Names of server secrets.
const (
	SecretHiddenSeeds = "hidden_seeds" // what hidden seeds are derived from
	SecretReceiptKey  = "receipt_key"  // the seed of the Ed25519 key receipts are signed with
	SecretSessionKey  = "session_key"  // MACs the pages' session cookies and CSRF tokens
)

// Secret returns the server secret called name, creating 32 random bytes
// the first time it is asked for. Every worker sharing the database gets
// the same secret, so they all derive the same seeds.
func (s *Store) Secret(ctx context.Context, name string) ([]byte, error) {
	var value []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM server_secrets WHERE name = $1`, name).Scan(&value)
	if err == nil {
		return value, nil
	}
	if err != pgx.ErrNoRows {
		return nil, fmt.Errorf("load secret %s: %w", name, err)
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("generate secret: %w", err)
	}
	// Two first callers may race: the first insert wins, and both read it.
	if _, err := s.pool.Exec(ctx, `INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, fresh); err != nil {
		return nil, fmt.Errorf("create secret %s: %w", name, err)
	}
	if err := s.pool.QueryRow(ctx, `SELECT value FROM server_secrets WHERE name = $1`, name).Scan(&value); err != nil {
		return nil, fmt.Errorf("load secret %s: %w", name, err)
	}
	return value, nil
}
