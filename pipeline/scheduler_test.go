package pipeline_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schedules"
)

func nightly(t *testing.T) schedules.Schedule {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "nightly.yaml"),
		[]byte("name: nightly\ncron: \"0 2 * * *\"\ntimezone: Europe/London\nentities: all\ndeadline: \"07:00\"\n"), 0o600))
	s, err := schedules.Load(dir, nil)
	require.NoError(t, err)
	return s[0]
}

// fakeLedger records firings and successes, as the ledger would.
type fakeLedger struct {
	mu        sync.Mutex
	fires     []time.Time
	success   time.Time
	alerts    []pipeline.OverdueAlert
	outcome   pipeline.Status
	blockNext chan struct{}
}

func (f *fakeLedger) scheduler(s schedules.Schedule) *pipeline.Scheduler {
	return &pipeline.Scheduler{
		Schedules: []schedules.Schedule{s},
		Grace:     2 * time.Hour,
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Fire: func(_ context.Context, _ schedules.Schedule, at time.Time) (pipeline.Status, error) {
			f.mu.Lock()
			f.fires = append(f.fires, at.UTC())
			block := f.blockNext
			f.blockNext = nil
			outcome := f.outcome
			f.mu.Unlock()
			if block != nil {
				<-block
			}
			if outcome == pipeline.StatusSucceeded {
				f.mu.Lock()
				f.success = at
				f.mu.Unlock()
			}
			return outcome, nil
		},
		LastSuccess: func(context.Context, string) (time.Time, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.success, nil
		},
		Alert: func(_ context.Context, a pipeline.OverdueAlert) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.alerts = append(f.alerts, a)
		},
	}
}

// drive ticks the scheduler from start to end, jumping from one wake-up
// to the next, and waits for each run it starts.
func drive(sc *pipeline.Scheduler, start, end time.Time) {
	for now := start; now.Before(end); now = sc.NextWake() {
		sc.Tick(context.Background(), now)
		sc.Wait()
	}
}

func TestSchedulerFiresAtLondonTimesAcrossClockChanges(t *testing.T) {
	t.Parallel()
	f := &fakeLedger{outcome: pipeline.StatusSucceeded}
	s := nightly(t)
	drive(f.scheduler(s), time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC), time.Date(2026, 3, 30, 12, 0, 0, 0, time.UTC))
	drive(f.scheduler(s), time.Date(2026, 10, 23, 12, 0, 0, 0, time.UTC), time.Date(2026, 10, 26, 12, 0, 0, 0, time.UTC))
	require.Equal(t, []time.Time{
		time.Date(2026, 3, 28, 2, 0, 0, 0, time.UTC),  // GMT
		time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC),  // BST from 01:00 UTC that day
		time.Date(2026, 3, 30, 1, 0, 0, 0, time.UTC),  // BST
		time.Date(2026, 10, 24, 1, 0, 0, 0, time.UTC), // BST
		time.Date(2026, 10, 25, 2, 0, 0, 0, time.UTC), // GMT again: 02:00 happens once
		time.Date(2026, 10, 26, 2, 0, 0, 0, time.UTC),
	}, f.fires)
	require.Empty(t, f.alerts, "every firing succeeded")
}

func TestSchedulerSkipsWhileARunIsActiveAndAlertsOnceWhenOverdue(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	f := &fakeLedger{outcome: pipeline.StatusFailed, blockNext: release}
	sc := f.scheduler(nightly(t))
	ctx := context.Background()
	day := func(d, h int) time.Time { return time.Date(2026, 6, d, h, 0, 0, 0, time.UTC) }

	fired := func() int {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.fires)
	}
	sc.Tick(ctx, day(1, 12)) // start: nothing missed within the grace window
	sc.Tick(ctx, day(2, 1))  // 02:00 BST: fires, and the run hangs
	require.Eventually(t, func() bool { return fired() == 1 }, 5*time.Second, time.Millisecond)
	sc.Tick(ctx, day(2, 6)) // 07:00 BST on the 2nd: overdue, although the run never ended
	sc.Tick(ctx, day(2, 7)) // later ticks do not repeat it
	sc.Tick(ctx, day(3, 1)) // the next night: still running, skipped
	require.Equal(t, 1, fired(), "skipped while the first run is active")
	close(release)
	sc.Wait()
	require.Len(t, f.alerts, 1, "exactly one overdue alert")
	require.Equal(t, "nightly", f.alerts[0].Schedule)
	require.Equal(t, day(2, 1), f.alerts[0].FiredAt.UTC())
	require.Equal(t, day(2, 6), f.alerts[0].Deadline.UTC())
}

func TestSchedulerCatchesUpAFiringMissedWhileDown(t *testing.T) {
	t.Parallel()
	f := &fakeLedger{outcome: pipeline.StatusSucceeded, success: time.Date(2026, 6, 1, 1, 0, 0, 0, time.UTC)}
	sc := f.scheduler(nightly(t))
	sc.Tick(context.Background(), time.Date(2026, 6, 2, 2, 30, 0, 0, time.UTC)) // 03:30 BST, 90 min late
	sc.Wait()
	require.Equal(t, []time.Time{time.Date(2026, 6, 2, 1, 0, 0, 0, time.UTC)}, f.fires)

	g := &fakeLedger{outcome: pipeline.StatusSucceeded, success: time.Date(2026, 6, 1, 1, 0, 0, 0, time.UTC)}
	late := g.scheduler(nightly(t))
	late.Tick(context.Background(), time.Date(2026, 6, 2, 5, 0, 0, 0, time.UTC)) // 4 h late: beyond the grace window
	late.Wait()
	require.Empty(t, g.fires)
}
