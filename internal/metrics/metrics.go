// Package metrics holds Koyomi's Prometheus metrics in a private registry:
// HTTP requests by method, route and status with their latency, requests in
// flight, store transaction latency, authentication failures by reason,
// connector runs by outcome, virtual calendar render cache lookups, and the
// trash's size, read when scraped.
//
// It knows nothing of URL layouts, protocols or how the store keeps its data:
// callers give it route names, reasons and outcomes as words.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"koyomi.dev/koyomi/internal/store"
)

// Metrics are one server's metrics. The zero value is not usable; call New.
type Metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	inFlight     prometheus.Gauge
	txLatency    *prometheus.HistogramVec
	authFailures *prometheus.CounterVec
	connectorRun *prometheus.CounterVec
	renderCache  *prometheus.CounterVec
	trash        *trashCollector
}

// New returns metrics registered in a registry of their own, with the Go
// runtime's and the process's metrics beside them.
func New(logger *slog.Logger) *Metrics {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "koyomi_http_requests_total",
			Help: "HTTP requests answered, by method, route and status code."}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "koyomi_http_request_duration_seconds",
			Help:    "Time taken to answer HTTP requests, by method and route.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"method", "route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "koyomi_http_requests_in_flight",
			Help: "HTTP requests being answered."}),
		txLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "koyomi_store_tx_duration_seconds",
			Help:    "Time store transactions took, by kind (view or update) and result (ok or error).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5}}, []string{"kind", "result"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "koyomi_auth_failures_total",
			Help: "Refused logins, by reason."}, []string{"reason"}),
		connectorRun: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "koyomi_connector_runs_total",
			Help: "Connector runs finished, by outcome."}, []string{"outcome"}),
		renderCache: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "koyomi_vcal_render_cache_lookups_total",
			Help: "Lookups in the virtual calendars' render cache, by result (hit or miss)."}, []string{"result"}),
		trash: &trashCollector{log: logger,
			items: prometheus.NewDesc("koyomi_trash_items", "Items in the trash.", nil, nil),
			bytes: prometheus.NewDesc("koyomi_trash_bytes", "Bytes held by the items in the trash.", nil, nil)},
	}
	m.reg.MustRegister(m.requests, m.latency, m.inFlight, m.txLatency, m.authFailures, m.connectorRun,
		m.renderCache, m.trash, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// knownMethods are the methods counted under their own name; anything else
// is "other", so that a client inventing methods cannot grow the series.
var knownMethods = map[string]bool{
	"GET": true, "HEAD": true, "PUT": true, "POST": true, "DELETE": true, "OPTIONS": true, "PATCH": true,
	"PROPFIND": true, "PROPPATCH": true, "MKCOL": true, "MKCALENDAR": true, "COPY": true, "MOVE": true,
	"LOCK": true, "UNLOCK": true, "REPORT": true, "ACL": true,
}

// Method returns the label a request method is counted under.
func Method(method string) string {
	if knownMethods[method] {
		return method
	}
	return "other"
}

// RequestStarted counts a request in flight; call the function it returns
// when the request is answered.
func (m *Metrics) RequestStarted() (done func()) {
	m.inFlight.Inc()
	return m.inFlight.Dec
}

// Request records an answered request. route is one of a small fixed set
// of names the caller chooses, never a raw path.
func (m *Metrics) Request(method, route string, status int, took time.Duration) {
	method = Method(method)
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(method, route).Observe(took.Seconds())
}

// AuthFailure counts a refused login.
func (m *Metrics) AuthFailure(reason string) { m.authFailures.WithLabelValues(reason).Inc() }

// ConnectorRun counts a finished connector run.
func (m *Metrics) ConnectorRun(outcome string) { m.connectorRun.WithLabelValues(outcome).Inc() }

// RenderCacheLookup counts a lookup in the render cache.
func (m *Metrics) RenderCacheLookup(hit bool) {
	result := "miss"
	if hit {
		result = "hit"
	}
	m.renderCache.WithLabelValues(result).Inc()
}

// Trash sets how the trash's size is read: fn is called at each scrape
// (with a few seconds to answer). Until it is set, no trash metrics are
// exposed; when it fails, they are left out of that scrape and the error
// is logged.
func (m *Metrics) Trash(fn func(ctx context.Context) (items, bytes int64, err error)) {
	m.trash.mu.Lock()
	defer m.trash.mu.Unlock()
	m.trash.size = fn
}

type trashCollector struct {
	log          *slog.Logger
	items, bytes *prometheus.Desc
	mu           sync.Mutex
	size         func(ctx context.Context) (items, bytes int64, err error)
}

func (c *trashCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.items
	ch <- c.bytes
}

func (c *trashCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	size := c.size
	c.mu.Unlock()
	if size == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	items, bytes, err := size(ctx)
	if err != nil {
		c.log.WarnContext(ctx, "reading the trash's size for metrics", "err", err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.items, prometheus.GaugeValue, float64(items))
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(bytes))
}

// Store returns st with every transaction timed. The transactions
// themselves are st's, so optional capabilities of a Tx (store.DataReader
// and the like) are still found by type assertion.
func (m *Metrics) Store(st store.Store) store.Store { return timedStore{st, m.txLatency} }

type timedStore struct {
	store.Store
	latency *prometheus.HistogramVec
}

func (s timedStore) View(ctx context.Context, fn func(store.Tx) error) error {
	return s.time("view", func() error { return s.Store.View(ctx, fn) })
}

func (s timedStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.time("update", func() error { return s.Store.Update(ctx, fn) })
}

func (s timedStore) time(kind string, tx func() error) error {
	start := time.Now()
	err := tx()
	result := "ok"
	if err != nil {
		result = "error"
	}
	s.latency.WithLabelValues(kind, result).Observe(time.Since(start).Seconds())
	return err
}
