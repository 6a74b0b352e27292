package main

import (
	"context"
	"strings"
	"testing"
)

// TestPublishedOrderingsHold runs the validity suite on the default
// workloads, as docs/validity.md does: every published ordering must hold.
func TestPublishedOrderingsHold(t *testing.T) {
	if testing.Short() {
		t.Skip("scores every reference example")
	}
	rep, err := run(context.Background(), defaultProfile(), func(s string) { t.Log(s) })
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.write(&b)
	for _, c := range rep.checks {
		if !c.ok {
			t.Errorf("%s: %s", c.claim, c.measured)
		}
	}
	if t.Failed() {
		t.Log("\n" + b.String())
	}
}
