package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Planner builds a run's plan once the run is recorded. It may fill
// run.SourceVersions.
type Planner func(ctx context.Context, run *Run) (*Plan, error)

// Report is how a run ended.
type Report struct {
	Run     Run
	Status  Status
	Results []EntityResult
	Err     error
	Elapsed time.Duration
	// Abandoned lists earlier runs found dead, and marked so, at the start.
	Abandoned []int64
	// Published says the run's warehouse publish committed: analysts see
	// its data. A run that did not publish changed nothing they see.
	Published bool
	// Propagating says the run had BigQuery to update, and Propagated
	// that every entity reached it.
	Propagating, Propagated bool
	// Notes are findings that did not stop the run.
	Notes []string
	// Quarantined is, per entity, the rows the run set aside
	// (nightshift.quarantine); entities with none are left out.
	Quarantined map[string]int64
}

// HeartbeatInterval is how often a running run shows it is alive and looks
// for an abort request: it bounds how long `nightshift abort` takes.
const HeartbeatInterval = 2 * time.Second

// ErrDeadline is the cause of a run cancelled by its deadline.
var ErrDeadline = errors.New("run deadline exceeded")

// Do takes the run lock, records run, plans it and carries out the plan
// under deadline: stage every entity, publish them all at once, then
// propagate to BigQuery. Once recorded, the run always reaches a final
// status in the ledger — succeeded, failed, refused, or aborted (ctx
// cancelled by a signal, or `nightshift abort`) — and exactly one terminal
// notification goes out. If another run holds the lock, the refused run is
// recorded and notified, and Do returns a *LockedError.
func (r *Runner) Do(ctx context.Context, run *Run, deadline time.Duration, plan Planner) (Report, error) {
	// Registered first, so run last: the plan's connections to the sources
	// are closed after the run is recorded, notified and has let go of the
	// lock, so that a source gone silent cannot hold up the next run.
	var closePlan func()
	defer func() {
		if closePlan != nil {
			closePlan()
		}
	}()
	lock, err := r.Ledger.TryLock(ctx)
	var locked *LockedError
	if errors.As(err, &locked) {
		r.refuse(ctx, run, err)
		return Report{Run: *run, Status: StatusRefused, Err: err}, err
	}
	if err != nil {
		return Report{}, err
	}
	defer lock.Release(ctx)
	// Holding the lock, any run still marked running is dead.
	abandoned, err := r.Ledger.MarkAbandoned(ctx, true)
	if err != nil {
		return Report{}, err
	}
	r.NotifyAbandoned(ctx, abandoned)
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
		if status == StatusAborted && abortCtx.Err() != nil {
			// The cause, once: every entity that was stopped reports the
			// same cancellation, a symptom of it, in its own result.
			err = context.Cause(abortCtx)
		}
		if status == StatusAborted && abortCtx.Err() == nil {
			// Cancelled by the deadline, not by an operator: a failure.
			status = StatusFailed
			err = errors.Join(context.Cause(runCtx), err)
		}
		rep.Status, rep.Err, rep.Elapsed = status, err, time.Since(start)
		rep.Run = *run
		lerr := r.Ledger.Finish(ctx, run.ID, status, err, rep)
		if lerr == nil {
			// Counted only from a ledger that answers: a warehouse that is
			// down must not hold up the notification twice.
			rep.Quarantined = r.quarantined(ctx, run.ID)
		}
		if r.Observer != nil {
			r.Observer.RunFinished(rep)
		}
		// Exactly one terminal notification, whatever happened, after the
		// ledger says how the run ended.
		r.notifyOnce(ctx, run.ID, notification(run, rep))
		if lerr != nil {
			return rep, errors.Join(err, lerr)
		}
		return rep, nil
	}

	// failure is the status of a run stopped before its tasks ran.
	failure := func(err error) Status {
		switch {
		case runCtx.Err() != nil:
			return StatusAborted
		case IsRefused(err):
			return StatusRefused
		}
		return StatusFailed
	}
	p, err := plan(runCtx, run)
	if err != nil {
		return finish(failure(err), err)
	}
	closePlan = p.Close
	rep.Notes = p.Notes
	if len(p.SourceVersions) > 0 || p.Additions != nil {
		run.SourceVersions, run.Additions = p.SourceVersions, p.Additions
		if err := r.Ledger.RecordSources(runCtx, run.ID, run.SourceVersions, run.Additions); err != nil {
			return finish(failure(err), err)
		}
	}
	status, err := r.carryOut(runCtx, run, p, &rep)
	return finish(status, err)
}

// carryOut runs the plan's three phases, each only if the one before it
// succeeded, and throws the staging away unless the run published.
func (r *Runner) carryOut(ctx context.Context, run *Run, p *Plan, rep *Report) (Status, error) {
	rep.Results = r.Execute(ctx, run, p.Stage)
	status, err := RunStatus(rep.Results)
	if status == StatusSucceeded && p.Publish != nil {
		if _, _, perr := r.runStep(ctx, run, RunEntity, p.Publish); perr != nil {
			status, err = StatusFailed, perr
			switch {
			case ctx.Err() != nil:
				status = StatusAborted
			case IsRefused(perr):
				// The loss check refused to publish (see LossError).
				status = StatusRefused
			}
		} else {
			rep.Published = true
		}
	}
	if !rep.Published && p.Publish != nil {
		// An entity staged by a run that did not publish reached nothing:
		// say so, rather than call it succeeded.
		for i := range rep.Results {
			if rep.Results[i].Status == StatusSucceeded {
				rep.Results[i].Status = StatusStaged
			}
		}
		if p.Discard != nil {
			p.Discard(context.WithoutCancel(ctx))
		}
	}
	if len(p.Propagate) == 0 || status != StatusSucceeded {
		return status, err
	}
	rep.Propagating = true
	results := r.Execute(ctx, run, p.Propagate)
	rep.Results = mergeResults(rep.Results, results)
	if status, err = RunStatus(results); status != StatusSucceeded {
		return status, err
	}
	if p.AfterPropagate != nil {
		if _, _, err := r.runStep(ctx, run, RunEntity, p.AfterPropagate); err != nil {
			if ctx.Err() != nil {
				return StatusAborted, err
			}
			return StatusFailed, err
		}
	}
	rep.Propagated = true
	return StatusSucceeded, nil
}

// mergeResults adds the results of a later phase to each entity's.
func mergeResults(into, more []EntityResult) []EntityResult {
	for _, m := range more {
		i := slices.IndexFunc(into, func(e EntityResult) bool { return e.Entity == m.Entity })
		if i < 0 {
			into = append(into, m)
			continue
		}
		e := &into[i]
		e.Steps += m.Steps
		e.Attempts += m.Attempts
		e.Duration += m.Duration
		e.Rows = max(e.Rows, m.Rows)
		if m.Status != StatusSucceeded {
			e.Status, e.FailedStep, e.Err = m.Status, m.FailedStep, m.Err
		}
	}
	return into
}

// refuse records and notifies a run that the lock turned away: someone
// asked for it, so someone must hear that it did not happen.
func (r *Runner) refuse(ctx context.Context, run *Run, cause error) {
	if err := r.Ledger.Refused(ctx, run, cause); err != nil {
		r.Log.Error("could not record the refused run", "err", err)
	}
	r.notifyOnce(ctx, run.ID, notification(run, Report{Run: *run, Status: StatusRefused, Err: cause}))
}

// NotifyAbandoned sends the terminal notification each dead run never
// sent, unless another process already claimed it.
func (r *Runner) NotifyAbandoned(ctx context.Context, ids []int64) {
	for _, id := range ids {
		r.Log.Warn("an earlier run died without finishing; marked abandoned", "run", id)
		rec, err := r.Ledger.Get(ctx, id)
		if err != nil {
			r.Log.Error("could not read an abandoned run to report it", "run", id, "err", err)
			continue
		}
		rep := Report{Run: rec.Run, Status: StatusAbandoned, Err: errors.New(rec.Error), Elapsed: rec.FinishedAt.Sub(rec.StartedAt), Published: rec.Published,
			Quarantined: r.quarantined(ctx, id)}
		r.notifyOnce(ctx, id, notification(&rec.Run, rep))
	}
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

// quarantined is the rows each entity of the run set aside, for its
// report. A failure to count them is logged, not the run's failure: the
// rows themselves are safe in the ledger.
func (r *Runner) quarantined(ctx context.Context, runID int64) map[string]int64 {
	q, err := r.Ledger.Quarantined(ctx, runID)
	if err != nil {
		r.Log.Warn("could not count the run's quarantined rows for its report", "run", runID, "err", err)
	}
	return q
}
