package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/arena-dev/arena/sandbox"
)

var (
	cacheBytesDesc = prometheus.NewDesc("arena_module_cache_bytes",
		"Compiled modules kept, by cache: memory (their estimated size) or disk (the cache directory's size as of its last scan).", []string{"cache"}, nil)
	cacheEntriesDesc = prometheus.NewDesc("arena_module_cache_entries",
		"Modules kept, by cache: memory or disk.", []string{"cache"}, nil)
	cacheLimitDesc = prometheus.NewDesc("arena_module_cache_limit_bytes",
		"The cache's budget, by cache: memory or disk (absent when unbounded).", []string{"cache"}, nil)
	cacheEvictionsDesc = prometheus.NewDesc("arena_module_cache_evictions_total",
		"Modules evicted from the cache, least recently used first, by cache: memory or disk.", []string{"cache"}, nil)
	compilationsDesc = prometheus.NewDesc("arena_module_compilations_total",
		"Modules compiled into memory (from the disk cache's machine code, when it has them).", nil, nil)
	cacheHitsDesc = prometheus.NewDesc("arena_module_cache_hits_total",
		"Module loads served from memory.", nil, nil)
)

// WatchEngine adds the sandbox engine's cache sizes and counters, read at
// each scrape.
func (m *Metrics) WatchEngine(e *sandbox.Engine) {
	if m == nil || e == nil {
		return
	}
	m.registry.MustRegister(&engineCollector{e})
}

type engineCollector struct{ e *sandbox.Engine }

func (c *engineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{cacheBytesDesc, cacheEntriesDesc, cacheLimitDesc, cacheEvictionsDesc, compilationsDesc, cacheHitsDesc} {
		ch <- d
	}
}

func (c *engineCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.e.Stats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(cacheBytesDesc, float64(s.MemoryBytes), "memory")
	gauge(cacheEntriesDesc, float64(s.Modules), "memory")
	if s.MaxMemoryBytes > 0 {
		gauge(cacheLimitDesc, float64(s.MaxMemoryBytes), "memory")
	}
	counter(cacheEvictionsDesc, s.Evictions, "memory")
	if s.Disk {
		gauge(cacheBytesDesc, float64(s.DiskBytes), "disk")
		gauge(cacheEntriesDesc, float64(s.DiskEntries), "disk")
		if s.MaxDiskBytes > 0 {
			gauge(cacheLimitDesc, float64(s.MaxDiskBytes), "disk")
		}
		counter(cacheEvictionsDesc, s.DiskEvictions, "disk")
	}
	counter(compilationsDesc, s.Compiles)
	counter(cacheHitsDesc, s.Hits)
}
