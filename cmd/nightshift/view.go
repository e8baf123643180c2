package main

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/dfe-nightshift/nightshift/pipeline"
)

// runView is the live view of a run on a terminal: one line per entity
// running, and a bar of entities done out of all of them with rows read,
// rows/s, elapsed time and — from the last run like it — the time left.
// Log lines print above it, never glued to it. It is drawn on the stream
// whose terminal was tested (stderr), and only there.
type runView struct {
	p       *mpb.Progress
	total   *mpb.Bar
	line    *mpb.Bar
	started time.Time
	// estimate is how long the last run like this one took (0: unknown).
	estimate time.Duration

	mu      sync.Mutex
	rows    int64
	running map[string]*mpb.Bar
	done    int
	count   int
}

// newRunView draws on w, for a run of count entities.
func newRunView(w io.Writer, count int, estimate time.Duration) *runView {
	v := &runView{
		p:        mpb.New(mpb.WithOutput(w), mpb.WithRefreshRate(200*time.Millisecond), mpb.WithAutoRefresh()),
		started:  time.Now(),
		estimate: estimate,
		running:  map[string]*mpb.Bar{},
		count:    count,
	}
	v.total = v.p.AddBar(int64(count),
		mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
			v.mu.Lock()
			defer v.mu.Unlock()
			return fmt.Sprintf("entities %d/%d done", v.done, v.count)
		}, decor.WCSyncSpaceR)),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
			v.mu.Lock()
			defer v.mu.Unlock()
			return fmt.Sprintf("%d running, %d waiting", len(v.running), v.count-v.done-len(v.running))
		})),
	)
	// A line of its own for the figures, so that a narrow terminal cuts
	// neither.
	v.line = v.p.New(1, mpb.NopStyle(), mpb.PrependDecorators(decor.Any(func(decor.Statistics) string { return v.status() })))
	return v
}

// status is the bar's right-hand side: rows, rate, elapsed and time left.
func (v *runView) status() string {
	v.mu.Lock()
	rows := v.rows
	v.mu.Unlock()
	elapsed := time.Since(v.started)
	s := fmt.Sprintf("%d rows read", rows)
	// A rate over less than a second is noise (the first tick once showed
	// ten million rows a second).
	if elapsed >= time.Second {
		s += fmt.Sprintf(", %d rows/s", int64(float64(rows)/elapsed.Seconds()))
	}
	s += ", " + elapsed.Round(time.Second).String()
	if v.estimate >= time.Second {
		if left := v.estimate - elapsed; left > 0 {
			s += fmt.Sprintf(", about %s left (the last run took %s)", left.Round(time.Second), v.estimate.Round(time.Second))
		} else {
			s += fmt.Sprintf(", longer than the last run (%s)", v.estimate.Round(time.Second))
		}
	}
	return s
}

// TaskStarted adds a line for the entity.
func (v *runView) TaskStarted(entity string) {
	bar := v.p.New(0, mpb.SpinnerStyle(), mpb.BarRemoveOnComplete(),
		mpb.PrependDecorators(decor.Name("  "+entity, decor.WCSyncSpaceR)),
		mpb.AppendDecorators(decor.Elapsed(decor.ET_STYLE_GO)))
	v.mu.Lock()
	v.running[entity] = bar
	v.mu.Unlock()
}

// TaskFinished removes the entity's line and counts it done.
func (v *runView) TaskFinished(res pipeline.EntityResult) {
	v.mu.Lock()
	bar := v.running[res.Entity]
	delete(v.running, res.Entity)
	v.done++
	v.rows += res.Rows
	v.mu.Unlock()
	if bar != nil {
		bar.SetTotal(-1, true)
	}
	v.total.Increment()
	if res.Status != pipeline.StatusSucceeded {
		_, _ = fmt.Fprintf(v.p, "%s: %s at %s\n", res.Entity, res.Status, res.FailedStep)
	}
}

// Logger sends log lines above the view, so that they never break into it.
func (v *runView) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(v.p, &slog.HandlerOptions{ReplaceAttr: redactAttr}))
}

// Finish completes the bars and waits for the last frame, so that what is
// printed next starts on a line of its own.
func (v *runView) Finish() {
	v.mu.Lock()
	for _, bar := range v.running {
		bar.Abort(true)
	}
	v.mu.Unlock()
	if !v.total.Completed() {
		v.total.Abort(false)
	}
	v.line.SetTotal(-1, true)
	v.p.Wait()
}
