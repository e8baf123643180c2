package pipeline_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/pipeline/notify"
)

// blockingStep waits until its context ends, after saying it started.
func blockingStep(started chan<- struct{}) *stepFunc {
	return &stepFunc{name: "load", fn: func(ctx context.Context, _ int) (pipeline.Outcome, error) {
		close(started)
		<-ctx.Done()
		return pipeline.Outcome{}, ctx.Err()
	}}
}

func TestSecondRunIsRefusedNamingTheHolder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	hook := newReceiver(t, 0)
	b.runner.Notifiers = []pipeline.Notifier{&notify.Webhook{URL: hook.srv.URL}}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan pipeline.Report)
	go func() {
		done <- b.do(t, ctx, pipeline.Task{Entity: "a", Steps: []pipeline.Step{blockingStep(started)}})
	}()
	<-started

	second := &pipeline.Run{Env: "test", Trigger: pipeline.TriggerManual, Mode: "full", Entities: []string{"a"}, StartedBy: "someone@else"}
	_, err := b.runner.Do(context.Background(), second, time.Minute, func(context.Context, *pipeline.Run) (*pipeline.Plan, error) {
		t.Fatal("a refused run must not be planned")
		return nil, nil
	})
	var locked *pipeline.LockedError
	require.ErrorAs(t, err, &locked)
	require.True(t, errors.Is(err, pipeline.ErrLocked))
	require.Contains(t, err.Error(), "run 1 holds the warehouse's run lock since")
	require.Contains(t, err.Error(), "manual run started by test")
	// The refused run is recorded, finished, so that someone hears of it.
	require.NotZero(t, second.ID)
	var status string
	require.NoError(t, b.wh.QueryRow(context.Background(), "SELECT status FROM nightshift.runs WHERE id = $1", second.ID).Scan(&status))
	require.Equal(t, "refused", status)
	got := hook.notifications(t)
	require.Len(t, got, 1, "someone asked for the refused run: they hear it did not happen")
	require.Equal(t, second.ID, got[0].RunID)
	require.Equal(t, pipeline.StatusRefused, got[0].Status)
	require.Contains(t, got[0].NextAction, "Another run holds the warehouse")
	require.Contains(t, got[0].Changed, "Nothing was changed")

	cancel()
	require.Equal(t, pipeline.StatusAborted, (<-done).Status)
}

func TestAbortRequestStopsTheRunWithinSeconds(t *testing.T) {
	t.Parallel()
	b := setup(t)
	started := make(chan struct{})
	done := make(chan pipeline.Report)
	go func() {
		done <- b.do(t, context.Background(), pipeline.Task{Entity: "a", Steps: []pipeline.Step{blockingStep(started)}})
	}()
	<-started
	id, err := b.runner.Ledger.RequestAbort(context.Background(), 0, "ops@desk", "wrong environment")
	require.NoError(t, err)
	require.EqualValues(t, 1, id)

	select {
	case rep := <-done:
		require.Equal(t, pipeline.StatusAborted, rep.Status)
		require.ErrorIs(t, rep.Err, pipeline.ErrAborted)
		require.Contains(t, rep.Err.Error(), "wrong environment")
	case <-time.After(3 * pipeline.HeartbeatInterval):
		t.Fatal("the run did not stop after an abort request")
	}
	status, msg := b.runStatus(t, 1)
	require.Equal(t, "aborted", status)
	require.Contains(t, *msg, "aborted by ops@desk")

	_, err = b.runner.Ledger.RequestAbort(context.Background(), 1, "ops", "again")
	require.ErrorContains(t, err, "run 1 is not running (it is aborted)")
}

func TestDeadRunsAreMarkedAbandoned(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	// A run whose process died: running in the ledger, but nobody holds the
	// lock.
	dead := &pipeline.Run{Env: "test", Trigger: pipeline.TriggerSchedule, Mode: "full", Entities: []string{"a", "b"}, StartedBy: "cron"}
	require.NoError(t, b.runner.Ledger.Start(ctx, dead))
	_, err := b.runner.Ledger.StartStep(ctx, dead.ID, "a", "extract", 1)
	require.NoError(t, err)

	ids, err := b.runner.Ledger.SweepAbandoned(ctx)
	require.NoError(t, err)
	require.Equal(t, []int64{dead.ID}, ids)
	status, msg := b.runStatus(t, dead.ID)
	require.Equal(t, "abandoned", status)
	require.Contains(t, *msg, "the process running it died")
	require.Equal(t, []string{"a/extract#1 aborted"}, b.attempts(t, dead.ID))

	rec, err := b.runner.Ledger.Get(ctx, dead.ID)
	require.NoError(t, err)
	require.Equal(t, pipeline.TriggerSchedule, rec.Trigger)
	require.Equal(t, pipeline.StatusAbandoned, rec.Status)
	require.False(t, rec.Published, "a dead run that never published changed nothing")

	// The next run notices nothing more to abandon, and records how each
	// of its entities ended.
	fail := &stepFunc{name: "extract", fn: func(context.Context, int) (pipeline.Outcome, error) {
		return pipeline.Outcome{}, pipeline.MarkPermanent(errors.New("bad"))
	}}
	rep := b.do(t, ctx,
		pipeline.Task{Entity: "a", Steps: []pipeline.Step{&stepFunc{name: "extract", fn: ok(1)}}},
		pipeline.Task{Entity: "b", Steps: []pipeline.Step{fail}})
	require.Empty(t, rep.Abandoned)
	var results map[string]string
	require.NoError(t, b.wh.QueryRow(ctx, "SELECT results FROM nightshift.runs WHERE id = $1", rep.Run.ID).Scan(&results))
	require.Equal(t, map[string]string{"a": "succeeded", "b": "failed"}, results)
}

// A dead run is reported once, however many processes find it: `runs`,
// `retry` and the next run all look, and the ledger lets one of them send.
func TestAbandonedRunIsNotifiedOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	hook := newReceiver(t, 0)
	b.runner.Notifiers = []pipeline.Notifier{&notify.Webhook{URL: hook.srv.URL}}
	ctx := context.Background()
	dead := &pipeline.Run{Env: "test", Trigger: pipeline.TriggerSchedule, Entities: []string{"a"}, StartedBy: "cron"}
	require.NoError(t, b.runner.Ledger.Start(ctx, dead))
	ids, err := b.runner.Ledger.SweepAbandoned(ctx)
	require.NoError(t, err)
	b.runner.NotifyAbandoned(ctx, ids)
	b.runner.NotifyAbandoned(ctx, ids) // a second process that found the same run
	b.do(t, ctx, pipeline.Task{Entity: "a", Steps: []pipeline.Step{&stepFunc{name: "extract", fn: ok(1)}}})
	var abandoned []pipeline.Notification
	for _, n := range hook.notifications(t) {
		if n.RunID == dead.ID {
			abandoned = append(abandoned, n)
		}
	}
	require.Len(t, abandoned, 1)
	require.Equal(t, pipeline.StatusAbandoned, abandoned[0].Status)
	require.Contains(t, abandoned[0].Changed, "Nothing was changed")
}
