package bpe

import (
	"slices"
	"strings"
	"testing"
)

func TestChunks(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"x := y\n", []string{"x", " :=", " y", "\n"}},
		{"func (b *Buffer) Len() int {\n\treturn len(b.buf)\n}\n",
			[]string{"func", " (", "b", " *", "Buffer", ")", " Len", "()", " int", " {", "\n\t", "return", " len", "(", "b", ".", "buf", ")", "\n", "}", "\n"}},
		{"\n\t\t// a  b\t\tc   \n", []string{"\n\t\t", "//", " a", " ", " b", "\t\t", "c", "   ", "\n"}},
		{"  x", []string{" ", " x"}},
		{" ", []string{" "}},
		{"a_1+0x2F", []string{"a_1", "+", "0x2F"}},
		{"\n\n\t", []string{"\n", "\n\t"}},
		{"\xff\x00é", []string{"\xff\x00\xc3\xa9"}},
	} {
		var got []string
		Chunks(c.in, func(s string) { got = append(got, s) })
		if !slices.Equal(got, c.want) {
			t.Errorf("Chunks(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestTrainTiesAndEncode(t *testing.T) {
	t.Parallel()
	// Chunks "ab", " cd", " ab", " cd": (a b), (" " c) and (c d) occur
	// twice each; the tie goes to the lowest pair, (" " c) = (0, 3).
	tok, err := Train([]byte(" abcd"), "ab cd ab cd", 9)
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]uint16{{0, 3}, {1, 2}, {5, 4}} // then every pair occurs once
	if !slices.Equal(tok.Merges, want) {
		t.Fatalf("merges %v, want %v", tok.Merges, want)
	}
	for _, c := range []struct {
		vocab int
		want  []uint16
	}{{5, []uint16{1, 2, 0, 3, 4}}, {6, []uint16{1, 2, 5, 4}}, {7, []uint16{6, 5, 4}}, {8, []uint16{6, 7}}} {
		got, err := tok.Encode("ab cd", c.vocab)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("vocab %d: %v, %v, want %v", c.vocab, got, err, c.want)
		}
	}
	if _, err := tok.Encode("abx", 8); err == nil {
		t.Error("encoded a byte outside the alphabet")
	}
	if _, err := Train([]byte("ab"), "abc", 4); err == nil {
		t.Error("trained on a byte outside the alphabet")
	}
}

func TestFormatParse(t *testing.T) {
	t.Parallel()
	tok, err := Train([]byte("\t\n \"abc"), "abc\n\tabc \"ab\"\n\tab", 12)
	if err != nil {
		t.Fatal(err)
	}
	text := tok.Format("test\nheader")
	back, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Base, tok.Base) || !slices.Equal(back.Merges, tok.Merges) || back.Format("test\nheader") != text {
		t.Fatal("Parse(Format(t)) differs from t")
	}
	for _, bad := range []string{
		"",
		strings.Replace(text, "bytes 7", "bytes 8", 1),
		strings.Replace(text, `"ab"`, `"ba"`, 1),
		text + "junk\n",
		"bytes 2\n0 61 \"a\"\n1 61 \"a\"\nmerges 0\n",
		"bytes 1\n0 61 \"a\"\nmerges 1\n1 = 1 0 \"aa\"\n",
	} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse accepted %q", bad)
		}
	}
}
