// Command build recreates the corpus data from this machine's Go
// distribution, deterministically:
//
//	go run ./corpus/internal/build
//
// It writes corpus/data/go.txt (the text), corpus/data/LICENSE (Go's),
// corpus/data/tokenizer.txt (BPE trained on the train split) and
// corpus/data/SOURCE.md (what went in). Run it from the module root. It
// refuses a Go distribution other than gosrc.GoVersion.
package main

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/arena-dev/arena/corpus/internal/bpe"
	"github.com/arena-dev/arena/corpus/internal/gosrc"
)

func main() {
	goroot := flag.String("goroot", "", "Go distribution to read (default: go env GOROOT)")
	out := flag.String("out", filepath.Join("corpus", "data"), "directory to write")
	flag.Parse()
	log.SetFlags(0)
	if *goroot == "" {
		b, err := exec.Command("go", "env", "GOROOT").Output()
		if err != nil {
			log.Fatalf("go env GOROOT: %v", err)
		}
		*goroot = strings.TrimSpace(string(b))
	}
	c, err := gosrc.Build(*goroot)
	if err != nil {
		log.Fatal(err)
	}
	tok, err := bpe.Train(bpe.Alphabet(c.Text), string(c.Text[:c.HeldOutStart]), bpe.MaxVocab)
	if err != nil {
		log.Fatal(err)
	}
	license, err := os.ReadFile(filepath.Join(*goroot, "LICENSE"))
	if err != nil {
		log.Fatal(err)
	}
	tokText := tok.Format(bpe.Header)
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(*out, name), data, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	write("go.txt", c.Text)
	write("LICENSE", license)
	write("tokenizer.txt", []byte(tokText))
	write("SOURCE.md", source(c, tok, []byte(tokText)))
	log.Printf("go.txt: %d bytes, %d files, held-out from byte %d; tokenizer: %d bytes + %d merges",
		len(c.Text), len(c.Files), c.HeldOutStart, len(tok.Base), len(tok.Merges))
}

func source(c *gosrc.Corpus, tok *bpe.Tokenizer, tokText []byte) []byte {
	var b bytes.Buffer
	held := len(c.Text) - c.HeldOutStart
	fmt.Fprintf(&b, `# Corpus source

go.txt is %d bytes of the Go standard library's source, from the
%s distribution (https://go.dev/dl/), under the BSD-3-Clause license in
LICENSE beside it (copied from GOROOT/LICENSE). Copyright The Go Authors.

## How it was made

    go run ./corpus/internal/build

run from the module root with the %s distribution installed (it reads
`+"`go env GOROOT`"+`/src; `+"`-goroot DIR`"+` picks another copy of the same
release). It takes these packages whole, in this order:

%s

Each package contributes every .go file that is not a test, not
generated (no "Code generated ... DO NOT EDIT." line) and part of the
linux/amd64 gc build without cgo or experiments, in name order, each
verbatim except that every non-ASCII character becomes one '?'. Files
are joined by one blank line (one extra "\n"). The same command trains
tokenizer.txt.

sha256(go.txt)        = %x
sha256(tokenizer.txt) = %x

## Split

Train is bytes [0, %d); held-out is bytes [%d, %d):
the last %d whole files, %d bytes (%.1f%%), the shortest run of files at
the end holding at least %d%% of the bytes. Tokenizer merges are learned on train only.

## Tokenizer

tokenizer.txt: byte-pair encoding, %d base bytes (every byte value in
go.txt, in byte order) and %d merges learned on the train split, %d tokens
in all. Its header describes the format.

## Files

| file | offset | bytes | split |
|---|---:|---:|---|
`, len(c.Text), gosrc.GoVersion, gosrc.GoVersion, wrap(strings.Join(gosrc.Packages, ", "), 72), sha256.Sum256(c.Text), sha256.Sum256(tokText),
		c.HeldOutStart, c.HeldOutStart, len(c.Text), countHeld(c), held,
		float64(100*held)/float64(len(c.Text)), gosrc.HeldOutPercent,
		len(tok.Base), len(tok.Merges), tok.Size())
	for _, f := range c.Files {
		split := "train"
		if f.HeldOut {
			split = "held-out"
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %s |\n", f.Path, f.Offset, f.Size, split)
	}
	return b.Bytes()
}

func countHeld(c *gosrc.Corpus) int {
	n := 0
	for _, f := range c.Files {
		if f.HeldOut {
			n++
		}
	}
	return n
}

// wrap breaks s at spaces into lines of at most width bytes.
func wrap(s string, width int) string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return strings.Join(append(lines, line), "\n")
}
