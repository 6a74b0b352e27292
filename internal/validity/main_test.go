package main

import (
	"context"
	"strings"
	"testing"
)

// TestOrderingsHoldOnTheTinyProfile runs the validity suite on the
// CI-sized configuration: every published ordering must hold there as it
// does on the default workloads (docs/validity.md).
func TestOrderingsHoldOnTheTinyProfile(t *testing.T) {
	if testing.Short() {
		t.Skip("scores every reference example")
	}
	rep, err := run(context.Background(), tinyProfile(), func(s string) { t.Log(s) })
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
