// Package metrics exposes a runner's work to Prometheus: runs by status,
// step durations, rows loaded and last success per entity, retries, and
// notifications that failed.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dfe-nightshift/nightshift/pipeline"
)

// Metrics implements pipeline.Observer.
type Metrics struct {
	registry      *prometheus.Registry
	runs          *prometheus.CounterVec
	stepDuration  *prometheus.HistogramVec
	rows          *prometheus.CounterVec
	lastSuccess   *prometheus.GaugeVec
	retries       *prometheus.CounterVec
	notifyFailure *prometheus.CounterVec
}

var _ pipeline.Observer = (*Metrics)(nil)

// New registers the metrics in a registry of their own.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nightshift_runs_total", Help: "Runs finished, by final status.",
		}, []string{"status"}),
		stepDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nightshift_step_duration_seconds", Help: "Duration of step attempts.",
			Buckets: prometheus.ExponentialBuckets(0.1, 3, 10), // 0.1 s to about 30 min
		}, []string{"entity", "step", "result"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nightshift_rows_loaded_total", Help: "Rows loaded into a target, by entity and step.",
		}, []string{"entity", "step"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "nightshift_last_success_timestamp_seconds", Help: "When each entity last succeeded in a run (Unix time).",
		}, []string{"entity"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nightshift_step_retries_total", Help: "Step attempts after the first.",
		}, []string{"entity", "step"}),
		notifyFailure: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nightshift_notification_failures_total", Help: "Notifications that could not be delivered after every attempt.",
		}, []string{"notifier"}),
	}
	m.registry.MustRegister(m.runs, m.stepDuration, m.rows, m.lastSuccess, m.retries, m.notifyFailure,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// StepAttempted records one attempt.
func (m *Metrics) StepAttempted(entity, step string, attempt int, d time.Duration, out pipeline.Outcome, err error) {
	result := "succeeded"
	if err != nil {
		result = "failed"
	}
	m.stepDuration.WithLabelValues(entity, step, result).Observe(d.Seconds())
	if attempt > 1 {
		m.retries.WithLabelValues(entity, step).Inc()
	}
	if err == nil && step != "extract" && out.Rows > 0 {
		m.rows.WithLabelValues(entity, step).Add(float64(out.Rows))
	}
}

// RunFinished records a run's status and its entities' successes.
func (m *Metrics) RunFinished(rep pipeline.Report) {
	m.runs.WithLabelValues(string(rep.Status)).Inc()
	now := float64(time.Now().Unix())
	for _, r := range rep.Results {
		if r.Status == pipeline.StatusSucceeded {
			m.lastSuccess.WithLabelValues(r.Entity).Set(now)
		}
	}
}

// NotifyFailed counts a notification that was not delivered.
func (m *Metrics) NotifyFailed(notifier string) { m.notifyFailure.WithLabelValues(notifier).Inc() }

// Handler serves /metrics and /healthz.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}
