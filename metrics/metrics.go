// Package metrics exposes Arena's Prometheus metrics (evaluations, HTTP
// requests, the queue) on a registry of its own, served at /metrics.
// A nil *Metrics records nothing, so tests and tools need not build one.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/arena-dev/arena"
)

// Metrics holds the collectors.
type Metrics struct {
	registry       *prometheus.Registry
	evaluations    *prometheus.CounterVec
	evalSeconds    *prometheus.HistogramVec
	evalFuel       *prometheus.HistogramVec
	requests       *prometheus.CounterVec
	requestSeconds *prometheus.HistogramVec
}

// PendingFunc reports the queued and running submissions, read at each
// scrape (from Postgres, the record).
type PendingFunc func(ctx context.Context) (queued, running int, err error)

// scrapeTimeout bounds the database's part of a scrape, well inside
// Prometheus's own 10 s default.
const scrapeTimeout = 2 * time.Second

// New builds the metrics. pending, when not nil, adds the queue gauges
// and arena_database_up, which says whether it answered.
func New(pending PendingFunc) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "arena_evaluations_total", Help: "Evaluations finished, by benchmark kind and outcome.",
		}, []string{"kind", "status"}),
		evalSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "arena_evaluation_seconds", Help: "Wall time of an evaluation, module load included.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 12),
		}, []string{"kind"}),
		evalFuel: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "arena_evaluation_fuel", Help: "Fuel an evaluation spent over all its tasks.",
			Buckets: prometheus.ExponentialBuckets(1e5, 10, 7),
		}, []string{"kind"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "arena_http_requests_total", Help: "HTTP requests, by method, route pattern and status code.",
		}, []string{"method", "route", "code"}),
		requestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "arena_http_request_seconds", Help: "HTTP request latency, by method and route pattern (event streams excluded).",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
	}
	m.registry.MustRegister(m.evaluations, m.evalSeconds, m.evalFuel, m.requests, m.requestSeconds,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if pending != nil {
		m.registry.MustRegister(&queueCollector{pending: pending})
	}
	return m
}

// Evaluated records a finished evaluation.
func (m *Metrics) Evaluated(kind string, status arena.Status, took time.Duration, fuel *int64) {
	if m == nil {
		return
	}
	m.evaluations.WithLabelValues(kind, string(status)).Inc()
	m.evalSeconds.WithLabelValues(kind).Observe(took.Seconds())
	if fuel != nil {
		m.evalFuel.WithLabelValues(kind).Observe(float64(*fuel))
	}
}

// Request records an HTTP request. route is the router's pattern (never
// the raw path, whose IDs would make a series per submission).
func (m *Metrics) Request(method, route string, code int, took time.Duration, streaming bool) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(method, route, strconv.Itoa(code)).Inc()
	if !streaming {
		m.requestSeconds.WithLabelValues(method, route).Observe(took.Seconds())
	}
}

// Handler serves the metrics in Prometheus's text format. A collector
// that fails leaves its metrics out; the rest are still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry, ErrorHandling: promhttp.ContinueOnError})
}

var (
	queuedDesc     = prometheus.NewDesc("arena_submissions_queued", "Submissions waiting for a worker.", nil, nil)
	runningDesc    = prometheus.NewDesc("arena_submissions_running", "Submissions a worker is evaluating.", nil, nil)
	databaseUpDesc = prometheus.NewDesc("arena_database_up", "1 when Postgres answered this scrape's queries, 0 when it did not (the metrics read from it are then absent).", nil, nil)
)

// queueCollector reads the queue's depth at scrape time. While the
// database does not answer, the depth is absent and arena_database_up
// is 0: the scrape itself, with every other metric, still succeeds.
type queueCollector struct{ pending PendingFunc }

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queuedDesc
	ch <- runningDesc
	ch <- databaseUpDesc
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	queued, running, err := c.pending(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(databaseUpDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(databaseUpDesc, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(queuedDesc, prometheus.GaugeValue, float64(queued))
	ch <- prometheus.MustNewConstMetric(runningDesc, prometheus.GaugeValue, float64(running))
}
