package pipeline_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/pipeline"
)

// AfterPropagate runs once, as a step of the whole run, only when every
// Propagate task succeeded; capped and classified like any step. The run
// has propagated only when it succeeded too, and the notification says
// that every entity reached the target but the step after them did not.
func TestAfterPropagateRunsOnceEveryTaskSucceeded(t *testing.T) {
	t.Parallel()
	ok := func(context.Context, int) (pipeline.Outcome, error) { return pipeline.Outcome{Rows: 1}, nil }
	plan := func(propagate []pipeline.Task, after pipeline.Step) pipeline.Planner {
		return func(context.Context, *pipeline.Run) (*pipeline.Plan, error) {
			return &pipeline.Plan{
				Stage:     []pipeline.Task{{Entity: "a", Steps: []pipeline.Step{&stepFunc{name: "extract", fn: ok}}}},
				Publish:   &stepFunc{name: "publish", fn: ok},
				Propagate: propagate, AfterPropagate: after,
			}, nil
		}
	}
	do := func(t *testing.T, b *bundle, p pipeline.Planner) pipeline.Report {
		t.Helper()
		run := &pipeline.Run{Env: "test", Trigger: pipeline.TriggerManual, Mode: "full", Entities: []string{"a", "b"}, StartedBy: "test"}
		rep, err := b.runner.Do(context.Background(), run, time.Minute, p)
		require.NoError(t, err)
		return rep
	}

	t.Run("after every task", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		after := &stepFunc{name: "finish-bigquery", fn: func(_ context.Context, attempt int) (pipeline.Outcome, error) {
			if attempt == 1 {
				return pipeline.Outcome{}, errors.New("backend error")
			}
			return pipeline.Outcome{Rows: 3}, nil
		}}
		rep := do(t, b, plan([]pipeline.Task{
			{Entity: "a", Steps: []pipeline.Step{&stepFunc{name: "load-bigquery", fn: ok}}},
			{Entity: "b", Steps: []pipeline.Step{&stepFunc{name: "load-bigquery", fn: ok}}},
		}, after))
		require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)
		require.True(t, rep.Propagated)
		require.EqualValues(t, 2, after.calls.Load())
		require.Equal(t, []string{"*/publish#1 succeeded", "*/finish-bigquery#1 failed transient", "*/finish-bigquery#2 succeeded",
			"a/extract#1 succeeded", "a/load-bigquery#1 succeeded", "b/load-bigquery#1 succeeded"}, b.attempts(t, rep.Run.ID))
	})
	t.Run("not when a task failed", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		after := &stepFunc{name: "finish-bigquery", fn: ok}
		rep := do(t, b, plan([]pipeline.Task{
			{Entity: "a", Steps: []pipeline.Step{&stepFunc{name: "load-bigquery", fn: func(context.Context, int) (pipeline.Outcome, error) {
				return pipeline.Outcome{}, pipeline.MarkPermanent(errors.New("invalid"))
			}}}},
		}, after))
		require.Equal(t, pipeline.StatusFailed, rep.Status)
		require.False(t, rep.Propagated)
		require.Zero(t, after.calls.Load())
	})
	t.Run("its failure fails the run", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		after := &stepFunc{name: "finish-bigquery", fn: func(context.Context, int) (pipeline.Outcome, error) {
			return pipeline.Outcome{}, errors.New("backend error")
		}}
		rep := do(t, b, plan([]pipeline.Task{{Entity: "a", Steps: []pipeline.Step{&stepFunc{name: "load-bigquery", fn: ok}}}}, after))
		require.Equal(t, pipeline.StatusFailed, rep.Status)
		require.True(t, rep.Published)
		require.True(t, rep.Propagating)
		require.False(t, rep.Propagated)
		require.EqualValues(t, 3, after.calls.Load(), "capped at max_attempts")
		require.ErrorContains(t, rep.Err, "* finish-bigquery failed after 3 attempt(s) (transient)")
		rec, err := b.runner.Ledger.Get(context.Background(), rep.Run.ID)
		require.NoError(t, err)
		require.False(t, rec.Propagated, "bigquery_published_at stays NULL: retry finishes it")
	})
}
