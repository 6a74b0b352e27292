package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arena-dev/arena/meter"
)

func TestWasmCommands(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "metered.wasm")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"wasm", "inspect", "../../examples/optimizer/signsgd.wasm"}, 0, "verdict    accepted"},
		{[]string{"wasm", "inspect", "--json", "../../sandbox/testdata/hugetable.wasm"}, 0, `"verdict": "rejected: table 0 starts with 10000000 elements`},
		{[]string{"wasm", "inspect", "../../sandbox/testdata/loop.wat"}, 0, "rejected: not a WebAssembly module"},
		{[]string{"wasm", "meter", "../../meter/testdata/count.wasm", "-o", out}, 0, "arena_fuel"},
		{[]string{"wasm", "meter", "../../sandbox/testdata/reserved.wasm", "-o", out + ".x"}, 1, ""},
		{[]string{"wasm", "meter", "../../meter/testdata/count.wasm"}, 2, ""},
		{[]string{"wasm", "inspect", "--kind", "sorting", "../../meter/testdata/count.wasm"}, 2, ""},
		{[]string{"wasm"}, 2, ""},
	}
	for _, c := range cases {
		var stdout bytes.Buffer
		cl := &cli{stdout: &stdout, stderr: io.Discard, env: func(string) string { return "" }}
		code := cl.run(context.Background(), c.args)
		if code != c.code || !strings.Contains(stdout.String(), c.want) {
			t.Errorf("arena %s: exit %d, want %d; output lacks %q:\n%s", strings.Join(c.args, " "), code, c.code, c.want, stdout.String())
		}
	}
	metered, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	info, err := meter.Inspect(metered)
	if err == nil {
		t.Errorf("a metered module can be metered again: %+v", info)
	}
}
