package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Planner builds a run's tasks once the run is recorded. It may fill
// run.SourceVersions. cleanup releases whatever the tasks hold.
type Planner func(ctx context.Context, run *Run) (tasks []Task, cleanup func(), err error)

// Report is how a run ended.
type Report struct {
	Run     Run
	Status  Status
	Results []EntityResult
	Err     error
	Elapsed time.Duration
}

// HeartbeatInterval is how often a running run shows it is alive.
const HeartbeatInterval = 10 * time.Second

// ErrDeadline is the cause of a run cancelled by its deadline.
var ErrDeadline = errors.New("run deadline exceeded")

// Do records run, plans it, executes it under deadline and records how it
// ended. The run always reaches a final status in the ledger, whatever
// happens in between: failed, aborted (ctx cancelled) or succeeded.
func (r *Runner) Do(ctx context.Context, run *Run, deadline time.Duration, plan Planner) (Report, error) {
	if err := r.Ledger.Start(ctx, run); err != nil {
		return Report{}, err
	}
	start := time.Now()
	rep := Report{Run: *run}
	finish := func(status Status, err error) (Report, error) {
		rep.Status, rep.Err, rep.Elapsed = status, err, time.Since(start)
		rep.Run = *run
		if lerr := r.Ledger.Finish(ctx, run.ID, status, err); lerr != nil {
			return rep, errors.Join(err, lerr)
		}
		return rep, nil
	}

	runCtx, cancel := context.WithDeadlineCause(ctx, start.Add(deadline), fmt.Errorf("%w (%s)", ErrDeadline, deadline))
	defer cancel()
	stopBeat := r.heartbeat(runCtx, run.ID)
	defer stopBeat()

	tasks, cleanup, err := plan(runCtx, run)
	if err != nil {
		status := statusOf(ctx)
		if IsRefused(err) {
			status = StatusRefused
		}
		return finish(status, err)
	}
	defer cleanup()
	if len(run.SourceVersions) > 0 {
		if err := r.Ledger.SetSourceVersions(runCtx, run.ID, run.SourceVersions); err != nil {
			return finish(statusOf(ctx), err)
		}
	}
	rep.Results = r.Execute(runCtx, run, tasks)
	status, err := RunStatus(rep.Results)
	if status == StatusAborted && ctx.Err() == nil {
		// Cancelled by the deadline, not by an operator: a failure.
		status = StatusFailed
		err = errors.Join(context.Cause(runCtx), err)
	}
	return finish(status, err)
}

// statusOf tells an operator's abort (ctx cancelled) from a failure.
func statusOf(parent context.Context) Status {
	if parent.Err() != nil {
		return StatusAborted
	}
	return StatusFailed
}

// heartbeat refreshes the run's heartbeat until stopped.
func (r *Runner) heartbeat(ctx context.Context, runID int64) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(HeartbeatInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := r.Ledger.Heartbeat(ctx, runID); err != nil && ctx.Err() == nil {
					r.Log.Warn("heartbeat failed", "run", runID, "err", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}
