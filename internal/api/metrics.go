package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sluice-run/sluice/internal/engine"
)

// metrics are the server's Prometheus metrics, in a registry of its own (no
// global default registry, so that several servers can live in one test
// binary). Labels hold only program-defined values: route patterns, status
// codes, node types and run results, never run data.
type metrics struct {
	reg          *prometheus.Registry
	runsStarted  prometheus.Counter
	runsFinished *prometheus.CounterVec
	nodeDuration *prometheus.HistogramVec
	requests     *prometheus.CounterVec
	reqDuration  *prometheus.HistogramVec
	buildInfo    *prometheus.GaugeVec
	retained     *prometheus.CounterVec
	// rechecked counts the waits that learned of a run's end by re-reading
	// it (watchrecheck.go): each is a run.finished that did not arrive.
	rechecked prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		runsStarted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_runs_started_total",
			Help: "Workflow runs started through the API.",
		}),
		runsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_runs_finished_total",
			Help: "Workflow runs that completed, by result (SUCCESS, FAILED, CANCELLED).",
		}, []string{"result"}),
		nodeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_node_duration_seconds",
			Help:    "How long node executions took, by node type (the part before waiting, for async nodes).",
			Buckets: []float64{0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30},
		}, []string{"type"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		reqDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_http_request_duration_seconds",
			Help:    "HTTP request durations, by route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		buildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_build_info",
			Help: "Always 1, labelled with the version, commit and Go version of this binary (as sluice version prints them).",
		}, []string{"version", "commit", "goversion"}),
		retained: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_retention_deleted_total",
			Help: "Rows deleted by retention (--retain-runs, --retain-audit), by kind: runs (each with its node runs and logs) or audit (events).",
		}, []string{"kind"}),
		rechecked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_run_waits_rechecked_total",
			Help: "Waits (long polls, event streams) on runs another process drives that learned of the run's end by re-reading it from the store, its run.finished event not having arrived.",
		}),
	}
	m.reg.MustRegister(m.rechecked)
	m.reg.MustRegister(m.runsStarted, m.runsFinished, m.nodeDuration, m.requests, m.reqDuration, m.buildInfo, m.retained,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Both kinds from the start, so that a scraper sees 0 before the first
	// deletion.
	m.retained.WithLabelValues("runs")
	m.retained.WithLabelValues("audit")
	return m
}

// droppedCounter is a runevents.Source that drops events on their way to
// other processes and counts them (runevents.PGRelay).
type droppedCounter interface{ Dropped() int }

// watchEvents exports the drops of the server's event source, when it
// counts them, as sluice_run_events_dropped_total.
func (m *metrics) watchEvents(src any) {
	if dc, ok := src.(droppedCounter); ok {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "sluice_run_events_dropped_total",
			Help: "Node events not sent to other processes because the relay was behind (run.finished is never dropped).",
		}, func() float64 { return float64(dc.Dropped()) }))
	}
}

// onEvent feeds the engine's progress into the metrics.
func (m *metrics) onEvent(ev engine.Event) {
	switch ev.Kind {
	case engine.RunFinished:
		m.runsFinished.WithLabelValues(ev.Result).Inc()
	case engine.NodeFinished, engine.NodeWaiting:
		if ev.Duration > 0 {
			m.nodeDuration.WithLabelValues(ev.Type).Observe(ev.Duration.Seconds())
		}
	}
}

// observe records one answered request.
func (m *metrics) observe(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.reqDuration.WithLabelValues(route).Observe(d.Seconds())
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// SetBuildInfo sets the sluice_build_info gauge: one series, value 1,
// labelled with what the binary was built as (the source of sluice
// version), replacing any set before.
func (s *Server) SetBuildInfo(version, commit, goVersion string) {
	s.metrics.buildInfo.Reset()
	s.metrics.buildInfo.WithLabelValues(version, commit, goVersion).Set(1)
}

// CountRetained adds n rows of kind ("runs" or "audit") deleted by
// retention to sluice_retention_deleted_total.
func (s *Server) CountRetained(kind string, n int) {
	s.metrics.retained.WithLabelValues(kind).Add(float64(n))
}
