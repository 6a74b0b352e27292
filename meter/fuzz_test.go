package meter_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/arena-dev/arena/meter"
)

// FuzzMeter: metering never panics or over-allocates, and what it accepts
// and wazero validates stays valid once metered.
func FuzzMeter(f *testing.F) {
	for _, glob := range []string{"testdata/*.wasm", "../sandbox/testdata/*.wasm", "../examples/*/*.wasm"} {
		paths, _ := filepath.Glob(glob)
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	f.Cleanup(func() { rt.Close(ctx) })
	f.Fuzz(func(t *testing.T, wasm []byte) {
		out, _, err := meter.Meter(wasm)
		if err != nil {
			var merr *meter.Error
			if !errors.As(err, &merr) {
				t.Fatalf("meter error of the wrong type: %v", err)
			}
			// Only what Meter accepts may reach wazero, whose decoder trusts
			// vector counts (the sandbox keeps that order too).
			return
		}
		original, verr := rt.CompileModule(ctx, wasm)
		if verr != nil {
			return // invalid input: any error from Meter is fine, a panic is not
		}
		original.Close(ctx)
		metered, err := rt.CompileModule(ctx, out)
		if err != nil {
			t.Fatalf("the metered module is invalid: %v", err)
		}
		metered.Close(ctx)
	})
}
