package store

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/jackc/pgx/v5"

	"github.com/arena-dev/arena"
)

var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidSlug checks a challenge slug.
func ValidSlug(slug string) error {
	if !slugPattern.MatchString(slug) {
		return arena.Errorf(arena.EINVALID, "slug: %q must be 1 to 63 lowercase letters, digits or '-', starting with a letter or digit", slug)
	}
	return nil
}

// CreateChallenge inserts c, whose fields must already be validated and
// normalized, and fills in its ID and creation time.
func (s *Store) CreateChallenge(ctx context.Context, c *arena.Challenge) error {
	limits, _ := json.Marshal(c.Limits)
	rules, _ := json.Marshal(c.Rules)
	err := s.pool.QueryRow(ctx, `
		WITH ch AS (
			INSERT INTO challenges (slug, title, description, kind, benchmark_version, params, limits, rules)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			RETURNING id, round, created_at),
		r AS (INSERT INTO rounds (challenge_id, round, opened_at) SELECT id, round, created_at FROM ch)
		SELECT id, round, created_at FROM ch`,
		c.Slug, c.Title, c.Description, c.Kind, c.BenchmarkVersion, []byte(c.Params), limits, rules,
	).Scan(&c.ID, &c.Round, &c.CreatedAt)
	if isUniqueViolation(err, "challenges_slug_key") {
		return arena.Errorf(arena.ECONFLICT, "a challenge with slug %q exists", c.Slug)
	}
	if err != nil {
		return fmt.Errorf("insert challenge: %w", err)
	}
	return nil
}

const challengeColumns = `id, slug, title, description, kind, benchmark_version, params, limits, rules, round, created_at`

func scanChallenge(row pgx.Row) (arena.Challenge, error) {
	var c arena.Challenge
	var params, limits, rules []byte
	err := row.Scan(&c.ID, &c.Slug, &c.Title, &c.Description, &c.Kind, &c.BenchmarkVersion, &params, &limits, &rules, &c.Round, &c.CreatedAt)
	if err != nil {
		return c, err
	}
	c.Params = json.RawMessage(params)
	if err := json.Unmarshal(limits, &c.Limits); err != nil {
		return c, fmt.Errorf("decode limits of %s: %w", c.Slug, err)
	}
	if err := json.Unmarshal(rules, &c.Rules); err != nil {
		return c, fmt.Errorf("decode rules of %s: %w", c.Slug, err)
	}
	return c, nil
}

// Challenge returns the challenge with the given slug.
func (s *Store) Challenge(ctx context.Context, slug string) (arena.Challenge, error) {
	c, err := scanChallenge(s.pool.QueryRow(ctx, `SELECT `+challengeColumns+` FROM challenges WHERE slug = $1`, slug))
	if err != nil {
		return c, notFound(err, "no challenge %q", slug)
	}
	return c, nil
}

// Challenges lists every challenge, newest first.
func (s *Store) Challenges(ctx context.Context) ([]arena.Challenge, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+challengeColumns+` FROM challenges ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list challenges: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (arena.Challenge, error) { return scanChallenge(row) })
	if err != nil {
		return nil, fmt.Errorf("list challenges: %w", err)
	}
	return out, nil
}

// UpdateChallenge stores a challenge's title, description and rules.
func (s *Store) UpdateChallenge(ctx context.Context, c arena.Challenge) error {
	rules, _ := json.Marshal(c.Rules)
	tag, err := s.pool.Exec(ctx, `UPDATE challenges SET title = $2, description = $3, rules = $4 WHERE id = $1`,
		c.ID, c.Title, c.Description, rules)
	if err != nil {
		return fmt.Errorf("update challenge: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return arena.Errorf(arena.ENOTFOUND, "no challenge %q", c.Slug)
	}
	return nil
}
