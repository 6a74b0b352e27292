package sandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
)

// customSection frames a custom section called name holding payload.
func customSection(name string, payload []byte) []byte {
	body := appendULEB(nil, uint64(len(name)))
	body = append(append(body, name...), payload...)
	return append(appendULEB([]byte{0}, uint64(len(body))), body...)
}

// nameSection is a "name" section naming function 0.
func nameSection(fn string) []byte {
	names := append(appendULEB([]byte{1, 0}, uint64(len(fn))), fn...) // one name: function 0
	return customSection("name", append(appendULEB([]byte{1}, uint64(len(names))), names...))
}

// sectionEnds are the offsets after each section of a well-framed module.
func sectionEnds(t testing.TB, wasm []byte) []int {
	t.Helper()
	var ends []int
	for off := 8; off < len(wasm); {
		size, n, err := sectionSize(wasm[off+1:])
		if err != nil {
			t.Fatal(err)
		}
		off += 1 + n + int(size)
		ends = append(ends, off)
	}
	return ends
}

func insertAt(wasm []byte, at int, b []byte) []byte {
	return append(append(append([]byte{}, wasm[:at]...), b...), wasm[at:]...)
}

func TestCanonicalIgnoresCustomSections(t *testing.T) {
	t.Parallel()
	orig := fixture(t, "trap")
	want, err := CanonicalSHA256(orig)
	if err != nil {
		t.Fatal(err)
	}
	ends := sectionEnds(t, orig)
	named := append(append([]byte{}, orig...), nameSection("f")...)
	variants := map[string][]byte{
		"a custom section appended":     append(append([]byte{}, orig...), customSection("abc", []byte{1})...),
		"a custom section in between":   insertAt(orig, ends[0], customSection("producers", []byte("go"))),
		"a name section":                named,
		"the name section changed":      append(append([]byte{}, orig...), nameSection("stolen")...),
		"an empty custom section first": insertAt(orig, 8, customSection("", nil)),
	}
	// A section size in a longer LEB128 than it needs.
	padded := append([]byte{}, orig[:8]...)
	size, n, _ := sectionSize(orig[9:])
	padded = append(padded, orig[8], byte(size)|0x80, 0x80, 0x80, 0x00)
	variants["a section size padded"] = append(padded, orig[9+n:]...)
	for name, v := range variants {
		got, err := CanonicalSHA256(v)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got != want {
			t.Errorf("%s: canonical hash %x, want the original's %x", name, got, want)
		}
		if sha256.Sum256(v) == sha256.Sum256(orig) {
			t.Errorf("%s: the raw bytes should differ", name)
		}
	}
	canon, _ := Canonical(named)
	if again, _ := Canonical(canon); !bytes.Equal(again, canon) {
		t.Error("Canonical is not idempotent")
	}
	if !bytes.Equal(canon, orig) {
		t.Error("a module without custom sections is its own canonical form")
	}

	// Any change to code is a different module.
	changed := append([]byte{}, orig...)
	changed[len(changed)-2] ^= 1
	if got, _ := CanonicalSHA256(changed); got == want {
		t.Error("a changed code section kept the hash")
	}

	for name, bad := range map[string][]byte{
		"no header":           []byte("\x00asm"),
		"version 2":           []byte("\x00asm\x02\x00\x00\x00"),
		"truncated size":      []byte("\x00asm\x01\x00\x00\x00\x01\x80"),
		"past the end":        []byte("\x00asm\x01\x00\x00\x00\x01\x05\x01"),
		"size over 32 bits":   []byte("\x00asm\x01\x00\x00\x00\x01\xff\xff\xff\xff\x7f"),
		"size in six bytes":   []byte("\x00asm\x01\x00\x00\x00\x01\x80\x80\x80\x80\x80\x00"),
		"custom past the end": []byte("\x00asm\x01\x00\x00\x00\x00\x09\x03abc"),
	} {
		if _, err := Canonical(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzCanonical(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.wasm")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint16(0), []byte("x"))
	}
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x00\x01\x00"), uint16(1), []byte{})
	f.Fuzz(func(t *testing.T, wasm []byte, at uint16, custom []byte) {
		canon, err := Canonical(wasm)
		if err != nil {
			return
		}
		// Stripping is idempotent, and what it leaves is its own form.
		if again, err := Canonical(canon); err != nil || !bytes.Equal(again, canon) {
			t.Fatalf("canonical(canonical(x)) = %x, %v; want canonical(x) = %x", again, err, canon)
		}
		// A custom section inserted at any section boundary changes nothing.
		ends := append([]int{8}, sectionEnds(t, wasm)...)
		with := insertAt(wasm, ends[int(at)%len(ends)], customSection(string(custom), custom))
		if got, err := Canonical(with); err != nil || !bytes.Equal(got, canon) {
			t.Fatalf("with a custom section: %x, %v; want %x", got, err, canon)
		}
		if a, b := sha256.Sum256(canon), mustHash(t, wasm); a != b {
			t.Fatalf("CanonicalSHA256 %x is not the hash of Canonical %x", b, a)
		}
	})
}

func mustHash(t *testing.T, wasm []byte) [32]byte {
	h, err := CanonicalSHA256(wasm)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestLoadCompilesCodeOnceWhateverItsCustomSections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := NewEngine(4)
	defer e.Close(ctx)
	orig := fixture(t, "loop")
	a, err := e.Load(ctx, orig, optimizerABI, testLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release(ctx)
	b, err := e.Load(ctx, append(append([]byte{}, orig...), nameSection("copy")...), optimizerABI, testLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release(ctx)
	if a != b {
		t.Error("the same code under another name section was compiled again")
	}
	if s := e.Stats(); s.Compiles != 1 || s.Hits != 1 || s.Modules != 1 {
		t.Errorf("stats %+v, want one compilation and one hit", s)
	}
	if want, _ := CanonicalSHA256(orig); a.CodeSHA256 != want {
		t.Errorf("CodeSHA256 %x, want %x", a.CodeSHA256, want)
	}
}
