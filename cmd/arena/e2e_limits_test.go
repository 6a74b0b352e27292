package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestRateLimits: past its rate a client gets 429 with Retry-After, and
// the limit is per client.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	s := startServerEnv(t, map[string]string{"ARENA_RATE_LIMIT": "0", "ARENA_REGISTRATIONS_PER_HOUR": "2"})
	var e apiError
	for i, name := range []string{"ann", "ben"} {
		if code := s.call(t, "POST", "/api/v1/competitors", "", "application/json", []byte(`{"name":"`+name+`"}`), nil); code != 201 {
			t.Fatalf("registration %d: %d", i+1, code)
		}
	}
	req, _ := http.NewRequest("POST", s.url+"/api/v1/competitors", strings.NewReader(`{"name":"cat"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "too many registrations from you") {
		t.Errorf("a third registration within the hour: %d, Retry-After %q, %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	// One request a second, bursts of two: the admin's third at once waits,
	// while an anonymous reader has a bucket of its own.
	s = startServerEnv(t, map[string]string{"ARENA_RATE_LIMIT": "1"})
	codes := []int{}
	for range 3 {
		codes = append(codes, s.call(t, "GET", "/api/v1/keys", s.adminKey, "", nil, &e))
	}
	if codes[0] != 200 || codes[2] != 429 || e.Error.Code != "rate_limited" {
		t.Errorf("three requests at once on a limit of 1/s, bursts of 2: %v, %+v", codes, e)
	}
	if code := s.call(t, "GET", "/api/v1/challenges", "", "", nil, nil); code != 200 {
		t.Errorf("an anonymous reader after the admin's burst: %d", code)
	}
}
