package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
		chromedp.WindowSize(1280, 900), chromedp.UserDataDir(t.TempDir()))
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
// server, with the scoring done by a standalone `arena worker` over the
// server's NATS, as in a split deployment. Two tabs are open before any
// work is done: a challenge page, which must show the crown arrive, and a
// queued submission's page, which must follow it to its result. Neither
// is reloaded by hand.
func TestBrowserFollowsTheCrown(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	s := startServerEnv(t, map[string]string{"ARENA_WORKERS": "0", "ARENA_NATS_LISTEN": "127.0.0.1:0"})
	natsURL := regexp.MustCompile(`embedded NATS listening" url=(nats://\S+)`).FindStringSubmatch(s.out.String())
	if natsURL == nil {
		t.Fatalf("the server did not say where its NATS listens:\n%s", s.out)
	}
	key := s.register(t, "erin")
	spec := `{"slug":"live","title":"Live cup","kind":"optimizer","params":{"workloads":["quadratic"],"seeds":[1],"steps":60},"rules":{"hidden_seeds":0}}`
	s.createChallenge(t, spec)
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
	// A second browser rather than a second tab: with chromedp, a second
	// tab stopped answering once its page reloaded itself (seen here).
	tab := browser(t)
	run(t, tab, "open the queued submission's page", chromedp.Steps(
		chromedp.Navigate(s.url+"/submissions/"+sub.ID),
		chromedp.WaitVisible(`//span[contains(@class, "status") and text()="queued"]`),
	))

	// Now a worker on "another machine" takes the job.
	workerCtx, stopWorker := context.WithCancel(context.Background())
	workerDone := make(chan int, 1)
	env := map[string]string{"ARENA_DATABASE_URL": s.env["ARENA_DATABASE_URL"], "ARENA_NATS_URL": natsURL[1], "ARENA_CACHE_DIR": t.TempDir()}
	var workerOut syncBuffer
	w := &cli{stdout: &workerOut, stderr: &workerOut, env: func(k string) string { return env[k] }}
	go func() { workerDone <- w.run(workerCtx, []string{"worker", "--concurrency", "1"}) }()
	t.Cleanup(func() {
		stopWorker()
		if code := <-workerDone; code != 0 {
			t.Errorf("arena worker exited %d:\n%s", code, workerOut.String())
		}
	})

	run(t, tab, "the submission page follows it to its result", chromedp.WaitVisible(`//span[contains(@class, "status") and text()="scored"]`))
	if status := run(t, tab, "read the status", chromedp.Text(chromedp.CSS(`span.status`))); status != "scored" {
		t.Errorf("submission page status %q", status)
	}
	screenshot(t, tab, "submission.png")
	run(t, ctx, "the crown shows on the open challenge page", chromedp.WaitVisible(`//section[@id="champion"]/h2[text()="Champion"]`))
	if champion := run(t, ctx, "read the champion", chromedp.Text(chromedp.CSS(`#champion p strong`))); champion != "erin" {
		t.Errorf("the page crowned %q, want erin", champion)
	}
	screenshot(t, ctx, "challenge.png")
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
