package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/pipeline/metrics"
)

type step struct {
	name string
	fn   func(attempt int) (pipeline.Outcome, error)
}

func (s step) Name() string { return s.name }
func (s step) Run(_ context.Context, attempt int) (pipeline.Outcome, error) {
	return s.fn(attempt)
}

func TestMetricsExposeRunsStepsRowsAndRetries(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	runner := &pipeline.Runner{
		Ledger: pipeline.NewLedger(pgtest.Pool(t, pgtest.NewWarehouse(t))), Parallelism: 1, Observer: m,
		Retry: pipeline.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond},
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	tasks := []pipeline.Task{{Entity: "trainees", Steps: []pipeline.Step{
		step{"extract", func(int) (pipeline.Outcome, error) { return pipeline.Outcome{Rows: 7}, nil }},
		step{"load-warehouse", func(attempt int) (pipeline.Outcome, error) {
			if attempt == 1 {
				return pipeline.Outcome{}, errors.New("connection reset")
			}
			return pipeline.Outcome{Rows: 7}, nil
		}},
	}}}
	run := &pipeline.Run{Env: "test", Trigger: pipeline.TriggerSchedule, Mode: "full", Entities: []string{"trainees"}, StartedBy: "t"}
	_, err := runner.Do(context.Background(), run, time.Minute, pipeline.StageOnly(tasks...))
	require.NoError(t, err)

	srv := httptest.NewServer(http.StripPrefix("/metrics", m.Handler()))
	defer srv.Close()
	get := func(path string) string {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+path, nil)
		require.NoError(t, err)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, 200, resp.StatusCode)
		return string(body)
	}
	body := get("/metrics")
	for _, want := range []string{
		`nightshift_runs_total{status="succeeded"} 1`,
		`nightshift_rows_loaded_total{entity="trainees",step="load-warehouse"} 7`,
		`nightshift_step_retries_total{entity="trainees",step="load-warehouse"} 1`,
		`nightshift_step_duration_seconds_count{entity="trainees",result="failed",step="load-warehouse"} 1`,
		`nightshift_step_duration_seconds_count{entity="trainees",result="succeeded",step="extract"} 1`,
		`nightshift_last_success_timestamp_seconds{entity="trainees"}`,
		`nightshift_run_duration_seconds_count{status="succeeded"} 1`,
	} {
		require.Contains(t, body, want)
	}
}
