// Package gosrc cuts the real corpus out of a Go distribution's source
// tree: a pinned list of whole packages, their plain non-test files in a
// fixed order, so the same GOROOT always gives the same bytes.
package gosrc

import (
	"bytes"
	"fmt"
	"go/build"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"
)

// GoVersion is the Go release whose source the corpus was cut from; Build
// refuses any other, since its files differ.
const GoVersion = "go1.26.8"

// Packages is the pinned, sorted list of standard library packages taken
// whole. They are ordinary library code: no huge tables (package unicode
// and html's entity table are left out), little assembly-adjacent code.
var Packages = []string{
	"bufio",
	"bytes",
	"cmp",
	"container/heap",
	"container/list",
	"container/ring",
	"context",
	"encoding/base64",
	"encoding/binary",
	"encoding/csv",
	"encoding/hex",
	"encoding/json",
	"encoding/xml",
	"errors",
	"flag",
	"fmt",
	"go/scanner",
	"go/token",
	"io",
	"iter",
	"maps",
	"net/url",
	"path",
	"path/filepath",
	"regexp",
	"regexp/syntax",
	"slices",
	"sort",
	"strconv",
	"strings",
	"text/scanner",
	"text/tabwriter",
	"text/template",
	"text/template/parse",
	"unicode/utf16",
	"unicode/utf8",
}

// HeldOutPercent: the held-out set is the shortest run of whole files at the
// end of the order holding at least this share of the bytes.
const HeldOutPercent = 7

// MaxBytes bounds the corpus so the repository stays small.
const MaxBytes = 2 << 20

// File is one source file's place in the corpus.
type File struct {
	Path    string // relative to GOROOT/src, slash-separated
	Offset  int    // of its first byte in the corpus
	Size    int    // bytes in the corpus, after replacing non-ASCII
	HeldOut bool
}

// Corpus is the concatenated text and where each file sits in it.
type Corpus struct {
	Text         []byte
	Files        []File
	HeldOutStart int // byte offset of the first held-out file
}

var generated = regexp.MustCompile(`(?m)^// Code generated .* DO NOT EDIT\.$`)

// context is the build configuration whose files are taken: linux/amd64,
// gc, no cgo, no experiments, so each package appears in one variant only.
func context() build.Context {
	ctxt := build.Default
	ctxt.GOOS, ctxt.GOARCH, ctxt.Compiler = "linux", "amd64", "gc"
	ctxt.CgoEnabled = false
	ctxt.BuildTags, ctxt.ToolTags = nil, nil
	ctxt.ReleaseTags = nil
	for i := 1; i <= 26; i++ {
		ctxt.ReleaseTags = append(ctxt.ReleaseTags, fmt.Sprintf("go1.%d", i))
	}
	return ctxt
}

// Build reads goroot/src and returns the corpus: each package's files in
// name order, packages in Packages order, files separated by a blank line.
// A file is taken if it is a .go file, not a test, not generated (the
// standard "Code generated ... DO NOT EDIT." line) and part of the
// linux/amd64 build. Every non-ASCII character becomes one '?', so the
// alphabet stays within printable ASCII, tab and newline.
func Build(goroot string) (*Corpus, error) {
	v, err := os.ReadFile(filepath.Join(goroot, "VERSION"))
	if err != nil {
		return nil, err
	}
	if got, _, _ := strings.Cut(string(v), "\n"); got != GoVersion {
		return nil, fmt.Errorf("gosrc: %s is %s, the corpus is pinned to %s", goroot, got, GoVersion)
	}
	ctxt := context()
	c := &Corpus{}
	for _, pkg := range Packages {
		dir := filepath.Join(goroot, "src", filepath.FromSlash(pkg))
		entries, err := os.ReadDir(dir) // sorted by name
		if err != nil {
			return nil, err
		}
		n := 0
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			if ok, err := ctxt.MatchFile(dir, name); err != nil {
				return nil, err
			} else if !ok {
				continue
			}
			src, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				return nil, err
			}
			if generated.Match(src) {
				continue
			}
			src = asciiOnly(src)
			if len(src) == 0 || src[len(src)-1] != '\n' || bytes.IndexByte(src, '\r') >= 0 {
				return nil, fmt.Errorf("gosrc: %s/%s: not a gofmt-style file", pkg, name)
			}
			if len(c.Files) > 0 {
				c.Text = append(c.Text, '\n')
			}
			c.Files = append(c.Files, File{Path: pkg + "/" + name, Offset: len(c.Text), Size: len(src)})
			c.Text = append(c.Text, src...)
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("gosrc: package %s has no files", pkg)
		}
	}
	if len(c.Text) > MaxBytes {
		return nil, fmt.Errorf("gosrc: corpus is %d bytes, over %d", len(c.Text), MaxBytes)
	}
	held := 0
	i := len(c.Files)
	for 100*held < HeldOutPercent*len(c.Text) {
		i--
		held = len(c.Text) - c.Files[i].Offset
	}
	for j := i; j < len(c.Files); j++ {
		c.Files[j].HeldOut = true
	}
	c.HeldOutStart = c.Files[i].Offset
	return c, nil
}

// asciiOnly replaces each non-ASCII character (or invalid byte) by '?'.
func asciiOnly(src []byte) []byte {
	out := make([]byte, 0, len(src))
	for i := 0; i < len(src); {
		if src[i] < utf8.RuneSelf {
			out = append(out, src[i])
			i++
			continue
		}
		_, n := utf8.DecodeRune(src[i:])
		out = append(out, '?')
		i += n
	}
	return out
}
