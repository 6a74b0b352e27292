package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/internal/pgtest"
)

// browser is a cookie-keeping client that does not follow redirects, so
// each answer can be checked.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func (b *browser) get(path string) (*http.Response, string) {
	req, _ := http.NewRequest("GET", b.base+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) upload(path string, fields map[string]string, module []byte) (*http.Response, string) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if module != nil {
		fw, _ := mw.CreateFormFile("module", "module.wasm")
		fw.Write(module)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", b.base+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token is the CSRF token of the forms on a page.
func (b *browser) token(path string) string {
	b.t.Helper()
	_, body := b.get(path)
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("%s has no CSRF token:\n%s", path, body)
	}
	return m[1]
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestSignInUploadAndSignOut: a competitor signs in with their key (the
// cookie does not hold it), uploads modules from the form with the API's
// checks, sees their details, and signs out; every form refuses a missing
// or wrong CSRF token; a tampered or revoked session is no session.
func TestSignInUploadAndSignOut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	ch := arena.Challenge{Slug: "opt", Title: "Optimizer cup", Kind: "optimizer", BenchmarkVersion: 2,
		Params: json.RawMessage(`{"workloads":["quadratic"],"seeds":[1]}`), Limits: arena.DefaultLimits(), Rules: arena.Rules{Margin: 0.01, DailySubmissions: 2}}
	if err := s.CreateChallenge(ctx, &ch); err != nil {
		t.Fatal(err)
	}
	alice, key, _ := s.CreateCompetitor(ctx, "alice")
	admin, _ := s.CreateKey(ctx, arena.RoleAdmin, "root")
	srv := newSite(t, s)
	b := newBrowser(t, srv.URL)

	token := b.token("/signin")
	for name, form := range map[string]url.Values{
		"no token":    {"key": {key}},
		"wrong token": {"key": {key}, "csrf": {"x" + token[1:]}},
	} {
		if resp, body := b.post("/signin", form); resp.StatusCode != 403 || !strings.Contains(body, "CSRF token") {
			t.Errorf("sign-in with %s: %d\n%s", name, resp.StatusCode, body)
		}
	}
	if resp, body := b.post("/signin", url.Values{"key": {strings.Repeat("k", 70<<10)}, "csrf": {token}}); resp.StatusCode != 400 || !strings.Contains(body, "larger than") {
		t.Errorf("a sign-in form of 70 KiB: %d\n%s", resp.StatusCode, body)
	}
	if resp, body := b.post("/signin", url.Values{"key": {"arena_nope"}, "csrf": {token}}); resp.StatusCode != 401 || !strings.Contains(body, "unknown or revoked") {
		t.Errorf("sign-in with a wrong key: %d\n%s", resp.StatusCode, body)
	}
	resp, _ := b.post("/signin", url.Values{"key": {key}, "csrf": {token}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/me" {
		t.Fatalf("sign-in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var set *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "arena_session" {
			set = c
		}
	}
	if set == nil || !set.HttpOnly || set.SameSite != http.SameSiteLaxMode || strings.Contains(set.Value, key) || strings.Contains(set.Value, strings.TrimPrefix(key, "arena_")) {
		t.Fatalf("session cookie %+v", set)
	}
	_, me := b.get("/me")
	for _, want := range []string{"My submissions", `<label for="module">`, `<label for="challenge">`, "alice (competitor)", "Sign out"} {
		if !strings.Contains(me, want) {
			t.Errorf("/me lacks %q", want)
		}
	}
	token = b.token("/me")

	signsgd, err := os.ReadFile("../examples/optimizer/signsgd.wasm")
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := b.upload("/submit", map[string]string{"challenge": "opt"}, signsgd); resp.StatusCode != 403 || !strings.Contains(body, "CSRF") {
		t.Errorf("an upload without a token: %d", resp.StatusCode)
	}
	if resp, body := b.upload("/submit", map[string]string{"challenge": "opt", "csrf": token}, []byte("\x00asm\x01\x00\x00\x00junk")); resp.StatusCode != 400 || !strings.Contains(body, "module rejected") {
		t.Errorf("an upload of a broken module: %d\n%s", resp.StatusCode, body)
	}
	if resp, body := b.upload("/submit", map[string]string{"challenge": "opt", "csrf": token}, nil); resp.StatusCode != 400 || !strings.Contains(body, "Choose a .wasm file") {
		t.Errorf("an upload without a file: %d\n%s", resp.StatusCode, body)
	}
	resp, _ = b.upload("/submit", map[string]string{"challenge": "opt", "csrf": token}, signsgd)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != 303 || !strings.HasPrefix(loc, "/submissions/") {
		t.Fatalf("upload: %d to %q", resp.StatusCode, loc)
	}
	id := strings.TrimPrefix(loc, "/submissions/")
	if sub, err := s.Summary(ctx, id); err != nil || sub.CompetitorID != alice.ID || sub.Status != arena.StatusQueued {
		t.Errorf("the uploaded submission: %+v %v", sub, err)
	}
	if resp, body := b.upload("/submit", map[string]string{"challenge": "opt", "csrf": token}, signsgd); resp.StatusCode != 409 || !strings.Contains(body, "already") {
		t.Errorf("the same module again: %d\n%s", resp.StatusCode, body)
	}
	_, page := b.get(loc)
	if !strings.Contains(page, `id="position">1<`) {
		t.Errorf("the new submission's page shows no queue position:\n%s", page)
	}
	if _, me := b.get("/me"); !strings.Contains(me, id[:8]) {
		t.Errorf("/me does not list the upload")
	}
	if resp, _ := b.get("/queue"); resp.StatusCode != 403 {
		t.Errorf("a competitor's /queue: %d", resp.StatusCode)
	}
	if resp, _ := b.post("/submissions/"+id+"/rescore", url.Values{"csrf": {token}}); resp.StatusCode != 403 {
		t.Errorf("a competitor's rescore: %d", resp.StatusCode)
	}

	// Signed out, an upload is refused before its body is read.
	if resp, _ := newBrowser(t, srv.URL).upload("/submit", map[string]string{"challenge": "opt", "csrf": token}, signsgd); resp.StatusCode != 401 {
		t.Errorf("an upload without a session: %d", resp.StatusCode)
	}

	// A tampered session is no session, and is cleared.
	forged := newBrowser(t, srv.URL)
	u, _ := url.Parse(srv.URL)
	c := *b.cookie("arena_session")
	payload, _, _ := strings.Cut(c.Value, ".")
	c.Value = payload + ".AAAA" // the payload as signed, a MAC that is not its own
	forged.c.Jar.SetCookies(u, []*http.Cookie{&c})
	if resp, _ := forged.get("/me"); resp.StatusCode != 303 || resp.Header.Get("Location") != "/signin" {
		t.Errorf("a tampered session's /me: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// Signing out ends the session.
	if resp, _ := b.post("/signout", url.Values{"csrf": {"wrong"}}); resp.StatusCode != 403 {
		t.Errorf("sign-out with a wrong token: %d", resp.StatusCode)
	}
	if resp, _ := b.post("/signout", url.Values{"csrf": {token}}); resp.StatusCode != 303 {
		t.Errorf("sign-out: %d", resp.StatusCode)
	}
	if b.cookie("arena_session") != nil {
		t.Errorf("the session cookie outlived sign-out")
	}
	if resp, _ := b.get("/me"); resp.StatusCode != 303 {
		t.Errorf("/me after sign-out: %d", resp.StatusCode)
	}

	// An admin signs in, sees the queue, and disqualifies the upload.
	a := newBrowser(t, srv.URL)
	resp, _ = a.post("/signin", url.Values{"key": {admin}, "csrf": {a.token("/signin")}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/queue" {
		t.Fatalf("admin sign-in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, q := a.get("/queue")
	if !strings.Contains(q, id[:8]) || !strings.Contains(q, "1 queued") && !strings.Contains(q, "<strong>1</strong> queued") {
		t.Errorf("the queue page lacks the upload:\n%s", q)
	}
	token = a.token("/submissions/" + id)
	if _, page := a.get("/submissions/" + id); !strings.Contains(page, `<label for="reason">`) {
		t.Errorf("the admin's submission page has no disqualify form")
	}
	if resp, body := a.post("/submissions/"+id+"/disqualify", url.Values{"csrf": {token}}); resp.StatusCode != 400 || !strings.Contains(body, "reason") {
		t.Errorf("disqualify without a reason: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := a.post("/submissions/"+id+"/disqualify", url.Values{"csrf": {token}, "reason": {"a test"}}); resp.StatusCode != 303 {
		t.Errorf("disqualify: %d", resp.StatusCode)
	}
	if sub, _ := s.Summary(ctx, id); sub.Status != arena.StatusDisqualified || sub.DisqualifiedReason != "a test" {
		t.Errorf("after the form: %s %q", sub.Status, sub.DisqualifiedReason)
	}

	// Revoking the key ends the sessions signed in with it.
	keys, _ := s.Keys(ctx)
	for _, k := range keys {
		if k.Role == arena.RoleAdmin {
			other, _ := s.CreateKey(ctx, arena.RoleAdmin, "spare")
			_ = other
			if err := s.RevokeKey(ctx, k.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if resp, _ := a.get("/queue"); resp.StatusCode != 403 {
		t.Errorf("the queue page after the admin's key was revoked: %d", resp.StatusCode)
	}
}

// TestSubmissionPageByViewer: per-task results and curves are the
// owner's and the admins'; a hidden task's seed, log and curve only the
// admins'.
func TestSubmissionPageByViewer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	ch := arena.Challenge{Slug: "lm", Title: "LM", Kind: "optimizer", BenchmarkVersion: 3,
		Params: json.RawMessage(`{}`), Limits: arena.DefaultLimits(), Rules: arena.Rules{Margin: 0.01, HiddenSeeds: 1}}
	if err := s.CreateChallenge(ctx, &ch); err != nil {
		t.Fatal(err)
	}
	_, key, _ := s.CreateCompetitor(ctx, "olga")
	admin, _ := s.CreateKey(ctx, arena.RoleAdmin, "root")
	owner, _ := s.Authenticate(ctx, key)
	sub, err := s.CreateSubmission(ctx, ch, owner.CompetitorID, []byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	curve := func(l float64) []arena.CurvePoint { return []arena.CurvePoint{{Step: 0, Loss: 5}, {Step: 10, Loss: l}} }
	reached := 7.5
	training := func(l float64) *arena.Training {
		return &arena.Training{Steps: 10, Target: 4.5, BaselineStepsToTarget: 10, StepsToTarget: &reached, Curve: curve(l), BaselineCurve: curve(4.5)}
	}
	loss, score := 4.25, 0.3
	ev := arena.Evaluation{Status: arena.StatusScored, Score: &score, PublicScore: &score, Round: 1, Tasks: []arena.TaskResult{
		{Workload: "lm", Seed: 1, Loss: &loss, BaselineLoss: 4.5, Score: score, Log: "public log", Training: training(4.25)},
		{Workload: "lm", Seed: 424242, Hidden: true, Loss: &loss, BaselineLoss: 4.5, Score: score, Log: "hidden log", Training: training(4.125)},
	}}
	if _, err := s.Finish(ctx, sub.ID, ev, nil); err != nil {
		t.Fatal(err)
	}
	srv := newSite(t, s)
	signedIn := func(key string) *browser {
		b := newBrowser(t, srv.URL)
		if resp, _ := b.post("/signin", url.Values{"key": {key}, "csrf": {b.token("/signin")}}); resp.StatusCode != 303 {
			t.Fatalf("sign-in: %d", resp.StatusCode)
		}
		return b
	}
	for _, c := range []struct {
		who        string
		b          *browser
		charts     int
		want, lack []string
	}{
		{"anyone", newBrowser(t, srv.URL), 0, []string{"sign in"}, []string{"<h2>Tasks</h2>", "public log", "424242", "hidden log"}},
		{"the owner", signedIn(key), 1, []string{"<h2>Tasks</h2>", "7.5 <span", "public log", "<td>hidden</td>", "lm, seed 1: held-out loss"},
			[]string{"424242", "hidden log", "Score again"}},
		{"an admin", signedIn(admin), 2, []string{"424242 (hidden)", "hidden log", "public log", "Score again", `<label for="reason">`}, nil},
	} {
		_, page := c.b.get("/submissions/" + sub.ID)
		if n := strings.Count(page, `<figure class="chart"`); n != c.charts {
			t.Errorf("%s sees %d charts, want %d", c.who, n, c.charts)
		}
		for _, w := range c.want {
			if !strings.Contains(page, w) {
				t.Errorf("%s does not see %q", c.who, w)
			}
		}
		for _, l := range c.lack {
			if strings.Contains(page, l) {
				t.Errorf("%s sees %q", c.who, l)
			}
		}
	}
}
