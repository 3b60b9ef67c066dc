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
	}
	m.reg.MustRegister(m.runsStarted, m.runsFinished, m.nodeDuration, m.requests, m.reqDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
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
