package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/meter"
	"github.com/arena-dev/arena/sandbox"
	"github.com/arena-dev/arena/scoring"
)

const wasmUsage = "usage: arena wasm inspect [--kind KIND] [--json] FILE | arena wasm meter FILE -o OUT"

// wasm inspects and meters modules, for competitors and for debugging.
func (c *cli) wasm(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return misusef(wasmUsage)
	}
	switch args[0] {
	case "inspect":
		return c.wasmInspect(ctx, args[1:])
	case "meter":
		return c.wasmMeter(args[1:])
	}
	return misusef(wasmUsage)
}

type inspection struct {
	meter.Info
	SHA256 string `json:"sha256"`
	// CodeSHA256 identifies what the module executes, custom sections
	// dropped: the server refuses a second module with the same one.
	CodeSHA256 string `json:"code_sha256"`
	Kind       string `json:"kind"`
	Verdict    string `json:"verdict"` // "accepted" or the reason it is rejected
}

func (c *cli) wasmInspect(ctx context.Context, args []string) error {
	fs := c.flags("wasm inspect")
	kind := fs.String("kind", scoring.OptimizerKind, "benchmark kind whose ABI the verdict checks")
	asJSON := fs.Bool("json", false, "print JSON")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return misusef(wasmUsage)
	}
	wasm, err := os.ReadFile(rest[0])
	if err != nil {
		return misusef("read module: %v", err)
	}
	bench, err := scoring.New(*kind, nil)
	if err != nil {
		return misusef("%s", arena.ErrorMessage(err))
	}
	out := inspection{Kind: *kind, Verdict: "accepted"}
	out.Info.Size = len(wasm)
	if info, err := meter.Inspect(wasm); err == nil {
		out.Info = info
	}
	out.SHA256 = fmt.Sprintf("%x", sha256.Sum256(wasm))
	eng := sandbox.NewEngine(1)
	defer eng.Close(ctx)
	// What the server checks at upload: everything but compiling.
	v, err := eng.Validate(ctx, wasm, bench.ABI(), scoring.SandboxLimits(arena.DefaultLimits()))
	var rej *sandbox.RejectError
	switch {
	case err == nil:
		out.CodeSHA256 = fmt.Sprintf("%x", v.CodeSHA256)
	case errors.As(err, &rej):
		out.Verdict = "rejected: " + rej.Reason
	default:
		return err
	}
	if *asJSON {
		return printJSON(c, out)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "size\t%d bytes\n", out.Size)
	fmt.Fprintf(tw, "sha256\t%s\n", out.SHA256)
	if out.CodeSHA256 != "" {
		fmt.Fprintf(tw, "code hash\t%s (sha256, custom sections dropped)\n", out.CodeSHA256)
	}
	fmt.Fprintf(tw, "functions\t%d defined, start function: %v\n", out.Functions, out.HasStart)
	fmt.Fprintf(tw, "loops\t%d, %d of them counted (charged once on entry)\n", out.Loops, out.CountedLoops)
	for i, m := range out.Memories {
		fmt.Fprintf(tw, "memory %d\t%s pages\n", i, limitsText(m))
	}
	for i, t := range out.Tables {
		grows := ""
		if out.GrowsTables {
			grows = ", grown by table.grow"
		}
		fmt.Fprintf(tw, "table %d\t%s elements%s\n", i, limitsText(t), grows)
	}
	for _, imp := range out.Imports {
		fmt.Fprintf(tw, "import\t%s %s.%s\n", imp.Kind, imp.Module, imp.Name)
	}
	for _, exp := range out.Exports {
		fmt.Fprintf(tw, "export\t%s %s\n", exp.Kind, exp.Name)
	}
	fmt.Fprintf(tw, "verdict\t%s (kind %s, default limits)\n", out.Verdict, out.Kind)
	return tw.Flush()
}

func limitsText(l meter.Limits) string {
	s := fmt.Sprintf("min %d, ", l.Min)
	if l.Max < 0 {
		s += "no max"
	} else {
		s += fmt.Sprintf("max %d", l.Max)
	}
	if l.Imported {
		s += ", imported"
	}
	return s
}

func (c *cli) wasmMeter(args []string) error {
	fs := c.flags("wasm meter")
	out := fs.String("o", "", "where to write the metered module")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 || *out == "" {
		return misusef(wasmUsage)
	}
	wasm, err := os.ReadFile(rest[0])
	if err != nil {
		return misusef("read module: %v", err)
	}
	metered, _, err := meter.Meter(wasm)
	if err != nil {
		return fmt.Errorf("cannot meter %s: %w", rest[0], err)
	}
	if err := os.WriteFile(*out, metered, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "wrote %s (%d bytes, from %d).\n"+
		"Set the exported mutable i64 global %s to a budget before calling anything; it traps when the\n"+
		"counter falls below %s (0 unless raised). Leave %s at 0 (no yields).\n"+
		"Call %s first if it is exported (the old start function).\n",
		*out, len(metered), len(wasm), meter.FuelGlobal, meter.FloorGlobal, meter.MarkGlobal, meter.StartExport)
	return nil
}
