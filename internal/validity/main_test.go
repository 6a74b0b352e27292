package main

import (
	"context"
	"strings"
	"testing"

	"github.com/arena-dev/arena/sandbox"
)

// TestPublishedOrderingsHold runs the validity suite on the default
// workloads, as docs/validity.md does: every published ordering must hold.
func TestPublishedOrderingsHold(t *testing.T) {
	if testing.Short() {
		t.Skip("scores every reference example")
	}
	// The activation and gradient kinds' orderings have their own,
	// smaller tests below.
	p := defaultProfile()
	p.activation = ""
	p.gradCompression = ""
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

// TestActivationOrderingsHold is the activation_compression part of the
// suite, CI-sized: the default workload on one public seed, and only the
// examples its orderings compare (bf16cast and byteplane train exactly
// the uncompressed run on the default bfloat16 wire, and the lossless
// track needs no training of its own).
func TestActivationOrderingsHold(t *testing.T) {
	// One seed, one core each: the two run side by side.
	t.Parallel()
	if testing.Short() {
		t.Skip("trains the default LM through every activation example")
	}
	ctx := context.Background()
	dir := t.TempDir()
	modules, err := buildActivation(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	eng := sandbox.NewEngine(8)
	defer eng.Close(ctx)
	res, err := runActivation(ctx, eng, modules, `{"seeds":[1]}`, []string{"identity", "int8", "int4", "int2", "topk", "lowrank"}, func(s string) { t.Log(s) })
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.checks() {
		if !c.ok {
			t.Errorf("%s: %s", c.claim, c.measured)
		}
	}
	if t.Failed() {
		var b strings.Builder
		res.write(&b)
		t.Log("\n" + b.String())
	}
}

// TestGradCompressionOrderingsHold checks the grad_compression kind's
// orderings on the default workload's first public seed, natively (the
// modules score the same, bit for bit): about a CPU-minute.
func TestGradCompressionOrderingsHold(t *testing.T) {
	// One seed, one core each: the two run side by side.
	t.Parallel()
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
