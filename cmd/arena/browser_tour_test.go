package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/arena-dev/arena"
)

// seriesPixels counts, for each series of each drawn chart on the page,
// the canvas pixels close to the series' colour: a line that was drawn
// leaves hundreds, one that was not leaves none.
const seriesPixels = `[...document.querySelectorAll("figure.chart[data-drawn=true]")].map((fig) => {
  const spec = JSON.parse(fig.dataset.chart);
  const canvas = fig.querySelector("canvas");
  const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  return spec.series.map((s) => {
    const c = [1, 3, 5].map((i) => parseInt(s.color.slice(i, i + 2), 16));
    let n = 0;
    for (let i = 0; i < px.length; i += 4) {
      if (px[i + 3] > 200 && Math.abs(px[i] - c[0]) + Math.abs(px[i + 1] - c[1]) + Math.abs(px[i + 2] - c[2]) < 60) n++;
    }
    return n;
  });
})`

// checkCharts asserts the page drew want charts, each with every series'
// line on its canvas, not merely a chart element.
func checkCharts(t *testing.T, ctx context.Context, page string, want int) {
	t.Helper()
	run(t, ctx, page+": the charts are drawn", chromedp.WaitVisible(`figure.chart[data-drawn="true"] canvas`))
	counts := run(t, ctx, page+": count the lines' pixels", chromedp.Evaluate[[][]int](seriesPixels))
	if len(counts) != want {
		t.Fatalf("%s: %d charts drawn, want %d", page, len(counts), want)
	}
	for i, series := range counts {
		if len(series) < 2 {
			t.Errorf("%s: chart %d has %d series, want a line and its baseline", page, i, len(series))
		}
		for j, n := range series {
			if n < 30 {
				t.Errorf("%s: chart %d, series %d left %d pixels of its colour: not drawn (%v)", page, i, j, n, counts)
			}
		}
	}
}

// TestBrowserTour is a competitor's and an admin's way through the pages
// in a real browser, the scoring done by a standalone worker started
// part-way, so the queue can be seen: sign in with a key, upload a module
// from the form, see its place in the queue, watch the page follow it to
// its result with its curve against the baseline's, see the crown's
// history charted, sign out; an admin signs in, sees the queue, and
// disqualifies the upload from its page. With
// ARENA_SCREENSHOTS set it leaves the README's tour (docs/tour) there.
func TestBrowserTour(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	s := startServerEnv(t, map[string]string{"ARENA_WORKERS": "0", "ARENA_NATS_LISTEN": "127.0.0.1:0", "ARENA_QUEUE_POLL": "200ms"})
	natsURL := regexp.MustCompile(`embedded NATS listening" url=(nats://\S+)`).FindStringSubmatch(s.out.String())
	if natsURL == nil {
		t.Fatalf("the server did not say where its NATS listens:\n%s", s.out)
	}
	erin, finn := s.register(t, "erin"), s.register(t, "finn")
	s.createChallenge(t, `{"slug":"tiny-lm","title":"Tiny LM sprint","kind":"optimizer",
		"description":"Train a one-block transformer on Go source to AdamW's final held-out loss in fewer steps.",
		"params":`+tinyLM+`,"rules":{"hidden_seeds":0}}`)
	signsgd, err := os.ReadFile("../../examples/optimizer/signsgd.wasm")
	if err != nil {
		t.Fatal(err)
	}
	// A first evaluation, for the queue's estimates to go by; then the
	// worker stops.
	var warmUp arena.Submission
	variant := bytes.Replace(signsgd, []byte{5, 5, 1, 1, 1, 0x80, 2}, []byte{5, 5, 1, 1, 1, 0xfe, 1}, 1)
	if code := s.call(t, "POST", "/api/v1/challenges/tiny-lm/submissions", finn, "application/wasm", variant, &warmUp); code != 202 {
		t.Fatalf("submit: %d", code)
	}
	stop := startWorker(t, s.env["ARENA_DATABASE_URL"], natsURL[1])
	waitFor(t, s, warmUp.ID, func(sub arena.Submission) bool { return sub.Status.Final() })
	stop()

	// finn's module is ahead in the queue; no worker runs.
	var ahead arena.Submission
	if code := s.call(t, "POST", "/api/v1/challenges/tiny-lm/submissions", finn, "application/wasm", sameBehaviour(t, signsgd), &ahead); code != 202 {
		t.Fatalf("submit: %d", code)
	}

	run(t, ctx, "open the sign-in page", chromedp.Steps(
		chromedp.Navigate(s.url+"/signin"),
		chromedp.WaitVisible(`#key`),
		chromedp.SendKeys(`#key`, erin),
	))
	screenshot(t, ctx, "signin.png")
	module, err := filepath.Abs("../../examples/optimizer/signsgd.wasm")
	if err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "sign in and choose a module", chromedp.Steps(
		chromedp.Click(`main form button[type=submit]`),
		chromedp.WaitVisible(`#upload`),
		chromedp.SetValue(`#challenge`, "tiny-lm"),
		chromedp.SetUploadFiles(`#module`, []string{module}),
	))
	if who := run(t, ctx, "read who is signed in", chromedp.Text(chromedp.CSS(`nav .who`))); who != "erin (competitor)" {
		t.Errorf("signed in as %q", who)
	}
	screenshot(t, ctx, "me.png")
	run(t, ctx, "upload", chromedp.Steps(
		chromedp.Click(`#upload button[type=submit]`),
		chromedp.WaitVisible(`#position`),
	))
	if pos := run(t, ctx, "read the queue position", chromedp.Text(chromedp.CSS(`#position`))); pos != "2" {
		t.Errorf("the upload is at position %q in the queue, behind finn's, want 2", pos)
	}
	if eta := run(t, ctx, "read the estimated start", chromedp.Text(chromedp.CSS(`#eta`))); !strings.HasSuffix(eta, " UTC") {
		t.Errorf("estimated start %q, want a time from the first evaluation's duration", eta)
	}
	screenshot(t, ctx, "queued.png")
	url := run(t, ctx, "read the submission's address", chromedp.Location())
	id := url[strings.LastIndex(url, "/")+1:]

	// An admin, in a browser of their own, sees both waiting.
	admin := browser(t)
	run(t, admin, "the admin signs in", chromedp.Steps(
		chromedp.Navigate(s.url+"/signin"),
		chromedp.SendKeys(`#key`, s.adminKey),
		chromedp.Click(`main form button[type=submit]`),
		chromedp.WaitVisible(`//h1[text()="Queue"]`),
	))
	if rows := run(t, admin, "count the queued jobs", chromedp.Evaluate[int](`document.querySelectorAll("main tbody tr").length`)); rows != 2 {
		t.Errorf("the queue page lists %d jobs, want 2", rows)
	}
	screenshot(t, admin, "queue.png")

	// A worker on "another machine" takes jobs again.
	t.Cleanup(startWorker(t, s.env["ARENA_DATABASE_URL"], natsURL[1]))

	run(t, ctx, "the page follows the upload to its result", chromedp.WaitVisible(`//span[@id="status" and text()="scored"]`))
	checkCharts(t, ctx, "the submission page", 1)
	if rows := run(t, ctx, "count the task rows", chromedp.Evaluate[int](`document.querySelectorAll("h2 + table tbody tr").length`)); rows != 1 {
		t.Errorf("%d task rows, want 1", rows)
	}
	screenshot(t, ctx, "submission.png")

	run(t, ctx, "open the challenge page", chromedp.Steps(
		chromedp.Navigate(s.url+"/challenges/tiny-lm"),
		chromedp.WaitVisible(`//section[@id="champion"]/h2[text()="Champion"]`),
	))
	if champion := run(t, ctx, "read the champion", chromedp.Text(chromedp.CSS(`#champion p strong`))); champion != "finn" {
		t.Errorf("the page crowned %q, want finn (first to the score)", champion)
	}
	checkCharts(t, ctx, "the challenge page", 1)
	screenshot(t, ctx, "challenge.png")

	run(t, ctx, "sign out", chromedp.Steps(
		chromedp.Click(`nav button.link`),
		chromedp.WaitVisible(`//nav/a[text()="Sign in"]`),
	))
	run(t, ctx, "my submissions need a sign-in again", chromedp.Steps(
		chromedp.Navigate(s.url+"/me"),
		chromedp.WaitVisible(`#key`),
	))

	// The admin takes the upload out of the tournament from its page.
	run(t, admin, "the admin opens the submission", chromedp.Steps(
		chromedp.Navigate(s.url+"/submissions/"+id),
		chromedp.WaitVisible(`#reason`),
	))
	screenshot(t, admin, "admin.png")
	run(t, admin, "the admin disqualifies it", chromedp.Steps(
		chromedp.SendKeys(`#reason`, "a tour of the admin's form"),
		chromedp.Click(`button.danger`),
		chromedp.WaitVisible(`//span[@id="status" and text()="disqualified"]`),
	))
	if got := run(t, admin, "read the notice", chromedp.Text(chromedp.CSS(`.notice`))); !strings.Contains(got, "disqualified") {
		t.Errorf("notice %q", got)
	}
}

// startWorker runs an `arena worker` as on another machine, over the
// server's NATS; the returned function stops it and checks it exited
// cleanly.
func startWorker(t *testing.T, databaseURL, natsURL string) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	env := map[string]string{"ARENA_DATABASE_URL": databaseURL, "ARENA_NATS_URL": natsURL, "ARENA_CACHE_DIR": t.TempDir()}
	var out syncBuffer
	w := &cli{stdout: &out, stderr: &out, env: func(k string) string { return env[k] }}
	go func() { done <- w.run(ctx, []string{"worker", "--concurrency", "1"}) }()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("arena worker exited %d:\n%s", code, out.String())
			}
		})
	}
}
