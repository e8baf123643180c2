package metrics_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/pipeline/metrics"
	"github.com/dfe-nightshift/nightshift/schedules"
)

// addRun records a finished run directly in the ledger.
func addRun(t *testing.T, pool *pgxpool.Pool, status, trigger, reason string, publishedAt *time.Time, results map[string]string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, pool.QueryRow(context.Background(), `
		INSERT INTO nightshift.runs (env, trigger, entities, started_by, status, finished_at, reason, published_at, results)
		VALUES ('test', $1, '{trainees}', 't', $2::text, CASE WHEN $2::text = 'running' THEN NULL ELSE now() END, nullif($3, ''), $4, $5)
		RETURNING id`, trigger, status, reason, publishedAt, results).Scan(&id))
	return id
}

// serve answers one request to h and decodes its JSON body.
func serve(t *testing.T, h http.Handler, path string) (int, metrics.ReadyReport) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), http.MethodGet, path, nil))
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var rep metrics.ReadyReport
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &rep), rec.Body.String())
	return rec.Code, rep
}

func TestHealthzSaysTheProcessIsAlive(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	metrics.Healthz(rec, httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/healthz", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.JSONEq(t, `{"status":"ok"}`, rec.Body.String())
}

func TestReadyzWhenAllIsGood(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t, pgtest.NewWarehouse(t))
	h := &metrics.Readiness{Ledger: pipeline.NewLedger(pool),
		Overdue: func(context.Context, time.Time) ([]pipeline.OverdueAlert, error) { return nil, nil }}

	code, rep := serve(t, h, "/readyz")
	require.Equal(t, http.StatusOK, code, "no run yet is not a reason to be unready")
	require.True(t, rep.Ready)
	require.Equal(t, "no run has finished yet", rep.Checks[metrics.CheckLastRun].Detail)

	addRun(t, pool, "failed", "manual", "", nil, nil)
	id := addRun(t, pool, "succeeded", "schedule", "schedule nightly", nil, nil)
	// Neither a refused run nor one still running says how the pipeline fares.
	addRun(t, pool, "refused", "manual", "", nil, nil)
	addRun(t, pool, "running", "manual", "", nil, nil)
	code, rep = serve(t, h, "/readyz")
	require.Equal(t, http.StatusOK, code, rep)
	require.Equal(t, metrics.ReadyReport{Ready: true, Checks: map[string]metrics.Check{
		metrics.CheckWarehouse: {OK: true},
		metrics.CheckOverdue:   {OK: true},
		metrics.CheckLastRun:   {OK: true, Detail: "run " + itoa(id) + " succeeded"},
	}}, rep)
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

func TestReadyzWhenTheLastRunFailed(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t, pgtest.NewWarehouse(t))
	h := &metrics.Readiness{Ledger: pipeline.NewLedger(pool)}
	addRun(t, pool, "succeeded", "schedule", "schedule nightly", nil, nil)
	for _, status := range []string{"failed", "aborted", "abandoned"} {
		id := addRun(t, pool, status, "schedule", "schedule nightly", nil, nil)
		code, rep := serve(t, h, "/readyz")
		require.Equal(t, http.StatusServiceUnavailable, code)
		require.False(t, rep.Ready)
		require.Equal(t, metrics.Check{Detail: "run " + itoa(id) + " " + status}, rep.Checks[metrics.CheckLastRun])
		require.True(t, rep.Checks[metrics.CheckWarehouse].OK)
		require.True(t, rep.Checks[metrics.CheckOverdue].OK)
	}
	// A later success makes it ready again.
	addRun(t, pool, "succeeded", "retry", "", nil, nil)
	code, _ := serve(t, h, "/readyz")
	require.Equal(t, http.StatusOK, code)
}

func TestReadyzWhenTheWarehouseIsDown(t *testing.T) {
	t.Parallel()
	url := pgtest.NewWarehouse(t)
	closed := pgtest.Pool(t, url)
	closed.Close()
	// Nothing listens on port 1: the connection is refused at once.
	unreachable, err := pgxpool.New(context.Background(), "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=1")
	require.NoError(t, err)
	t.Cleanup(unreachable.Close)
	for name, pool := range map[string]*pgxpool.Pool{"closed pool": closed, "unreachable": unreachable} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := &metrics.Readiness{Ledger: pipeline.NewLedger(pool), Timeout: 3 * time.Second}
			start := time.Now()
			code, rep := serve(t, h, "/readyz")
			require.Less(t, time.Since(start), 5*time.Second, "the checks are bounded")
			require.Equal(t, http.StatusServiceUnavailable, code)
			require.False(t, rep.Ready)
			require.False(t, rep.Checks[metrics.CheckWarehouse].OK)
			require.Contains(t, rep.Checks[metrics.CheckWarehouse].Detail, "warehouse unreachable")
			require.False(t, rep.Checks[metrics.CheckLastRun].OK)
			require.Contains(t, rep.Checks[metrics.CheckLastRun].Detail, "cannot read the ledger")
		})
	}
}

func nightly(t *testing.T) schedules.Schedule {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "nightly.yaml"),
		[]byte("name: nightly\ncron: \"0 2 * * *\"\ntimezone: Europe/London\nentities: all\ndeadline: \"07:00\"\n"), 0o600))
	s, err := schedules.Load(dir, nil)
	require.NoError(t, err)
	return s[0]
}

func TestReadyzWhenAScheduleIsOverdue(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t, pgtest.NewWarehouse(t))
	ledger := pipeline.NewLedger(pool)
	london, err := time.LoadLocation("Europe/London")
	require.NoError(t, err)
	// In summer, so that London's time (BST, UTC+1) differs from UTC.
	at := func(hh, mm int) time.Time { return time.Date(2026, 7, 15, hh, mm, 0, 0, london) }
	var alerts []pipeline.OverdueAlert
	sc := &pipeline.Scheduler{
		Schedules: []schedules.Schedule{nightly(t)},
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Fire: func(context.Context, schedules.Schedule, time.Time) (pipeline.Status, error) {
			addRun(t, pool, "failed", "schedule", "schedule nightly", nil, nil)
			return pipeline.StatusFailed, nil
		},
		LastSuccess: ledger.LastScheduledSuccess,
		Alert:       func(_ context.Context, a pipeline.OverdueAlert) { alerts = append(alerts, a) },
	}
	var now time.Time
	h := &metrics.Readiness{Ledger: ledger, Overdue: sc.Overdue, Now: func() time.Time { return now }}
	ctx := context.Background()

	sc.Tick(ctx, at(1, 0))
	sc.Tick(ctx, at(2, 0))
	sc.Wait()
	now = at(6, 59)
	_, rep := serve(t, h, "/readyz")
	require.True(t, rep.Checks[metrics.CheckOverdue].OK, "before the deadline")

	// Past the deadline, before the scheduler's tick raises the alert, and
	// after it.
	for _, tick := range []bool{false, true} {
		now = at(7, 1)
		if tick {
			sc.Tick(ctx, now)
			require.Len(t, alerts, 1)
		}
		now = at(7, 5)
		code, rep := serve(t, h, "/readyz")
		require.Equal(t, http.StatusServiceUnavailable, code)
		require.Equal(t, metrics.Check{Detail: "nightly fired 02:00, deadline 07:00 passed"}, rep.Checks[metrics.CheckOverdue])
		require.False(t, rep.Checks[metrics.CheckLastRun].OK)
		require.True(t, rep.Checks[metrics.CheckWarehouse].OK)
	}
	// The next day, the date is given.
	now = at(7, 5).AddDate(0, 0, 1).Add(-time.Hour)
	_, rep = serve(t, h, "/readyz")
	require.Equal(t, "nightly fired 2026-07-15 02:00, deadline 2026-07-15 07:00 passed", rep.Checks[metrics.CheckOverdue].Detail)

	// A success of the schedule (a manual re-run of it) clears it.
	addRun(t, pool, "succeeded", "schedule", "schedule nightly", nil, nil)
	now = at(7, 10)
	code, rep := serve(t, h, "/readyz")
	require.Equal(t, http.StatusOK, code, rep)
	require.True(t, rep.Ready)
}

// publish records, as a publish does, that run put rows of entity in the
// warehouse's current table.
func publish(t *testing.T, pool *pgxpool.Pool, entity string, run, rows int64) {
	t.Helper()
	ctx := context.Background()
	_, err := pool.Exec(ctx, `DELETE FROM nightshift.table_versions WHERE target = 'warehouse' AND entity = $1`, entity)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO nightshift.table_versions (target, entity, slot, run_id, rows, placed_by) VALUES ('warehouse', $1, 'current', $2, $3, $2)`, entity, run, rows)
	require.NoError(t, err)
}

func quarantine(t *testing.T, pool *pgxpool.Pool, run int64, entity string, n int) {
	t.Helper()
	_, err := pool.Exec(context.Background(), `INSERT INTO nightshift.quarantine (run_id, entity, key, column_name, value, reason)
		SELECT $1, $2, 'id=' || i, 'born_on', 'infinity', 'infinite date' FROM generate_series(1, $3::int) i`, run, entity, n)
	require.NoError(t, err)
}

// scrape returns the metrics' exposition text.
func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	return rec.Body.String()
}

// value is the value of a sample in exposition text.
func value(t *testing.T, body, sample string) float64 {
	t.Helper()
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, sample+" "); ok {
			var v float64
			require.NoError(t, json.Unmarshal([]byte(rest), &v), line)
			return v
		}
	}
	t.Fatalf("no sample %s in:\n%s", sample, body)
	return 0
}

func TestEntityGaugesAreRestoredFromTheLedger(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t, pgtest.NewWarehouse(t))
	ledger := pipeline.NewLedger(pool)
	ctx := context.Background()
	day := time.Date(2026, 1, 15, 2, 30, 0, 0, time.UTC)
	old, last := day.Add(-24*time.Hour), day

	r1 := addRun(t, pool, "succeeded", "schedule", "schedule nightly", &old, map[string]string{"trainees": "succeeded", "declarations": "succeeded"})
	quarantine(t, pool, r1, "trainees", 5)
	publish(t, pool, "declarations", r1, 70)
	r2 := addRun(t, pool, "failed", "schedule", "schedule nightly", &last, map[string]string{"trainees": "succeeded", "declarations": "failed"})
	quarantine(t, pool, r2, "trainees", 2)
	quarantine(t, pool, r2, "declarations", 9) // not published: not current
	publish(t, pool, "trainees", r2, 1200)
	// A restore puts older data back: the data is as old as its first
	// publish, and the restore is no success of the pipeline.
	r3 := addRun(t, pool, "succeeded", "restore", "", &last, map[string]string{"declarations": "succeeded"})
	_, err := pool.Exec(ctx, `UPDATE nightshift.table_versions SET placed_by = $1 WHERE entity = 'declarations'`, r3)
	require.NoError(t, err)

	// Two daemons one after the other: the second restores what the first
	// showed.
	for range 2 {
		m := metrics.New()
		require.NoError(t, m.Restore(ctx, ledger))
		body := scrape(t, m)
		require.Equal(t, 1200.0, value(t, body, `nightshift_entity_rows_published{entity="trainees"}`))
		require.Equal(t, 2.0, value(t, body, `nightshift_entity_rows_quarantined{entity="trainees"}`))
		require.Equal(t, 70.0, value(t, body, `nightshift_entity_rows_published{entity="declarations"}`))
		require.Equal(t, 0.0, value(t, body, `nightshift_entity_rows_quarantined{entity="declarations"}`))
		require.Equal(t, float64(last.Unix()), value(t, body, `nightshift_last_success_timestamp_seconds{entity="trainees"}`))
		require.Equal(t, float64(old.Unix()), value(t, body, `nightshift_last_success_timestamp_seconds{entity="declarations"}`))
		require.Equal(t, float64(last.Unix()), value(t, body, `nightshift_entity_published_timestamp_seconds{entity="trainees"}`))
		require.Equal(t, float64(old.Unix()), value(t, body, `nightshift_entity_published_timestamp_seconds{entity="declarations"}`))
		// The age is computed when scraped.
		age := value(t, body, `nightshift_entity_data_age_seconds{entity="declarations"}`)
		require.InDelta(t, time.Since(old).Seconds(), age, 5)
		time.Sleep(1100 * time.Millisecond)
		require.Greater(t, value(t, scrape(t, m), `nightshift_entity_data_age_seconds{entity="declarations"}`), age)
	}
}

func TestEntityGaugesFollowRuns(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t, pgtest.NewWarehouse(t))
	ledger := pipeline.NewLedger(pool)
	m := metrics.New()
	require.NoError(t, m.Restore(context.Background(), ledger))
	require.NotContains(t, scrape(t, m), "nightshift_entity_rows_published")

	now := time.Now()
	id := addRun(t, pool, "succeeded", "schedule", "schedule nightly", &now, map[string]string{"trainees": "succeeded"})
	publish(t, pool, "trainees", id, 42)
	quarantine(t, pool, id, "trainees", 3)
	m.RunFinished(pipeline.Report{Run: pipeline.Run{ID: id, Trigger: pipeline.TriggerSchedule}, Status: pipeline.StatusSucceeded, Published: true,
		Elapsed: 90 * time.Second, Results: []pipeline.EntityResult{{Entity: "trainees", Status: pipeline.StatusSucceeded}}})
	m.OverdueAlerted("nightly")
	body := scrape(t, m)
	require.Equal(t, 42.0, value(t, body, `nightshift_entity_rows_published{entity="trainees"}`))
	require.Equal(t, 3.0, value(t, body, `nightshift_entity_rows_quarantined{entity="trainees"}`))
	require.Equal(t, 1.0, value(t, body, `nightshift_runs_total{status="succeeded"}`))
	require.Equal(t, 1.0, value(t, body, `nightshift_run_duration_seconds_count{status="succeeded"}`))
	require.Equal(t, 90.0, value(t, body, `nightshift_run_duration_seconds_sum{status="succeeded"}`))
	require.Equal(t, 1.0, value(t, body, `nightshift_overdue_alerts_total{schedule="nightly"}`))
	require.InDelta(t, float64(time.Now().Unix()), value(t, body, `nightshift_last_success_timestamp_seconds{entity="trainees"}`), 5)
}

// promtool is Prometheus' own checker of the exposition format, from
// Debian's prometheus package.
func promtool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("promtool"); err == nil {
		return p
	}
	t.Fatal("promtool is missing: install it (Debian: apt-get install -y prometheus, which provides /usr/bin/promtool) — " +
		"this test checks /metrics with `promtool check metrics`")
	return ""
}

func TestMetricsPassPromtool(t *testing.T) {
	t.Parallel()
	bin := promtool(t)
	pool := pgtest.Pool(t, pgtest.NewWarehouse(t))
	now := time.Now()
	id := addRun(t, pool, "succeeded", "schedule", "schedule nightly", &now, map[string]string{"trainees": "succeeded"})
	publish(t, pool, "trainees", id, 42)
	quarantine(t, pool, id, "trainees", 3)

	// Every metric with samples: a run through the runner, an alert, a
	// failed notification, and the ledger's state.
	m := metrics.New()
	require.NoError(t, m.Restore(context.Background(), pipeline.NewLedger(pool)))
	runner := &pipeline.Runner{
		Ledger: pipeline.NewLedger(pool), Parallelism: 1, Observer: m,
		Retry: pipeline.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond},
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	attempts := 0
	tasks := []pipeline.Task{{Entity: "trainees", Steps: []pipeline.Step{
		step{"extract", func(int) (pipeline.Outcome, error) { return pipeline.Outcome{Rows: 7}, nil }},
		step{"load-warehouse", func(int) (pipeline.Outcome, error) {
			attempts++
			if attempts == 1 {
				return pipeline.Outcome{}, io.ErrUnexpectedEOF
			}
			return pipeline.Outcome{Rows: 7}, nil
		}},
	}}}
	run := &pipeline.Run{Env: "test", Trigger: pipeline.TriggerSchedule, Mode: "full", Entities: []string{"trainees"}, StartedBy: "t"}
	_, err := runner.Do(context.Background(), run, time.Minute, pipeline.StageOnly(tasks...))
	require.NoError(t, err)
	m.OverdueAlerted("nightly")
	m.NotifyFailed("slack")

	body := scrape(t, m)
	for _, name := range []string{"nightshift_runs_total", "nightshift_run_duration_seconds_bucket", "nightshift_step_duration_seconds_bucket",
		"nightshift_rows_loaded_total", "nightshift_step_retries_total", "nightshift_notification_failures_total", "nightshift_overdue_alerts_total",
		"nightshift_entity_rows_published", "nightshift_entity_rows_quarantined", "nightshift_entity_data_age_seconds",
		"nightshift_entity_published_timestamp_seconds", "nightshift_last_success_timestamp_seconds"} {
		require.Contains(t, body, "\n"+name+"{", name)
	}
	cmd := exec.CommandContext(context.Background(), bin, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "promtool check metrics:\n%s\non:\n%s", out, body)
	require.Empty(t, strings.TrimSpace(string(out)), "promtool has findings")
}

// A check that cannot be cancelled — the scheduler's overdue list, behind
// the lock its Tick holds while an overdue alert is being delivered — does
// not hold up the probe: it counts as failed at its timeout.
func TestReadyzAnswersWhenACheckHangs(t *testing.T) {
	t.Parallel()
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	h := &metrics.Readiness{
		Ledger:  pipeline.NewLedger(pgtest.Pool(t, pgtest.NewWarehouse(t))),
		Timeout: 300 * time.Millisecond,
		Overdue: func(context.Context, time.Time) ([]pipeline.OverdueAlert, error) {
			<-stuck // deaf to its context, as a mutex is
			return nil, nil
		},
	}
	start := time.Now()
	code, rep := serve(t, h, "/readyz")
	require.Less(t, time.Since(start), 2*time.Second, "the probe is bounded by the checks' timeout")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.False(t, rep.Checks[metrics.CheckOverdue].OK)
	require.Contains(t, rep.Checks[metrics.CheckOverdue].Detail, "no answer within 300ms")
	require.True(t, rep.Checks[metrics.CheckWarehouse].OK)
}
