package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/arena-dev/arena/sandbox"
)

// byteSize is a flag of bytes: a number with an optional unit (B, KiB,
// MiB, GiB, TiB; KB, MB, GB, TB are powers of 1000), such as 512MiB.
type byteSize int64

var sizeUnits = []struct {
	suffix string
	scale  float64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12}, {"b", 1},
}

func parseByteSize(s string) (byteSize, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	scale := 1.0
	for _, u := range sizeUnits {
		if strings.HasSuffix(v, u.suffix) {
			v, scale = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.scale
			break
		}
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n < 0 || n*scale > 1<<62 {
		return 0, fmt.Errorf("%q is not a size (such as 512MiB or 2GiB)", s)
	}
	return byteSize(n * scale), nil
}

func (b *byteSize) Set(s string) error {
	v, err := parseByteSize(s)
	if err == nil {
		*b = v
	}
	return err
}

func (b byteSize) String() string {
	for _, u := range []struct {
		suffix string
		scale  int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b != 0 && int64(b)%u.scale == 0 {
			return strconv.FormatInt(int64(b)/u.scale, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

// sizeOr reads a size from the environment, or fallback when it is unset
// or not a size.
func (e env) sizeOr(key string, fallback int64) byteSize {
	if v, err := parseByteSize(e(key)); err == nil && e(key) != "" {
		return v
	}
	return byteSize(fallback)
}

// budget is an engine option from a flag: 0 means no bound.
func (b byteSize) budget() int64 {
	if b == 0 {
		return -1
	}
	return int64(b)
}

// serverEngine opens the sandbox engine of serve and worker, with the
// cache budgets of cfg and its disk cache when it can.
func (c *cli) serverEngine(cfg config) *sandbox.Engine {
	opts := sandbox.Options{MaxMemoryBytes: cfg.CacheMemory.budget(), MaxDiskBytes: cfg.CacheDisk.budget()}
	if cfg.CacheDir != "" {
		opts.CacheDir = cfg.CacheDir
		eng, err := sandbox.NewEngineWith(opts)
		if err == nil {
			return eng
		}
		c.logger.Warn("compiled-module cache unavailable; keeping modules in memory", "err", err)
		opts.CacheDir = ""
	}
	eng, err := sandbox.NewEngineWith(opts)
	if err != nil {
		panic(err) // without a directory, only WASI's instantiation can fail
	}
	return eng
}
