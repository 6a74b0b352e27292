package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/arena-dev/arena"
)

// Leaderboard ranks competitors by their best scored submission; ties go
// to whoever scored first.
func (s *Store) Leaderboard(ctx context.Context, challengeID int64) ([]arena.LeaderboardEntry, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT name, id, score, round, finished_at FROM (
			SELECT DISTINCT ON (s.competitor_id) co.name, s.id::text AS id, s.score, COALESCE(s.round, 1) AS round, s.finished_at
			FROM submissions s JOIN competitors co ON co.id = s.competitor_id
			-- a champion being scored again for a new round keeps its place
			WHERE s.challenge_id = $1 AND (s.status = 'scored' OR s.status IN ('queued', 'running') AND s.score IS NOT NULL)
			ORDER BY s.competitor_id, s.score DESC, s.finished_at, s.id
		) best
		ORDER BY score DESC, finished_at, id`, challengeID)
	if err != nil {
		return nil, fmt.Errorf("leaderboard: %w", err)
	}
	defer rows.Close()
	out := []arena.LeaderboardEntry{}
	for rows.Next() {
		e := arena.LeaderboardEntry{Rank: len(out) + 1}
		if err := rows.Scan(&e.Competitor, &e.SubmissionID, &e.Score, &e.Round, &e.ScoredAt); err != nil {
			return nil, fmt.Errorf("leaderboard: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// championSelect reads current champions: the latest crowning of each
// challenge, with what a trainer needs to know about it. The score is the
// submission's latest official one, which a new round replaces (0 when
// the champion failed on a new round's seeds: the bar is the baseline's).
const championSelect = `
	SELECT DISTINCT ON (cr.challenge_id) cr.challenge_id, ch.slug, cr.submission_id::text, co.name,
		COALESCE(s.score, 0), COALESCE(s.round, 1), encode(s.sha256, 'hex'), cr.crowned_at
	FROM standing_crownings cr
	JOIN challenges ch ON ch.id = cr.challenge_id
	JOIN submissions s ON s.id = cr.submission_id
	JOIN competitors co ON co.id = s.competitor_id`

func scanChampion(row pgx.Row) (int64, arena.Champion, error) {
	var id int64
	var c arena.Champion
	err := row.Scan(&id, &c.Challenge, &c.SubmissionID, &c.Competitor, &c.Score, &c.Round, &c.SHA256, &c.CrownedAt)
	return id, c, err
}

func championQuery(ctx context.Context, q rowQuerier, challengeID int64) (arena.Champion, error) {
	_, c, err := scanChampion(q.QueryRow(ctx, championSelect+`
		WHERE cr.challenge_id = $1
		ORDER BY cr.challenge_id, cr.id DESC`, challengeID))
	return c, err
}

// Champions returns every challenge's current champion, by challenge ID,
// in one query.
func (s *Store) Champions(ctx context.Context) (map[int64]arena.Champion, error) {
	rows, err := s.pool.Query(ctx, championSelect+` ORDER BY cr.challenge_id, cr.id DESC`)
	if err != nil {
		return nil, fmt.Errorf("champions: %w", err)
	}
	defer rows.Close()
	out := map[int64]arena.Champion{}
	for rows.Next() {
		id, c, err := scanChampion(rows)
		if err != nil {
			return nil, fmt.Errorf("champions: %w", err)
		}
		out[id] = c
	}
	return out, rows.Err()
}

// Champion returns a challenge's current champion.
func (s *Store) Champion(ctx context.Context, ch arena.Challenge) (arena.Champion, error) {
	c, err := championQuery(ctx, s.pool, ch.ID)
	if err != nil {
		return c, notFound(err, "challenge %q has no champion yet", ch.Slug)
	}
	return c, nil
}

// ChampionModule returns the current champion with its module bytes.
func (s *Store) ChampionModule(ctx context.Context, ch arena.Challenge) (arena.Champion, []byte, error) {
	c, err := s.Champion(ctx, ch)
	if err != nil {
		return c, nil, err
	}
	var module []byte
	if err := s.pool.QueryRow(ctx, `SELECT module FROM submissions WHERE id = $1`, c.SubmissionID).Scan(&module); err != nil {
		return c, nil, fmt.Errorf("load champion module: %w", err)
	}
	return c, module, nil
}
