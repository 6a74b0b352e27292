package api_test

import (
	"strings"
	"testing"

	"github.com/arena-dev/arena"
)

// TestInputPostgresRefuses: every handler that takes a string or a number
// from the path, the query or the body, sent a NUL byte, invalid UTF-8 or
// a number out of range, refuses it at the edge with the JSON error (a
// page with its 404 page) and never an internal error: 404 for a path
// naming nothing that can exist, 400 for the rest.
func TestInputPostgresRefuses(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, serverOptions{})
	sub := "/api/v1/submissions/" + ts.submission
	const json, wasm = "application/json", "application/wasm"
	cases := []struct {
		method, path, key, contentType, body string
		status                               int
		code                                 string // "" for a web page
	}{
		// Slugs in the API's paths, and in the page's.
		{"GET", "/api/v1/challenges/demo%00x", "", "", "", 404, arena.ENOTFOUND},
		{"GET", "/api/v1/challenges/demo%00x/leaderboard", "", "", "", 404, arena.ENOTFOUND},
		{"GET", "/api/v1/challenges/demo%ffx/leaderboard", "", "", "", 404, arena.ENOTFOUND},
		{"GET", "/api/v1/challenges/demo%00x/submissions", "", "", "", 404, arena.ENOTFOUND},
		{"GET", "/api/v1/challenges/demo%00x/champion", "", "", "", 404, arena.ENOTFOUND},
		{"GET", "/api/v1/challenges/demo%00x/champion/module", "", "", "", 404, arena.ENOTFOUND},
		{"GET", "/api/v1/challenges/demo%00x/champion/events", "", "", "", 404, arena.ENOTFOUND},
		{"GET", "/api/v1/challenges/demo%00x/rounds", "", "", "", 404, arena.ENOTFOUND},
		{"POST", "/api/v1/challenges/demo%00x/rounds", ts.admin, "", "", 404, arena.ENOTFOUND},
		{"PATCH", "/api/v1/challenges/demo%00x", ts.admin, json, `{"title":"t"}`, 404, arena.ENOTFOUND},
		{"POST", "/api/v1/challenges/demo%00x/submissions", ts.competitor, wasm, "\x00asm\x01\x00\x00\x00", 404, arena.ENOTFOUND},
		{"GET", "/challenges/a%00b", "", "", "", 404, ""},
		{"GET", "/challenges/a%ffb", "", "", "", 404, ""},
		// Submission IDs and key IDs in paths.
		{"GET", "/api/v1/submissions/a%00b", "", "", "", 404, arena.ENOTFOUND},
		{"GET", "/api/v1/submissions/a%ffb/receipt", "", "", "", 404, arena.ENOTFOUND},
		{"GET", "/api/v1/submissions/a%00b/module", "", "", "", 404, arena.ENOTFOUND},
		{"GET", "/api/v1/submissions/a%00b/events", "", "", "", 404, arena.ENOTFOUND},
		{"POST", "/api/v1/submissions/a%00b/rescore", ts.admin, "", "", 404, arena.ENOTFOUND},
		{"POST", "/api/v1/submissions/a%00b/disqualify", ts.admin, json, `{"reason":"r"}`, 404, arena.ENOTFOUND},
		{"GET", "/submissions/a%00b", "", "", "", 404, ""},
		{"DELETE", "/api/v1/keys/a%00b", ts.admin, "", "", 404, arena.ENOTFOUND},
		{"DELETE", "/api/v1/keys/9223372036854775808", ts.admin, "", "", 404, arena.ENOTFOUND},
		{"DELETE", "/api/v1/keys/-1", ts.admin, "", "", 404, arena.ENOTFOUND},
		// Numbers in the query.
		{"GET", sub + "/receipt?round=2147483648", "", "", "", 400, arena.EINVALID},
		{"GET", sub + "/receipt?round=99999999999999999999", "", "", "", 400, arena.EINVALID},
		{"GET", sub + "/receipt?round=-1", "", "", "", 400, arena.EINVALID},
		{"GET", sub + "/receipt?round=1%00", "", "", "", 400, arena.EINVALID},
		{"GET", sub + "/receipt?round=%ff", "", "", "", 400, arena.EINVALID},
		{"GET", "/api/v1/challenges/demo/submissions?mine=%00", "", "", "", 401, arena.EUNAUTHORIZED},
		// Strings in bodies: as JSON's \u0000, and as bytes that are not UTF-8.
		{"POST", "/api/v1/competitors", "", json, `{"name":"a\u0000b"}`, 400, arena.EINVALID},
		{"POST", "/api/v1/competitors", "", json, "{\"name\":\"a\xffb\"}", 400, arena.EINVALID},
		{"POST", "/api/v1/keys", ts.admin, json, `{"role":"admin\u0000","name":"ops"}`, 400, arena.EINVALID},
		{"POST", "/api/v1/keys", ts.admin, json, `{"role":"admin","name":"o\u0000ps"}`, 400, arena.EINVALID},
		{"POST", "/api/v1/challenges", ts.admin, json, `{"slug":"a\u0000b","kind":"optimizer"}`, 400, arena.EINVALID},
		{"POST", "/api/v1/challenges", ts.admin, json, `{"slug":"nul","kind":"optimizer","title":"a\u0000b"}`, 400, arena.EINVALID},
		{"POST", "/api/v1/challenges", ts.admin, json, `{"slug":"nul","kind":"optimizer","description":"a\u0000b"}`, 400, arena.EINVALID},
		{"POST", "/api/v1/challenges", ts.admin, json, "{\"slug\":\"nul\",\"kind\":\"optimizer\",\"title\":\"a\xff\"}", 400, arena.EINVALID},
		{"POST", "/api/v1/challenges", ts.admin, json, `{"slug":"nul","kind":"optimizer\u0000"}`, 400, arena.EINVALID},
		{"POST", "/api/v1/challenges", ts.admin, json, `{"slug":"nul","kind":"optimizer","params":{"workloads":["quadratic\u0000"]}}`, 400, arena.EINVALID},
		{"PATCH", "/api/v1/challenges/demo", ts.admin, json, `{"title":"a\u0000b"}`, 400, arena.EINVALID},
		{"PATCH", "/api/v1/challenges/demo", ts.admin, json, `{"description":"a\u0000b"}`, 400, arena.EINVALID},
		{"PATCH", "/api/v1/challenges/demo", ts.admin, json, "{\"description\":\"\xc3\x28\"}", 400, arena.EINVALID},
		{"POST", sub + "/disqualify", ts.admin, json, `{"reason":"copied\u0000"}`, 400, arena.EINVALID},
		{"POST", sub + "/disqualify", ts.admin, json, "{\"reason\":\"copied\xed\xa0\x80\"}", 400, arena.EINVALID},
		// Numbers in bodies, past what the fields (and Postgres) hold.
		{"POST", "/api/v1/challenges", ts.admin, json, `{"slug":"big","kind":"optimizer","rules":{"hidden_seeds":2147483648}}`, 400, arena.EINVALID},
		{"POST", "/api/v1/challenges", ts.admin, json, `{"slug":"big","kind":"optimizer","rules":{"round_hours":9223372036854775808}}`, 400, arena.EINVALID},
		{"POST", "/api/v1/challenges", ts.admin, json, `{"slug":"big","kind":"optimizer","limits":{"fuel_per_task":1e30}}`, 400, arena.EINVALID},
		{"POST", "/api/v1/challenges", ts.admin, json, `{"slug":"big","kind":"optimizer","params":{"steps":2147483648}}`, 400, arena.EINVALID},
		{"PATCH", "/api/v1/challenges/demo", ts.admin, json, `{"rules":{"daily_submissions":2147483648}}`, 400, arena.EINVALID},
		{"PATCH", "/api/v1/challenges/demo", ts.admin, json, `{"rules":{"margin":1e400}}`, 400, arena.EINVALID},
		{"PATCH", "/api/v1/challenges/demo", ts.admin, json, `{"rules":{"round_hours":-2147483649}}`, 400, arena.EINVALID},
	}
	for _, c := range cases {
		a := ts.do(t, c.method, c.path, c.key, c.contentType, []byte(c.body))
		if a.status != c.status {
			t.Errorf("%s %s %q: %d, want %d\n%s", c.method, c.path, c.body, a.status, c.status, a.body)
			continue
		}
		switch {
		case c.code != "" && a.err.Error.Code != c.code:
			t.Errorf("%s %s %q: body %s, want the JSON error %q", c.method, c.path, c.body, a.body, c.code)
		case c.code == "" && !strings.Contains(string(a.body), "Not Found"):
			t.Errorf("%s %s: want the 404 page, got %s", c.method, c.path, a.body)
		}
	}
	if logs := ts.logs.String(); strings.Contains(logs, "internal error") || strings.Contains(logs, "level=ERROR") {
		t.Errorf("hostile input reached the logs as an internal error:\n%s", logs)
	}
	// None of it got in.
	a := ts.do(t, "GET", "/api/v1/challenges/demo", "", "", nil)
	if !strings.Contains(string(a.body), `"title": "demo"`) || strings.Contains(string(a.body), `"description": "a`) {
		t.Errorf("the challenge changed: %s", a.body)
	}
}
