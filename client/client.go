// Package client is a Go client for Arena's REST API, used by the CLI and
// by downstream trainers that pull champions.
package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/arena-dev/arena"
)

// Client talks to one Arena server.
type Client struct {
	BaseURL string // e.g. http://localhost:8080
	Key     string // API key; empty for public calls
	HTTP    *http.Client
}

// New returns a client for baseURL with key.
func New(baseURL, key string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Key: key, HTTP: &http.Client{Timeout: 2 * time.Minute}}
}

// Error is an error response from the server.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (%d %s)", e.Message, e.Status, e.Code) }

func (c *Client) do(ctx context.Context, method, path, contentType string, body io.Reader, out any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Key != "" {
		req.Header.Set("Authorization", "Bearer "+c.Key)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach Arena at %s: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(data, &e) != nil || e.Error.Code == "" {
			return nil, &Error{Status: resp.StatusCode, Code: "http", Message: strings.TrimSpace(string(data))}
		}
		return nil, &Error{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	switch o := out.(type) {
	case nil:
	case *[]byte:
		*o, err = io.ReadAll(resp.Body)
	default:
		err = json.NewDecoder(resp.Body).Decode(out)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", method, path, err)
	}
	return resp.Header, nil
}

func (c *Client) getJSON(ctx context.Context, path string, out any) error {
	_, err := c.do(ctx, http.MethodGet, path, "", nil, out)
	return err
}

func (c *Client) postJSON(ctx context.Context, path string, in, out any) error {
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, http.MethodPost, path, "application/json", bytes.NewReader(data), out)
	return err
}

// Registration is a new competitor with its key, shown once.
type Registration struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	APIKey string `json:"api_key"`
}

// Register creates a competitor.
func (c *Client) Register(ctx context.Context, name string) (Registration, error) {
	var r Registration
	return r, c.postJSON(ctx, "/api/v1/competitors", map[string]string{"name": name}, &r)
}

// CreateChallenge defines a challenge (admin key).
func (c *Client) CreateChallenge(ctx context.Context, spec arena.ChallengeSpec) (arena.Challenge, error) {
	var ch arena.Challenge
	return ch, c.postJSON(ctx, "/api/v1/challenges", spec, &ch)
}

// UpdateChallenge changes a challenge's title, description or rules
// (admin key); update is a JSON object with any of those, rules partial.
func (c *Client) UpdateChallenge(ctx context.Context, slug string, update json.RawMessage) (arena.Challenge, error) {
	var ch arena.Challenge
	_, err := c.do(ctx, http.MethodPatch, "/api/v1/challenges/"+url.PathEscape(slug), "application/json", bytes.NewReader(update), &ch)
	return ch, err
}

// Challenge fetches a challenge's definition.
func (c *Client) Challenge(ctx context.Context, slug string) (arena.Challenge, error) {
	var ch arena.Challenge
	return ch, c.getJSON(ctx, "/api/v1/challenges/"+url.PathEscape(slug), &ch)
}

// Submit uploads a module to a challenge.
func (c *Client) Submit(ctx context.Context, slug string, module []byte) (arena.Submission, error) {
	var s arena.Submission
	_, err := c.do(ctx, http.MethodPost, "/api/v1/challenges/"+url.PathEscape(slug)+"/submissions",
		"application/wasm", bytes.NewReader(module), &s)
	return s, err
}

// Submission fetches a submission's status and, for its owner, task details.
func (c *Client) Submission(ctx context.Context, id string) (arena.Submission, error) {
	var s arena.Submission
	return s, c.getJSON(ctx, "/api/v1/submissions/"+url.PathEscape(id), &s)
}

// Submissions lists a challenge's recent submissions, newest first; mine
// keeps only the key holder's.
func (c *Client) Submissions(ctx context.Context, slug string, mine bool) ([]arena.Submission, error) {
	var subs struct {
		Submissions []arena.Submission `json:"submissions"`
	}
	path := "/api/v1/challenges/" + url.PathEscape(slug) + "/submissions"
	if mine {
		path += "?mine=1"
	}
	return subs.Submissions, c.getJSON(ctx, path, &subs)
}

// Wait follows a submission until it is final or ctx ends, calling
// onChange (when not nil) with each status it passes through. It listens
// to the server's event stream, and polls every `every` if the stream
// breaks off. The submission it returns has its tasks.
func (c *Client) Wait(ctx context.Context, id string, every time.Duration, onChange func(arena.Submission)) (arena.Submission, error) {
	seen := arena.Status("")
	return c.Follow(ctx, id, every, func(s arena.Submission) {
		if onChange != nil && s.Status != seen {
			onChange(s)
		}
		seen = s.Status
	})
}

// Follow is Wait calling fn with every update the server sends, not only
// changes of status: a waiting submission's queue place, a running one's
// progress. Polls after a broken stream call fn too.
func (c *Client) Follow(ctx context.Context, id string, every time.Duration, note func(arena.Submission)) (arena.Submission, error) {
	if err := c.Watch(ctx, id, note); err != nil && ctx.Err() != nil {
		return arena.Submission{}, err
	}
	for {
		s, err := c.Submission(ctx, id)
		if err != nil || s.Status.Final() {
			if err == nil {
				note(s)
			}
			return s, err
		}
		note(s)
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case <-time.After(every):
		}
	}
}

// Watch calls fn with a submission's status (without its tasks) as the
// server streams it: where it is now, then each change. It returns once
// the submission is final or the stream ends.
func (c *Client) Watch(ctx context.Context, id string, fn func(arena.Submission)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/api/v1/submissions/"+url.PathEscape(id)+"/events", nil)
	if err != nil {
		return err
	}
	if c.Key != "" {
		req.Header.Set("Authorization", "Bearer "+c.Key)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("reach Arena at %s: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &Error{Status: resp.StatusCode, Code: "http", Message: "the event stream answered " + resp.Status}
	}
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(make([]byte, 64<<10), 1<<20)
	for lines.Scan() {
		data, ok := strings.CutPrefix(lines.Text(), "data: ")
		if !ok {
			continue
		}
		var s arena.Submission
		if err := json.Unmarshal([]byte(data), &s); err != nil {
			return fmt.Errorf("read submission event: %w", err)
		}
		fn(s)
		if s.Status.Final() {
			return nil
		}
	}
	return lines.Err()
}

// Leaderboard fetches a challenge's ranking.
func (c *Client) Leaderboard(ctx context.Context, slug string) ([]arena.LeaderboardEntry, error) {
	var lb struct {
		Entries []arena.LeaderboardEntry `json:"entries"`
	}
	return lb.Entries, c.getJSON(ctx, "/api/v1/challenges/"+url.PathEscape(slug)+"/leaderboard", &lb)
}

// Rounds fetches a challenge's rounds: commitments, and the salt and
// seeds of closed ones.
func (c *Client) Rounds(ctx context.Context, slug string) ([]arena.Round, error) {
	var rs struct {
		Rounds []arena.Round `json:"rounds"`
	}
	return rs.Rounds, c.getJSON(ctx, "/api/v1/challenges/"+url.PathEscape(slug)+"/rounds", &rs)
}

// OpenRound closes a challenge's round and opens the next (admin key).
func (c *Client) OpenRound(ctx context.Context, slug string) (arena.RoundChange, error) {
	var ch arena.RoundChange
	return ch, c.postJSON(ctx, "/api/v1/challenges/"+url.PathEscape(slug)+"/rounds", struct{}{}, &ch)
}

// Rescore queues a finished submission to be scored again on the
// challenge's current round (admin key).
func (c *Client) Rescore(ctx context.Context, id string) (arena.Submission, error) {
	var sub arena.Submission
	return sub, c.postJSON(ctx, "/api/v1/submissions/"+url.PathEscape(id)+"/rescore", struct{}{}, &sub)
}

// Disqualification is what disqualifying a submission did.
type Disqualification struct {
	Submission   arena.Submission `json:"submission"`
	CrownChanged bool             `json:"crown_changed"`
	Champion     *arena.Champion  `json:"champion"` // after the change; nil when the crown is vacant
}

// Disqualify takes a submission out of the tournament (admin key).
func (c *Client) Disqualify(ctx context.Context, id, reason string) (Disqualification, error) {
	var d Disqualification
	return d, c.postJSON(ctx, "/api/v1/submissions/"+url.PathEscape(id)+"/disqualify", map[string]string{"reason": reason}, &d)
}

// IssuedKey is a key as issued: shown once.
type IssuedKey struct {
	Role   arena.Role `json:"role"`
	Name   string     `json:"name"`
	APIKey string     `json:"api_key"`
}

// Keys lists every key issued (admin key).
func (c *Client) Keys(ctx context.Context) ([]arena.APIKey, error) {
	var ks struct {
		Keys []arena.APIKey `json:"keys"`
	}
	return ks.Keys, c.getJSON(ctx, "/api/v1/keys", &ks)
}

// CreateKey issues a key (admin key).
func (c *Client) CreateKey(ctx context.Context, role arena.Role, name string) (IssuedKey, error) {
	var k IssuedKey
	return k, c.postJSON(ctx, "/api/v1/keys", map[string]any{"role": role, "name": name}, &k)
}

// RevokeKey revokes a key (admin key).
func (c *Client) RevokeKey(ctx context.Context, id int64) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/keys/"+strconv.FormatInt(id, 10), "", nil, nil)
	return err
}

// RotateKey replaces the client's own key and returns the new one; the
// client switches to it.
func (c *Client) RotateKey(ctx context.Context) (IssuedKey, error) {
	var k IssuedKey
	if err := c.postJSON(ctx, "/api/v1/me/key", struct{}{}, &k); err != nil {
		return k, err
	}
	c.Key = k.APIKey
	return k, nil
}

// Queue fetches the work waiting and under way (admin key).
func (c *Client) Queue(ctx context.Context) (arena.QueueState, error) {
	var q arena.QueueState
	return q, c.getJSON(ctx, "/api/v1/queue", &q)
}

// Receipt fetches a submission's signed receipt: of its latest
// evaluation, or of the one in round when round > 0. It does not verify
// it; receipt.Verify does, against a key the caller trusts.
func (c *Client) Receipt(ctx context.Context, id string, round int) (arena.SignedReceipt, error) {
	var sr arena.SignedReceipt
	path := "/api/v1/submissions/" + url.PathEscape(id) + "/receipt"
	if round > 0 {
		path += "?round=" + strconv.Itoa(round)
	}
	return sr, c.getJSON(ctx, path, &sr)
}

// ReceiptKey fetches the public key the server signs receipts with, base64.
func (c *Client) ReceiptKey(ctx context.Context) (string, error) {
	var k struct {
		PublicKey string `json:"public_key"`
	}
	return k.PublicKey, c.getJSON(ctx, "/api/v1/receipts/key", &k)
}

// module downloads module bytes and checks them against the server's
// ETag, their sha256, which it returns.
func (c *Client) module(ctx context.Context, path string) ([]byte, string, error) {
	var module []byte
	h, err := c.do(ctx, http.MethodGet, path, "", nil, &module)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(module)
	got := hex.EncodeToString(sum[:])
	if etag := strings.Trim(h.Get("ETag"), `"`); etag != got {
		return nil, "", fmt.Errorf("downloaded module has sha256 %s, but the server's ETag says %s", got, etag)
	}
	return module, got, nil
}

// SubmissionModule downloads a submission's module: yours, or anyone's
// once its challenge reveals code. The bytes are checked against the
// submission's sha256.
func (c *Client) SubmissionModule(ctx context.Context, id string) (arena.Submission, []byte, error) {
	sub, err := c.Submission(ctx, id)
	if err != nil {
		return sub, nil, err
	}
	module, got, err := c.module(ctx, "/api/v1/submissions/"+url.PathEscape(id)+"/module")
	if err != nil {
		return sub, nil, err
	}
	if got != sub.SHA256 {
		return sub, nil, fmt.Errorf("downloaded module has sha256 %s, but submission %s's is %s", got, id, sub.SHA256)
	}
	return sub, module, nil
}

// Champion fetches a challenge's current champion.
func (c *Client) Champion(ctx context.Context, slug string) (arena.Champion, error) {
	var ch arena.Champion
	return ch, c.getJSON(ctx, "/api/v1/challenges/"+url.PathEscape(slug)+"/champion", &ch)
}

// ChampionModule downloads the champion's module and checks that its
// sha256 matches the one the server advertises.
func (c *Client) ChampionModule(ctx context.Context, slug string) (arena.Champion, []byte, error) {
	champ, err := c.Champion(ctx, slug)
	if err != nil {
		return champ, nil, err
	}
	module, got, err := c.module(ctx, "/api/v1/challenges/"+url.PathEscape(slug)+"/champion/module")
	if err != nil {
		return champ, nil, err
	}
	if got != champ.SHA256 {
		// The crown changed between the two requests: describe what we got.
		if champ, err = c.Champion(ctx, slug); err != nil {
			return champ, nil, err
		}
		if got != champ.SHA256 {
			return champ, nil, fmt.Errorf("downloaded module has sha256 %s, but the champion's is %s", got, champ.SHA256)
		}
	}
	return champ, module, nil
}
