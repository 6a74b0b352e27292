package corpus

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.json")

// golden pins the start of each stream: a change to the data, the
// tokenizer or the synthetic language shows up here, on any platform.
type golden struct {
	Real256Train       []uint16 `json:"real_256_train"`
	Real512HeldOut     []uint16 `json:"real_512_held_out"`
	Synthetic1_256     []uint16 `json:"synthetic_1_256_train"`
	Synthetic1_256Held []uint16 `json:"synthetic_1_256_held_out"`
	Synthetic9_16      []uint16 `json:"synthetic_9_16_train"`
}

func TestGolden(t *testing.T) {
	t.Parallel()
	r256, _, err := Real(256)
	if err != nil {
		t.Fatal(err)
	}
	_, r512, err := Real(512)
	if err != nil {
		t.Fatal(err)
	}
	s, sh, _ := Synthetic(1, 256, 32, 32)
	s16, _, _ := Synthetic(9, 16, 32, 0)
	got := golden{r256[:32], r512[:32], s, sh, s16}
	path := filepath.Join("testdata", "golden.json")
	if *update {
		// One stream a line: json.Indent would put each id on its own.
		b, _ := json.Marshal(got)
		b = bytes.ReplaceAll(b, []byte(`],"`), []byte("],\n  \""))
		b = append(append([]byte("{\n  "), b[1:len(b)-1]...), "\n}\n"...)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want golden
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want []uint16
	}{
		{"Real(256) train", got.Real256Train, want.Real256Train},
		{"Real(512) held-out", got.Real512HeldOut, want.Real512HeldOut},
		{"Synthetic(1, 256) train", got.Synthetic1_256, want.Synthetic1_256},
		{"Synthetic(1, 256) held-out", got.Synthetic1_256Held, want.Synthetic1_256Held},
		{"Synthetic(9, 16) train", got.Synthetic9_16, want.Synthetic9_16},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s starts %v, golden %v (go test ./corpus -run Golden -update)", c.name, c.got, c.want)
		}
	}
}
