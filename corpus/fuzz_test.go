package corpus

import "testing"

func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "x", "\n", "\t\t", "   ", " :=", goText[:300], goText[heldOutStart : heldOutStart+500], "caf\u00e9", "a\x00b", "\r\n", "\xff"} {
		f.Add(s)
	}
	alphabet := map[byte]bool{}
	for i := range len(goText) {
		alphabet[goText[i]] = true
	}
	f.Fuzz(func(t *testing.T, s string) {
		ok := true
		for i := range len(s) {
			ok = ok && alphabet[s[i]]
		}
		for _, vocab := range []int{MinVocab, 300, MaxVocab} {
			toks, err := Encode(s, vocab)
			if !ok {
				if err == nil {
					t.Fatalf("vocab %d: %q encoded though not all its bytes are in the alphabet", vocab, s)
				}
				continue
			}
			if err != nil {
				t.Fatalf("vocab %d: %v", vocab, err)
			}
			back, err := Decode(toks, vocab)
			if err != nil || back != s {
				t.Fatalf("vocab %d: decode(encode(%q)) = %q, %v", vocab, s, back, err)
			}
		}
	})
}
