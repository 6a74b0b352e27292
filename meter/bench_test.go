package meter_test

import (
	"os"
	"testing"

	"github.com/arena-dev/arena/meter"
)

// BenchmarkMeterGoModule meters a Go-built module (build it first with
// `make examples`).
func BenchmarkMeterGoModule(b *testing.B) {
	wasm, err := os.ReadFile("../bin/examples/optimizer-momentum.wasm")
	if err != nil {
		b.Skip("run `make examples` first:", err)
	}
	b.SetBytes(int64(len(wasm)))
	for b.Loop() {
		if _, _, err := meter.Meter(wasm); err != nil {
			b.Fatal(err)
		}
	}
}
