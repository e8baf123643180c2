package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/pipeline"
)

// stepFunc is a step made of a function, for driving the runner.
type stepFunc struct {
	name  string
	calls atomic.Int32
	fn    func(ctx context.Context, attempt int) (pipeline.Outcome, error)
}

func (s *stepFunc) Name() string { return s.name }
func (s *stepFunc) Run(ctx context.Context, attempt int) (pipeline.Outcome, error) {
	s.calls.Add(1)
	return s.fn(ctx, attempt)
}

type bundle struct {
	wh     *pgxpool.Pool
	runner *pipeline.Runner
}

func setup(t *testing.T) *bundle {
	t.Helper()
	wh := pgtest.Pool(t, pgtest.NewWarehouse(t))
	return &bundle{wh: wh, runner: &pipeline.Runner{
		Ledger: pipeline.NewLedger(wh), Parallelism: 2,
		Retry: pipeline.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond},
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	}}
}

func (b *bundle) do(t *testing.T, ctx context.Context, tasks ...pipeline.Task) pipeline.Report {
	t.Helper()
	var entities []string
	for _, task := range tasks {
		entities = append(entities, task.Entity)
	}
	run := &pipeline.Run{Env: "test", Trigger: pipeline.TriggerManual, Mode: "full", Entities: entities, StartedBy: "test"}
	rep, err := b.runner.Do(ctx, run, time.Minute, pipeline.StageOnly(tasks...))
	require.NoError(t, err)
	return rep
}

// attempts lists (step, attempt, status, error_class) rows of a run.
func (b *bundle) attempts(t *testing.T, runID int64) []string {
	t.Helper()
	rows, err := b.wh.Query(context.Background(), `
		SELECT entity || '/' || step || '#' || attempt || ' ' || status || coalesce(' ' || error_class, '')
		FROM nightshift.step_runs WHERE run_id = $1 ORDER BY entity, id`, runID)
	require.NoError(t, err)
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

func (b *bundle) runStatus(t *testing.T, runID int64) (status string, errText *string) {
	t.Helper()
	require.NoError(t, b.wh.QueryRow(context.Background(), "SELECT status, error FROM nightshift.runs WHERE id = $1", runID).Scan(&status, &errText))
	return status, errText
}

func ok(rows int64) func(context.Context, int) (pipeline.Outcome, error) {
	return func(context.Context, int) (pipeline.Outcome, error) { return pipeline.Outcome{Rows: rows}, nil }
}

func TestTransientErrorsAreRetriedUpToTheCap(t *testing.T) {
	t.Parallel()
	b := setup(t)
	reset := &pgconn.PgError{Code: "08006", Message: "connection failure"}
	flaky := &stepFunc{name: "extract", fn: func(_ context.Context, attempt int) (pipeline.Outcome, error) {
		if attempt < 3 {
			return pipeline.Outcome{}, fmt.Errorf("read: %w", reset)
		}
		return pipeline.Outcome{Rows: 10}, nil
	}}
	always := &stepFunc{name: "extract", fn: func(context.Context, int) (pipeline.Outcome, error) {
		return pipeline.Outcome{}, reset
	}}
	never := &stepFunc{name: "load", fn: ok(1)}
	rep := b.do(t, context.Background(),
		pipeline.Task{Entity: "a", Steps: []pipeline.Step{flaky, &stepFunc{name: "load", fn: ok(10)}}},
		pipeline.Task{Entity: "b", Steps: []pipeline.Step{always, never}},
	)
	require.Equal(t, pipeline.StatusFailed, rep.Status)
	require.Equal(t, pipeline.StatusSucceeded, rep.Results[0].Status, "one entity's failure does not stop another")
	require.EqualValues(t, 10, rep.Results[0].Rows)
	require.Equal(t, pipeline.StatusFailed, rep.Results[1].Status)
	require.EqualValues(t, 3, always.calls.Load(), "exactly max_attempts")
	require.Zero(t, never.calls.Load(), "a step after a failed step never runs")
	require.Equal(t, []string{
		"a/extract#1 failed transient", "a/extract#2 failed transient", "a/extract#3 succeeded", "a/load#1 succeeded",
		"b/extract#1 failed transient", "b/extract#2 failed transient", "b/extract#3 failed transient",
	}, b.attempts(t, rep.Run.ID))
	status, msg := b.runStatus(t, rep.Run.ID)
	require.Equal(t, "failed", status)
	require.Contains(t, *msg, "b extract failed after 3 attempt(s)")
}

func TestPermanentErrorIsNotRetried(t *testing.T) {
	t.Parallel()
	b := setup(t)
	undefinedColumn := &pgconn.PgError{Code: "42703", Message: `column "trn" does not exist`}
	s := &stepFunc{name: "extract", fn: func(context.Context, int) (pipeline.Outcome, error) { return pipeline.Outcome{}, undefinedColumn }}
	rep := b.do(t, context.Background(), pipeline.Task{Entity: "a", Steps: []pipeline.Step{s}})
	require.Equal(t, pipeline.StatusFailed, rep.Status)
	require.EqualValues(t, 1, s.calls.Load())
	require.Equal(t, []string{"a/extract#1 failed permanent"}, b.attempts(t, rep.Run.ID))
}

func TestPanicFailsTheStepWithItsStack(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := &stepFunc{name: "extract", fn: func(context.Context, int) (pipeline.Outcome, error) { panic("boom") }}
	rep := b.do(t, context.Background(), pipeline.Task{Entity: "a", Steps: []pipeline.Step{s}})
	require.Equal(t, pipeline.StatusFailed, rep.Status)
	require.EqualValues(t, 1, s.calls.Load(), "a panic is a bug: not retried")
	var stepErr string
	require.NoError(t, b.wh.QueryRow(context.Background(), "SELECT error FROM nightshift.step_runs WHERE run_id = $1", rep.Run.ID).Scan(&stepErr))
	require.Contains(t, stepErr, "panic: boom")
	require.Contains(t, stepErr, "runner_test.go", "the stack is in the ledger")
}

func TestCancelledRunIsAborted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	s := &stepFunc{name: "load", fn: func(ctx context.Context, _ int) (pipeline.Outcome, error) {
		close(started)
		<-ctx.Done()
		return pipeline.Outcome{}, ctx.Err()
	}}
	go func() { <-started; cancel() }()
	rep := b.do(t, ctx, pipeline.Task{Entity: "a", Steps: []pipeline.Step{s}})
	require.Equal(t, pipeline.StatusAborted, rep.Status)
	require.EqualValues(t, 1, s.calls.Load(), "an abort is never retried")
	status, _ := b.runStatus(t, rep.Run.ID)
	require.Equal(t, "aborted", status, "the ledger records the abort although ctx is cancelled")
	require.Equal(t, []string{"a/load#1 aborted permanent"}, b.attempts(t, rep.Run.ID))
}

func TestDeadlineFailsTheRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := &stepFunc{name: "load", fn: func(ctx context.Context, _ int) (pipeline.Outcome, error) {
		<-ctx.Done()
		return pipeline.Outcome{}, ctx.Err()
	}}
	run := &pipeline.Run{Env: "test", Trigger: pipeline.TriggerSchedule, Mode: "full", Entities: []string{"a"}, StartedBy: "test"}
	rep, err := b.runner.Do(context.Background(), run, 200*time.Millisecond, pipeline.StageOnly(pipeline.Task{Entity: "a", Steps: []pipeline.Step{s}}))
	require.NoError(t, err)
	require.Equal(t, pipeline.StatusFailed, rep.Status)
	require.True(t, errors.Is(rep.Err, pipeline.ErrDeadline), "%v", rep.Err)
}

func TestClassify(t *testing.T) {
	t.Parallel()
	cases := map[string]pipeline.Class{
		"08006": pipeline.Transient, // connection failure
		"57P01": pipeline.Transient, // admin shutdown
		"40001": pipeline.Transient, // serialization failure
		"40P01": pipeline.Transient, // deadlock
		"55P03": pipeline.Transient, // lock not available
		"53300": pipeline.Transient, // too many connections
		"42703": pipeline.Permanent, // undefined column
		"42P01": pipeline.Permanent, // undefined table
		"42883": pipeline.Permanent, // undefined function
		"42501": pipeline.Permanent, // insufficient privilege
		"22P02": pipeline.Permanent, // invalid text representation
		"22003": pipeline.Permanent, // numeric value out of range
		"28P01": pipeline.Permanent, // invalid password
	}
	for code, want := range cases {
		err := fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: code})
		require.Equal(t, want, pipeline.Classify(err), code)
	}
	require.Equal(t, pipeline.Permanent, pipeline.Classify(pipeline.MarkPermanent(errors.New("checksum mismatch"))))
	require.Equal(t, pipeline.Transient, pipeline.Classify(context.DeadlineExceeded))
}
