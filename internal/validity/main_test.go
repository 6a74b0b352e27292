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
	p := defaultProfile()
	p.gradCompression = "" // TestGradCompressionOrderingsHold checks that kind, natively
	rep, err := run(context.Background(), p, func(s string) { t.Log(s) })
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

// TestGradCompressionOrderingsHold checks the grad_compression kind's
// orderings on the default workload's first public seed, natively (the
// modules score the same, bit for bit): about a CPU-minute.
func TestGradCompressionOrderingsHold(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the default LM with every gradient compressor")
	}
	checks, err := gradNativeChecks(defaultProfile().gradCompression, []uint64{1}, func(s string) { t.Log(s) })
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: %s", c.claim, c.measured)
		}
	}
}
