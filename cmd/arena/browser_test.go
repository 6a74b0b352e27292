package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/arena-dev/arena"
)

// browser starts a headless Chromium (Debian's, which make test installs)
// for the test, closed when it ends.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed: make test installs it (scripts/chromium.sh)")
		}
		t.Skip("chromium is not installed; make test installs it")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first run starts the browser, which lives as long as its
	// context: no timeout on that one.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// run runs browser steps, each batch bounded so a page that never shows
// what it should fails the test instead of hanging it.
func run[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// TestBrowserFollowsTheCrown drives a real browser against the real
// server: a visitor watching a challenge page sees the crown arrive
// without reloading by hand (the page follows the champion events), and a
// submission's page refreshes itself until its evaluation is done.
func TestBrowserFollowsTheCrown(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	s := startServer(t)
	key, _ := s.arena(t, "", "register", "erin")
	key = strings.TrimSpace(key)
	spec := `{"slug":"live","title":"Live cup","kind":"optimizer","params":{"seeds":[1],"steps":60},"rules":{"hidden_seeds":0}}`
	if code := s.call(t, "POST", "/api/v1/challenges", s.adminKey, "application/json", []byte(spec), nil); code != 201 {
		t.Fatal("create challenge", code)
	}
	run(t, ctx, "open the challenge page", chromedp.Steps(
		chromedp.Navigate(s.url+"/challenges/live"),
		chromedp.WaitVisible(`//h2[text()="No champion yet"]`),
	))

	signsgd, err := os.ReadFile("../../examples/optimizer/signsgd.wasm")
	if err != nil {
		t.Fatal(err)
	}
	var sub arena.Submission
	if code := s.call(t, "POST", "/api/v1/challenges/live/submissions", key, "application/wasm", signsgd, &sub); code != 202 {
		t.Fatalf("submit: %d", code)
	}
	run(t, ctx, "the crown shows on the open page", chromedp.WaitVisible(`//section[@id="champion"]/h2[text()="Champion"]`))
	if champion := run(t, ctx, "read the champion", chromedp.Text(chromedp.CSS(`#champion p strong`))); champion != "erin" {
		t.Errorf("the page crowned %q, want erin", champion)
	}
	screenshot(t, ctx, "challenge.png")

	// A submission's page, opened while it is queued, refreshes itself
	// until the evaluation is done.
	variant := append(append([]byte{}, signsgd...), 0, 5, 3, 'a', 'b', 'c', 1)
	if code := s.call(t, "POST", "/api/v1/challenges/live/submissions", key, "application/wasm", variant, &sub); code != 202 {
		t.Fatalf("submit the variant: %d", code)
	}
	run(t, ctx, "the submission page shows the result", chromedp.Steps(
		chromedp.Navigate(s.url+"/submissions/"+sub.ID),
		chromedp.WaitVisible(`//span[contains(@class, "status") and text()="scored"]`),
	))
	if status := run(t, ctx, "read the status", chromedp.Text(chromedp.CSS(`span.status`))); status != "scored" {
		t.Errorf("submission page status %q", status)
	}
	screenshot(t, ctx, "submission.png")
}

// screenshot saves the page as it looks, into $ARENA_SCREENSHOTS when set
// (for a person to look at), else nowhere. Quality 100 makes PNG.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("ARENA_SCREENSHOTS")
	if dir == "" {
		return
	}
	png := run(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Error(err)
	}
}
