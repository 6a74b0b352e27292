package store_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/internal/pgtest"
	"github.com/arena-dev/arena/store"
)

// withCustom appends a custom section called name holding payload.
func withCustom(wasm []byte, name string, payload []byte) []byte {
	body := append([]byte{byte(len(name))}, name...)
	body = append(body, payload...)
	out := append(append([]byte{}, wasm...), 0, byte(len(body)))
	return append(out, body...)
}

// withNames appends a "name" section naming function 0 fn.
func withNames(wasm []byte, fn string) []byte {
	names := append([]byte{1, 0, byte(len(fn))}, fn...)
	return withCustom(wasm, "name", append([]byte{1, byte(len(names))}, names...))
}

func signSGD(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../examples/optimizer/signsgd.wasm")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A copy that differs only in custom sections is the first submitter's,
// and the 409 names the submission it copies.
func TestCopiesThatDifferOnlyInCustomSectionsConflict(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	ch := newChallenge(t, s, "copies", 0.01)
	names := []string{"alice", "bob", "carol", "dave"}
	who := map[string]arena.Competitor{}
	for _, n := range names {
		c, _, err := s.CreateCompetitor(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		who[n] = c
	}
	orig := withNames(signSGD(t), "alices_step")
	first, err := s.CreateSubmission(ctx, ch, who["alice"].ID, orig)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, by string
		module   []byte
		want     string
	}{
		{"the name section changed", "bob", withNames(signSGD(t), "bobs_step"),
			"the same code was already submitted to copies by alice as submission " + first.ID},
		{"a custom section added", "carol", withCustom(orig, "abc", []byte{1}),
			"the same code was already submitted to copies by alice as submission " + first.ID},
		{"the very bytes", "bob", orig,
			"an identical module was already submitted to copies by alice as submission " + first.ID},
		{"her own, without names", "alice", signSGD(t),
			"you already submitted this code to copies as submission " + first.ID},
		{"her own", "alice", orig, "you already submitted this module to copies as submission " + first.ID},
	} {
		_, err := s.CreateSubmission(ctx, ch, who[c.by].ID, c.module)
		if arena.ErrorCode(err) != arena.ECONFLICT || !strings.Contains(arena.ErrorMessage(err), c.want) {
			t.Errorf("%s from %s: %v, want a conflict saying %q", c.name, c.by, err, c.want)
		}
	}
	// Other code is new, in this challenge or the same code in another.
	other := append([]byte{}, signSGD(t)...)
	other[len(other)-3] ^= 1
	if _, err := s.CreateSubmission(ctx, ch, who["dave"].ID, other); err != nil {
		t.Errorf("different code: %v", err)
	}
	if _, err := s.CreateSubmission(ctx, newChallenge(t, s, "elsewhere", 0.01), who["bob"].ID, withNames(signSGD(t), "x")); err != nil {
		t.Errorf("the same code in another challenge: %v", err)
	}

	// Copies uploaded at once: exactly one is taken.
	race := newChallenge(t, s, "race", 0.01)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.CreateSubmission(ctx, race, who[names[i]].ID, withCustom(orig, "n", []byte{byte(i)}))
		}()
	}
	wg.Wait()
	taken := 0
	for _, err := range errs {
		switch arena.ErrorCode(err) {
		case "":
			taken++
		case arena.ECONFLICT:
		default:
			t.Errorf("concurrent copy: %v", err)
		}
	}
	if taken != 1 {
		t.Errorf("%d of 4 concurrent copies were taken, want 1", taken)
	}
}

// Rows from before code hashes were recorded are matched by their sha256
// until FillCodeHashes fills them in, and then as any other.
func TestFillCodeHashesCatchesCopiesOfOlderSubmissions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	s, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	ch := newChallenge(t, s, "old", 0.01)
	alice, _, _ := s.CreateCompetitor(ctx, "alice")
	bob, _, _ := s.CreateCompetitor(ctx, "bob")
	orig := signSGD(t)
	first, err := s.CreateSubmission(ctx, ch, alice.ID, orig)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSubmission(ctx, ch, alice.ID, []byte("not wasm at all")); err != nil {
		t.Fatal(err)
	}
	// As a row from before the migration.
	if _, err := conn.Exec(ctx, `UPDATE submissions SET code_sha256 = NULL`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSubmission(ctx, ch, bob.ID, orig); arena.ErrorCode(err) != arena.ECONFLICT {
		t.Errorf("the very bytes of an older row: %v, want conflict", err)
	}
	n, err := s.FillCodeHashes(ctx)
	if err != nil || n != 2 {
		t.Fatalf("filled %d, %v; want 2", n, err)
	}
	_, err = s.CreateSubmission(ctx, ch, bob.ID, withCustom(orig, "abc", nil))
	if arena.ErrorCode(err) != arena.ECONFLICT || !strings.Contains(arena.ErrorMessage(err), first.ID) {
		t.Errorf("a copy of an older row, once filled: %v, want a conflict naming %s", err, first.ID)
	}
	var missing int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM submissions WHERE code_sha256 IS NULL`).Scan(&missing); err != nil || missing != 0 {
		t.Errorf("%d rows without a code hash, %v", missing, err)
	}
	if n, err := s.FillCodeHashes(ctx); n != 0 || err != nil {
		t.Errorf("a second fill: %d, %v", n, err)
	}
}
