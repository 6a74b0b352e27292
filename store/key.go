package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/arena-dev/arena"
)

// keyPrefix marks Arena keys so they are recognizable in logs and configs.
const keyPrefix = "arena_"

func newKey() (plain string, hash []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	plain = keyPrefix + base64.RawURLEncoding.EncodeToString(b)
	return plain, hashKey(plain)
}

func hashKey(plain string) []byte {
	h := sha256.Sum256([]byte(plain))
	return h[:]
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$`)

// ValidName checks a competitor or key name.
func ValidName(name string) error {
	if !namePattern.MatchString(name) {
		return arena.Errorf(arena.EINVALID, "name: %q must be 1 to 40 letters, digits, '_', '.' or '-', starting with a letter or digit", name)
	}
	return nil
}

// CreateCompetitor registers a competitor and returns it with a fresh API key.
func (s *Store) CreateCompetitor(ctx context.Context, name string) (arena.Competitor, string, error) {
	if err := ValidName(name); err != nil {
		return arena.Competitor{}, "", err
	}
	var c arena.Competitor
	var key string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx,
			`INSERT INTO competitors (name) VALUES ($1) RETURNING id, name, created_at`, name,
		).Scan(&c.ID, &c.Name, &c.CreatedAt)
		if isUniqueViolation(err, "competitors_name_key") {
			return arena.Errorf(arena.ECONFLICT, "the name %q is taken", name)
		}
		if err != nil {
			return fmt.Errorf("insert competitor: %w", err)
		}
		key, err = insertKey(ctx, tx, arena.RoleCompetitor, name, c.ID)
		return err
	})
	return c, key, err
}

// CreateKey issues a key. For an admin key, name is a label; for a
// competitor key, name is the competitor, registered if it is new.
func (s *Store) CreateKey(ctx context.Context, role arena.Role, name string) (string, error) {
	if !role.Valid() {
		return "", arena.Errorf(arena.EINVALID, "role: %q is not admin or competitor", role)
	}
	if err := ValidName(name); err != nil {
		return "", err
	}
	var key string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var competitorID int64
		if role == arena.RoleCompetitor {
			err := tx.QueryRow(ctx, `
				INSERT INTO competitors (name) VALUES ($1)
				ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
				RETURNING id`, name).Scan(&competitorID)
			if err != nil {
				return fmt.Errorf("upsert competitor: %w", err)
			}
		}
		var err error
		key, err = insertKey(ctx, tx, role, name, competitorID)
		return err
	})
	return key, err
}

func insertKey(ctx context.Context, tx pgx.Tx, role arena.Role, name string, competitorID int64) (string, error) {
	plain, hash := newKey()
	var cid *int64
	if competitorID != 0 {
		cid = &competitorID
	}
	_, err := tx.Exec(ctx,
		`INSERT INTO api_keys (role, name, competitor_id, key_hash) VALUES ($1, $2, $3, $4)`,
		string(role), name, cid, hash)
	if err != nil {
		return "", fmt.Errorf("insert key: %w", err)
	}
	return plain, nil
}

// HasAdmin reports whether any unrevoked admin key exists.
func (s *Store) HasAdmin(ctx context.Context) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL)`).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("look for admin keys: %w", err)
	}
	return ok, nil
}

// Authenticate returns the principal behind an API key.
func (s *Store) Authenticate(ctx context.Context, key string) (arena.Principal, error) {
	var p arena.Principal
	var role string
	var cid *int64
	err := s.pool.QueryRow(ctx, `
		SELECT k.id, k.role, k.competitor_id, coalesce(c.name, k.name)
		FROM api_keys k LEFT JOIN competitors c ON c.id = k.competitor_id
		WHERE k.key_hash = $1 AND k.revoked_at IS NULL`, hashKey(key),
	).Scan(&p.KeyID, &role, &cid, &p.Name)
	if err != nil {
		if err == pgx.ErrNoRows {
			return p, arena.Errorf(arena.EUNAUTHORIZED, "unknown or revoked API key")
		}
		return p, fmt.Errorf("authenticate: %w", err)
	}
	p.Role = arena.Role(role)
	if cid != nil {
		p.CompetitorID = *cid
	}
	return p, nil
}

// PrincipalByKey returns the principal behind key id while the key is
// unrevoked: a signed-in browser's session names its key by id, so
// revoking or rotating the key ends the session too.
func (s *Store) PrincipalByKey(ctx context.Context, id int64) (arena.Principal, error) {
	var p arena.Principal
	var role string
	var cid *int64
	err := s.pool.QueryRow(ctx, `
		SELECT k.id, k.role, k.competitor_id, coalesce(c.name, k.name)
		FROM api_keys k LEFT JOIN competitors c ON c.id = k.competitor_id
		WHERE k.id = $1 AND k.revoked_at IS NULL`, id,
	).Scan(&p.KeyID, &role, &cid, &p.Name)
	if err != nil {
		if err == pgx.ErrNoRows {
			return p, arena.Errorf(arena.EUNAUTHORIZED, "the key this session was signed in with has been revoked")
		}
		return p, fmt.Errorf("load key %d: %w", id, err)
	}
	p.Role = arena.Role(role)
	if cid != nil {
		p.CompetitorID = *cid
	}
	return p, nil
}

// Keys lists every key ever issued, newest first.
func (s *Store) Keys(ctx context.Context) ([]arena.APIKey, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT k.id, k.role, coalesce(c.name, k.name), k.created_at, k.revoked_at
		FROM api_keys k LEFT JOIN competitors c ON c.id = k.competitor_id
		ORDER BY k.id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (arena.APIKey, error) {
		var k arena.APIKey
		var role string
		err := row.Scan(&k.ID, &role, &k.Name, &k.CreatedAt, &k.RevokedAt)
		k.Role = arena.Role(role)
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return out, nil
}

// RevokeKey revokes a key at once. The last admin key cannot be revoked,
// so nobody locks the server's admins out.
func (s *Store) RevokeKey(ctx context.Context, id int64) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var role string
		var revoked *time.Time
		// Admin keys are revoked one at a time, so two revocations cannot
		// each leave the other's key as the last.
		if _, err := tx.Exec(ctx, `LOCK TABLE api_keys IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("lock keys: %w", err)
		}
		err := tx.QueryRow(ctx, `SELECT role, revoked_at FROM api_keys WHERE id = $1`, id).Scan(&role, &revoked)
		if err != nil {
			return notFound(err, "no key %d", id)
		}
		if revoked != nil {
			return arena.Errorf(arena.ECONFLICT, "key %d was already revoked at %s", id, revoked.UTC().Format(time.RFC3339))
		}
		if role == string(arena.RoleAdmin) {
			var others int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL AND id <> $1`, id).Scan(&others); err != nil {
				return fmt.Errorf("count admin keys: %w", err)
			}
			if others == 0 {
				return arena.Errorf(arena.ECONFLICT, "key %d is the last admin key: issue another before revoking it", id)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE api_keys SET revoked_at = now() WHERE id = $1`, id); err != nil {
			return fmt.Errorf("revoke key: %w", err)
		}
		return nil
	})
}

// RotateKey issues a new key for the same role and holder as key id and
// revokes id, in one transaction: what a competitor does after a leak.
func (s *Store) RotateKey(ctx context.Context, id int64) (string, error) {
	var key string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var role, name string
		var competitorID *int64
		err := tx.QueryRow(ctx, `
			UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL
			RETURNING role, name, competitor_id`, id).Scan(&role, &name, &competitorID)
		if err != nil {
			return notFound(err, "no unrevoked key %d", id)
		}
		var cid int64
		if competitorID != nil {
			cid = *competitorID
		}
		key, err = insertKey(ctx, tx, arena.Role(role), name, cid)
		return err
	})
	return key, err
}
