// Package examples builds the example strategies below it: Go programs
// compiled to WebAssembly reactors with the Go toolchain alone, and
// hand-written WebAssembly text assembled ahead of time (the .wasm is
// committed beside its .wat source).
package examples

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// Example is one shipped strategy.
type Example struct {
	Kind string // benchmark kind, the folder it sits in
	Name string
	// Go is the package directory for a Go example; WASM is the committed
	// module of a hand-written one. Exactly one is set.
	Go   string
	WASM string
}

// File is the module's file name, as `make examples` writes it.
func (e Example) File() string { return e.Kind + "-" + e.Name + ".wasm" }

// dir is this package's source directory.
func dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// List returns every example, in a stable order.
func List() ([]Example, error) {
	root := dir()
	kinds, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("read examples: %w", err)
	}
	var out []Example
	for _, k := range kinds {
		if !k.IsDir() {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(root, k.Name()))
		if err != nil {
			return nil, fmt.Errorf("read examples: %w", err)
		}
		for _, e := range entries {
			path := filepath.Join(root, k.Name(), e.Name())
			switch {
			case e.IsDir():
				out = append(out, Example{Kind: k.Name(), Name: e.Name(), Go: path})
			case strings.HasSuffix(e.Name(), ".wasm"):
				out = append(out, Example{Kind: k.Name(), Name: strings.TrimSuffix(e.Name(), ".wasm"), WASM: path})
			}
		}
	}
	return out, nil
}

// Build writes the example's module into outDir and returns its path.
func Build(ctx context.Context, e Example, outDir string) (string, error) {
	out := filepath.Join(outDir, e.File())
	if e.WASM != "" {
		b, err := os.ReadFile(e.WASM)
		if err != nil {
			return "", err
		}
		return out, os.WriteFile(out, b, 0o644)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-buildmode=c-shared", "-trimpath", "-o", out, ".")
	cmd.Dir = e.Go
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s/%s: %v\n%s", e.Kind, e.Name, err, msg)
	}
	return out, nil
}

// BuildAll builds every example into outDir, keyed by "kind/name".
func BuildAll(ctx context.Context, outDir string) (map[string]string, error) {
	list, err := List()
	if err != nil {
		return nil, err
	}
	paths := map[string]string{}
	for _, e := range list {
		p, err := Build(ctx, e, outDir)
		if err != nil {
			return nil, err
		}
		paths[e.Kind+"/"+e.Name] = p
	}
	return paths, nil
}
