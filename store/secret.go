package store

import (
	"context"
	"crypto/rand"
	"fmt"
)

// SecretHiddenSeeds names the secret hidden seeds are derived from.
const SecretHiddenSeeds = "hidden_seeds"

// Secret returns the server secret called name, creating 32 random bytes
// the first time it is asked for. Every worker sharing the database gets
// the same secret, so they all derive the same seeds.
func (s *Store) Secret(ctx context.Context, name string) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("generate secret: %w", err)
	}
	var value []byte
	// The no-op update makes RETURNING give the row whether this insert
	// won or an earlier one did.
	err := s.pool.QueryRow(ctx, `
		INSERT INTO server_secrets (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
		RETURNING value`, name, fresh).Scan(&value)
	if err != nil {
		return nil, fmt.Errorf("load secret %s: %w", name, err)
	}
	return value, nil
}

// nullIfZero stores an unset number as NULL.
func nullIfZero(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}
