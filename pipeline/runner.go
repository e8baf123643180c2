package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Runner executes the tasks of a run: tasks in parallel up to Parallelism,
// each task's steps in order, each step retried as its policy allows.
type Runner struct {
	Ledger      *Ledger
	Retry       RetryPolicy
	Parallelism int
	Log         *slog.Logger
	// Notifiers each get exactly one terminal notification per run.
	Notifiers []Notifier
	// NotifyBackoff spaces the retries of a failed notification.
	NotifyBackoff time.Duration
	// NotifyFailures counts notifications that could not be delivered.
	NotifyFailures atomic.Int64
	// Observer, when set, is told about every attempt and every run (the
	// Prometheus metrics).
	Observer Observer
	// Progress, when set, is told when each task starts and ends (a live
	// view on a terminal).
	Progress Progress
}

// Progress watches a run's tasks start and end.
type Progress interface {
	TaskStarted(entity string)
	TaskFinished(res EntityResult)
}

// Observer watches a runner's work.
type Observer interface {
	StepAttempted(entity, step string, attempt int, d time.Duration, out Outcome, err error)
	RunFinished(rep Report)
	NotifyFailed(notifier string)
}

// Execute runs every task and returns each entity's result in task order.
// It never stops one entity because another failed: a run's failures are
// retried entity by entity.
func (r *Runner) Execute(ctx context.Context, run *Run, tasks []Task) []EntityResult {
	results := make([]EntityResult, len(tasks))
	sem := make(chan struct{}, max(1, r.Parallelism))
	var wg sync.WaitGroup
	for i, task := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
				if r.Progress != nil {
					r.Progress.TaskStarted(task.Entity)
				}
				results[i] = r.runTask(ctx, run, task)
				if r.Progress != nil {
					r.Progress.TaskFinished(results[i])
				}
			case <-ctx.Done():
				results[i] = EntityResult{Entity: task.Entity, Status: StatusAborted, Err: context.Cause(ctx)}
			}
		}()
	}
	wg.Wait()
	return results
}

func (r *Runner) runTask(ctx context.Context, run *Run, task Task) EntityResult {
	start := time.Now()
	res := EntityResult{Entity: task.Entity, Status: StatusSucceeded}
	for _, step := range task.Steps {
		out, attempts, err := r.runStep(ctx, run, task.Entity, step)
		res.Steps++
		res.Attempts += attempts
		if err != nil {
			res.Status, res.FailedStep, res.Err = StatusFailed, step.Name(), err
			if ctx.Err() != nil {
				res.Status = StatusAborted
			}
			break
		}
		if task.SumRows {
			res.Rows += out.Rows
		} else {
			res.Rows = max(res.Rows, out.Rows)
		}
	}
	res.Duration = time.Since(start)
	return res
}

// runStep makes up to MaxAttempts attempts of a step, recording each one.
func (r *Runner) runStep(ctx context.Context, run *Run, entity string, step Step) (Outcome, int, error) {
	log := r.Log.With("run", run.ID, "entity", entity, "step", step.Name())
	maxAttempts := max(1, r.Retry.MaxAttempts)
	for attempt := 1; ; attempt++ {
		id, err := r.Ledger.StartStep(ctx, run.ID, entity, step.Name(), attempt)
		if err != nil {
			return Outcome{}, attempt, err
		}
		started := time.Now()
		out, err := r.attempt(ctx, step, attempt)
		if r.Observer != nil {
			r.Observer.StepAttempted(entity, step.Name(), attempt, time.Since(started), out, err)
		}
		if err == nil {
			log.Info("step succeeded", "attempt", attempt, "rows", out.Rows, "seconds", time.Since(started).Seconds())
			return out, attempt, r.Ledger.FinishStep(ctx, id, StatusSucceeded, out, nil, "")
		}

		class := Classify(err)
		status := StatusFailed
		if ctx.Err() != nil {
			status, class = StatusAborted, Permanent
		}
		if lerr := r.Ledger.FinishStep(ctx, id, status, Outcome{}, err, class); lerr != nil {
			log.Error("ledger write failed", "err", lerr)
		}
		if status == StatusAborted {
			return Outcome{}, attempt, err
		}
		if class == Permanent || attempt >= maxAttempts {
			log.Error("step failed", "attempt", attempt, "class", class, "err", err)
			return Outcome{}, attempt, fmt.Errorf("%s %s failed after %d attempt(s) (%s): %w", entity, step.Name(), attempt, class, err)
		}
		delay := r.Retry.Delay(attempt + 1)
		log.Warn("step failed, will retry", "attempt", attempt, "class", class, "retry_in", delay.Round(time.Millisecond).String(), "err", err)
		if err := sleep(ctx, delay); err != nil {
			return Outcome{}, attempt, err
		}
	}
}

// attempt runs one attempt under its timeout and turns a panic into an
// error carrying the stack, so that a bug fails its step, visibly, instead of
// the whole process.
func (r *Runner) attempt(ctx context.Context, step Step, attempt int) (out Outcome, err error) {
	actx := ctx
	if r.Retry.AttemptTimeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeoutCause(ctx, r.Retry.AttemptTimeout,
			fmt.Errorf("%s attempt %d timed out after %s: %w", step.Name(), attempt, r.Retry.AttemptTimeout, context.DeadlineExceeded))
		defer cancel()
	}
	defer func() {
		if p := recover(); p != nil {
			err = MarkPermanent(&PanicError{Value: p, Stack: string(debug.Stack())})
		}
		// Drivers report a cancelled context as "context deadline
		// exceeded", which does not say which deadline: name the attempt's
		// own, when it was the one that ended.
		if err != nil && actx.Err() != nil && ctx.Err() == nil {
			if cause := context.Cause(actx); cause != nil && !errors.Is(err, cause) {
				err = fmt.Errorf("%w: %w", cause, err)
			}
		}
	}()
	return step.Run(actx, attempt)
}

// PanicError is a panic inside a step.
type PanicError struct {
	Value any
	Stack string
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v\n%s", e.Value, e.Stack) }

// RunStatus is the run's status given its entities' results: aborted if
// any entity was aborted, failed if any failed, else succeeded.
func RunStatus(results []EntityResult) (Status, error) {
	status := StatusSucceeded
	var errs []error
	for _, res := range results {
		switch res.Status {
		case StatusAborted:
			status = StatusAborted
		case StatusFailed:
			if status != StatusAborted {
				status = StatusFailed
			}
		}
		if res.Err != nil {
			errs = append(errs, res.Err)
		}
	}
	return status, errors.Join(errs...)
}
