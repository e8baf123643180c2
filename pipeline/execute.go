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
	// Abandoned lists earlier runs found dead, and marked so, at the start.
	Abandoned []int64
}

// HeartbeatInterval is how often a running run shows it is alive and looks
// for an abort request: it bounds how long `nightshift abort` takes.
const HeartbeatInterval = 2 * time.Second

// ErrDeadline is the cause of a run cancelled by its deadline.
var ErrDeadline = errors.New("run deadline exceeded")

// Do takes the run lock, records run, plans it, executes it under
// deadline and records how it ended. Once recorded, the run always reaches a
// final status in the ledger: succeeded, failed, refused, or aborted (ctx
// cancelled by a signal, or `nightshift abort`). If another run holds the
// lock, Do returns a *LockedError and records nothing.
func (r *Runner) Do(ctx context.Context, run *Run, deadline time.Duration, plan Planner) (Report, error) {
	lock, err := r.Ledger.TryLock(ctx)
	if err != nil {
		return Report{}, err
	}
	defer lock.Release(ctx)
	// Holding the lock, any run still marked running is dead.
	abandoned, err := r.Ledger.MarkAbandoned(ctx, true)
	if err != nil {
		return Report{}, err
	}
	for _, id := range abandoned {
		r.Log.Warn("an earlier run died without finishing; marked abandoned", "run", id)
		r.notifyAbandoned(ctx, id)
	}
	if err := r.Ledger.Start(ctx, run); err != nil {
		return Report{}, err
	}
	start := time.Now()
	rep := Report{Run: *run, Abandoned: abandoned}

	// abortCtx is cancelled by a signal (ctx) or by an abort request seen
	// at a heartbeat; runCtx also by the deadline.
	abortCtx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	runCtx, cancel := context.WithDeadlineCause(abortCtx, start.Add(deadline), fmt.Errorf("%w (%s)", ErrDeadline, deadline))
	defer cancel()
	stopBeat := r.heartbeat(runCtx, run.ID, abort)
	defer stopBeat()

	finish := func(status Status, err error) (Report, error) {
		if status == StatusAborted {
			err = errors.Join(context.Cause(abortCtx), err)
		}
		rep.Status, rep.Err, rep.Elapsed = status, err, time.Since(start)
		rep.Run = *run
		lerr := r.Ledger.Finish(ctx, run.ID, status, err, rep.Results)
		if r.Observer != nil {
			r.Observer.RunFinished(rep)
		}
		// Exactly one terminal notification, whatever happened, after the
		// ledger says how the run ended.
		r.notify(ctx, notification(run, rep))
		if lerr != nil {
			return rep, errors.Join(err, lerr)
		}
		return rep, nil
	}

	// failure is the status of a run stopped before its tasks ran.
	failure := func(err error) Status {
		switch {
		case abortCtx.Err() != nil:
			return StatusAborted
		case IsRefused(err):
			return StatusRefused
		}
		return StatusFailed
	}
	tasks, cleanup, err := plan(runCtx, run)
	if err != nil {
		return finish(failure(err), err)
	}
	defer cleanup()
	if len(run.SourceVersions) > 0 {
		if err := r.Ledger.SetSourceVersions(runCtx, run.ID, run.SourceVersions); err != nil {
			return finish(failure(err), err)
		}
	}
	rep.Results = r.Execute(runCtx, run, tasks)
	status, err := RunStatus(rep.Results)
	if status == StatusAborted && abortCtx.Err() == nil {
		// Cancelled by the deadline, not by an operator: a failure.
		status = StatusFailed
		err = errors.Join(context.Cause(runCtx), err)
	}
	return finish(status, err)
}

// notifyAbandoned sends the terminal notification a dead run never sent.
func (r *Runner) notifyAbandoned(ctx context.Context, id int64) {
	run, err := r.Ledger.Get(ctx, id)
	if err != nil {
		r.Log.Error("could not read an abandoned run to report it", "run", id, "err", err)
		return
	}
	r.notify(ctx, notification(&run.Run, Report{Run: run.Run, Status: StatusAbandoned, Err: errors.New(run.Error), Elapsed: run.FinishedAt.Sub(run.StartedAt)}))
}

// heartbeat refreshes the run's heartbeat until stopped, and aborts the run
// when an operator asks.
func (r *Runner) heartbeat(ctx context.Context, runID int64, abort context.CancelCauseFunc) (stop func()) {
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
				req, err := r.Ledger.Heartbeat(ctx, runID)
				if err != nil && ctx.Err() == nil {
					r.Log.Warn("heartbeat failed", "run", runID, "err", err)
				}
				if req != nil {
					r.Log.Warn("abort requested; stopping the run", "run", runID, "by", req.By, "reason", req.Reason)
					abort(req)
					return
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}
