// Package metrics exposes the scheduler daemon to Prometheus and to its
// health checks: runs by status and their durations, step durations, rows
// loaded, retries, failed notifications, overdue alerts, and the state of
// each entity's data in the warehouse (rows published and quarantined, its
// age, its last success), restored from the ledger at start so that a
// restart does not reset it.
package metrics

import (
	"context"
	"net/http"
	"sync"
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
	runDuration   *prometheus.HistogramVec
	stepDuration  *prometheus.HistogramVec
	rows          *prometheus.CounterVec
	retries       *prometheus.CounterVec
	notifyFailure *prometheus.CounterVec
	overdue       *prometheus.CounterVec
	entities      *entityCollector

	// ledger, once Restore was called, is read again after each run.
	mu     sync.Mutex
	ledger *pipeline.Ledger
	// now is the clock of the data age (tests).
	now func() time.Time
}

var _ pipeline.Observer = (*Metrics)(nil)

// RefreshTimeout bounds each read of the ledger's entity states.
const RefreshTimeout = 5 * time.Second

// New registers the metrics in a registry of their own.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nightshift_runs_total", Help: "Runs finished since the daemon started, by final status.",
		}, []string{"status"}),
		runDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nightshift_run_duration_seconds", Help: "Duration of runs finished since the daemon started, by final status.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 15), // 1 s to about 4.5 h
		}, []string{"status"}),
		stepDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nightshift_step_duration_seconds", Help: "Duration of step attempts.",
			Buckets: prometheus.ExponentialBuckets(0.1, 3, 10), // 0.1 s to about 30 min
		}, []string{"entity", "step", "result"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nightshift_rows_loaded_total", Help: "Rows loaded into a target, by entity and step.",
		}, []string{"entity", "step"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nightshift_step_retries_total", Help: "Step attempts after the first.",
		}, []string{"entity", "step"}),
		notifyFailure: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nightshift_notification_failures_total", Help: "Notifications that could not be delivered after every attempt.",
		}, []string{"notifier"}),
		overdue: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nightshift_overdue_alerts_total", Help: "Overdue alerts raised: a schedule's firing had not succeeded by its deadline.",
		}, []string{"schedule"}),
		now: time.Now,
	}
	m.entities = &entityCollector{states: map[string]pipeline.EntityState{}, now: func() time.Time { return m.now() }}
	m.registry.MustRegister(m.runs, m.runDuration, m.stepDuration, m.rows, m.retries, m.notifyFailure, m.overdue, m.entities,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is where the metrics are registered.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Restore reads each entity's state from the ledger, and has the metrics
// read it again after every run: the daemon calls it at start, so that a
// restart does not reset the entities' gauges.
func (m *Metrics) Restore(ctx context.Context, ledger *pipeline.Ledger) error {
	m.mu.Lock()
	m.ledger = ledger
	m.mu.Unlock()
	return m.Refresh(ctx)
}

// Refresh reads each entity's state from the ledger given to Restore.
func (m *Metrics) Refresh(ctx context.Context) error {
	m.mu.Lock()
	ledger := m.ledger
	m.mu.Unlock()
	if ledger == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, RefreshTimeout)
	defer cancel()
	states, err := ledger.EntityStates(ctx)
	if err != nil {
		return err
	}
	m.entities.merge(states)
	return nil
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

// RunFinished records a run's status and duration and its entities'
// successes, then reads the entities' state again from the ledger (when
// Restore was called): what the run published, and when.
func (m *Metrics) RunFinished(rep pipeline.Report) {
	status := string(rep.Status)
	m.runs.WithLabelValues(status).Inc()
	m.runDuration.WithLabelValues(status).Observe(rep.Elapsed.Seconds())
	if rep.Run.Trigger != pipeline.TriggerRestore {
		var ok []string
		for _, r := range rep.Results {
			if r.Status == pipeline.StatusSucceeded {
				ok = append(ok, r.Entity)
			}
		}
		m.entities.succeeded(ok, m.now())
	}
	if rep.Published {
		// The ledger was just written; if it cannot be read now, the
		// gauges stay as they were until the next run.
		_ = m.Refresh(context.Background())
	}
}

// NotifyFailed counts a notification that was not delivered.
func (m *Metrics) NotifyFailed(notifier string) { m.notifyFailure.WithLabelValues(notifier).Inc() }

// OverdueAlerted counts an overdue alert of a schedule.
func (m *Metrics) OverdueAlerted(schedule string) { m.overdue.WithLabelValues(schedule).Inc() }

// Handler serves the metrics in Prometheus' text format (mount it on
// /metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// entityCollector exposes each entity's state, the age of its data
// computed at scrape time.
type entityCollector struct {
	mu     sync.Mutex
	states map[string]pipeline.EntityState
	now    func() time.Time
}

var (
	descRowsPublished = prometheus.NewDesc("nightshift_entity_rows_published",
		"Rows in the entity's current warehouse table, as its last publish (or restore) recorded them in the ledger.", []string{"entity"}, nil)
	descRowsQuarantined = prometheus.NewDesc("nightshift_entity_rows_quarantined",
		"Source rows of the entity set aside (nightshift.quarantine) by the run whose data its current warehouse table holds.", []string{"entity"}, nil)
	descDataAge = prometheus.NewDesc("nightshift_entity_data_age_seconds",
		"Seconds since the data in the entity's current warehouse table was published, at scrape time.", []string{"entity"}, nil)
	descPublished = prometheus.NewDesc("nightshift_entity_published_timestamp_seconds",
		"When the data in the entity's current warehouse table was published (Unix time).", []string{"entity"}, nil)
	descLastSuccess = prometheus.NewDesc("nightshift_last_success_timestamp_seconds",
		"When each entity last succeeded in a run (Unix time); restored from the ledger at start.", []string{"entity"}, nil)
)

func (c *entityCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRowsPublished, descRowsQuarantined, descDataAge, descPublished, descLastSuccess} {
		ch <- d
	}
}

func (c *entityCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for entity, s := range c.states {
		if s.RunID != 0 {
			ch <- prometheus.MustNewConstMetric(descRowsPublished, prometheus.GaugeValue, float64(s.Rows), entity)
			ch <- prometheus.MustNewConstMetric(descRowsQuarantined, prometheus.GaugeValue, float64(s.Quarantined), entity)
			ch <- prometheus.MustNewConstMetric(descPublished, prometheus.GaugeValue, unix(s.PublishedAt), entity)
			ch <- prometheus.MustNewConstMetric(descDataAge, prometheus.GaugeValue, max(0, now.Sub(s.PublishedAt).Seconds()), entity)
		}
		if !s.LastSuccess.IsZero() {
			ch <- prometheus.MustNewConstMetric(descLastSuccess, prometheus.GaugeValue, unix(s.LastSuccess), entity)
		}
	}
}

// merge takes the ledger's states; a last success never goes back.
func (c *entityCollector) merge(states map[string]pipeline.EntityState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for entity, s := range states {
		if old := c.states[entity]; old.LastSuccess.After(s.LastSuccess) {
			s.LastSuccess = old.LastSuccess
		}
		c.states[entity] = s
	}
}

func (c *entityCollector) succeeded(entities []string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range entities {
		s := c.states[e]
		s.Entity, s.LastSuccess = e, at
		c.states[e] = s
	}
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
