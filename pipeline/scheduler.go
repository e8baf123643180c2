package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/dfe-nightshift/nightshift/schedules"
)

// Scheduler fires runs on schedules and raises an overdue alert when a
// firing has not succeeded by its deadline: a dead man's switch that does
// not depend on the run itself reporting anything.
//
// It is a state machine driven by Tick, so that tests can drive it with any
// clock; Loop drives it with the real one.
type Scheduler struct {
	Schedules []schedules.Schedule
	// Fire performs one run for a firing and returns how it ended. An
	// ErrLocked error means another run was active: the firing is skipped.
	Fire func(ctx context.Context, s schedules.Schedule, at time.Time) (Status, error)
	// LastSuccess is when a run of the schedule last succeeded (zero if
	// never), from the ledger.
	LastSuccess func(ctx context.Context, schedule string) (time.Time, error)
	// Alert raises an overdue alert.
	Alert func(ctx context.Context, a OverdueAlert)
	// Grace is how far back a firing missed while the daemon was down is
	// still caught up at start.
	Grace time.Duration
	Log   *slog.Logger

	mu       sync.Mutex
	next     map[string]time.Time
	pending  []deadline
	alerted  map[deadline]bool
	active   bool
	runs     sync.WaitGroup
	initDone bool
}

// OverdueAlert says a schedule's firing did not succeed by its deadline.
type OverdueAlert struct {
	Schedule    string
	FiredAt     time.Time
	Deadline    time.Time
	LastSuccess time.Time
}

type deadline struct {
	schedule string
	fire, by time.Time
}

// Loop runs the scheduler on the real clock until ctx ends, then waits for
// the run in flight, which ctx's end aborts cleanly.
func (sc *Scheduler) Loop(ctx context.Context) error {
	for {
		now := time.Now()
		sc.Tick(ctx, now)
		wake := sc.NextWake()
		// Wake at least every minute: a suspended laptop or a clock jump
		// must not delay a firing for long.
		t := time.NewTimer(min(time.Until(wake), time.Minute))
		select {
		case <-ctx.Done():
			t.Stop()
			// A shutdown, not an error: the run in flight was cancelled
			// with ctx and records itself as aborted.
			sc.runs.Wait()
			return nil
		case <-t.C:
		}
	}
}

// Tick processes everything due at now: firings and deadlines.
func (sc *Scheduler) Tick(ctx context.Context, now time.Time) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if !sc.initDone {
		sc.init(ctx, now)
		return
	}
	for _, s := range sc.Schedules {
		if due := sc.next[s.Name]; due.After(now) {
			continue
		}
		// The latest firing due; any earlier one missed meanwhile (a long
		// run, a suspended machine) is skipped, not queued.
		fire, _ := s.Previous(now, now.Sub(sc.next[s.Name])+time.Second)
		sc.next[s.Name] = s.Next(now)
		sc.fire(ctx, s, fire)
	}
	sc.checkDeadlines(ctx, now)
}

// NextWake is when Tick next has something to do.
func (sc *Scheduler) NextWake() time.Time {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	var wake time.Time
	for _, t := range sc.next {
		if wake.IsZero() || t.Before(wake) {
			wake = t
		}
	}
	for _, d := range sc.pending {
		if d.by.Before(wake) {
			wake = d.by
		}
	}
	return wake
}

// Wait blocks until the runs started by Tick have ended.
func (sc *Scheduler) Wait() { sc.runs.Wait() }

// init plans the next firings and catches up a firing missed within Grace
// that has not succeeded since.
func (sc *Scheduler) init(ctx context.Context, now time.Time) {
	sc.initDone = true
	sc.next = map[string]time.Time{}
	sc.alerted = map[deadline]bool{}
	for _, s := range sc.Schedules {
		sc.next[s.Name] = s.Next(now)
		prev, ok := s.Previous(now, sc.Grace)
		if !ok {
			continue
		}
		last, err := sc.LastSuccess(ctx, s.Name)
		if err != nil {
			sc.Log.Error("schedule: cannot read the last success; not catching up", "schedule", s.Name, "err", err)
			continue
		}
		if last.Before(prev) {
			sc.Log.Warn("schedule: catching up a firing missed while the daemon was down", "schedule", s.Name, "fired_at", prev)
			sc.fire(ctx, s, prev)
		}
	}
}

// fire starts a run for the firing, unless one is active. Called with mu.
func (sc *Scheduler) fire(ctx context.Context, s schedules.Schedule, at time.Time) {
	if by, ok := s.DeadlineFor(at); ok {
		sc.pending = append(sc.pending, deadline{schedule: s.Name, fire: at, by: by})
	}
	if sc.active {
		sc.Log.Warn("schedule: a run is still active; skipping this firing", "schedule", s.Name, "fired_at", at)
		return
	}
	sc.active = true
	sc.runs.Add(1)
	go func() {
		defer sc.runs.Done()
		status, err := sc.Fire(ctx, s, at)
		switch {
		case errors.Is(err, ErrLocked):
			sc.Log.Warn("schedule: another run holds the lock; skipping this firing", "schedule", s.Name, "fired_at", at, "err", err)
		case err != nil:
			sc.Log.Error("schedule: run could not start", "schedule", s.Name, "err", err)
		default:
			sc.Log.Info("schedule: run ended", "schedule", s.Name, "fired_at", at, "status", status)
		}
		sc.mu.Lock()
		sc.active = false
		sc.mu.Unlock()
	}()
}

// checkDeadlines alerts, once per firing, when a firing has not succeeded
// by its deadline. Called with mu.
func (sc *Scheduler) checkDeadlines(ctx context.Context, now time.Time) {
	keep := sc.pending[:0]
	for _, d := range sc.pending {
		if d.by.After(now) {
			keep = append(keep, d)
			continue
		}
		last, err := sc.LastSuccess(ctx, d.schedule)
		if err != nil {
			sc.Log.Error("schedule: cannot read the last success; alerting to be safe", "schedule", d.schedule, "err", err)
		}
		if (err != nil || last.Before(d.fire)) && !sc.alerted[d] {
			sc.alerted[d] = true
			sc.Alert(ctx, OverdueAlert{Schedule: d.schedule, FiredAt: d.fire, Deadline: d.by, LastSuccess: last})
		}
	}
	sc.pending = keep
}
