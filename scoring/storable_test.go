package scoring

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestStorableText(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"plain log\n", "plain log\n"},
		{"nul\x00byte", "nul\uFFFDbyte"},
		{"bad \xff\xfe utf-8", "bad \uFFFD utf-8"},
		{"ünïcode stays", "ünïcode stays"},
	}
	for _, c := range cases {
		got := storable(c.in)
		if got != c.want || !utf8.ValidString(got) || strings.ContainsRune(got, 0) {
			t.Errorf("storable(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
