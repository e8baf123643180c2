package web

import (
	"fmt"
	"time"

	"github.com/dfe-nightshift/nightshift/pipeline"
)

// took is pipeline.Took of a number of seconds, for the templates.
func took(seconds float64) string {
	return pipeline.Took(time.Duration(seconds * float64(time.Second)))
}

// age is how old something is, to the unit that matters: 40s, 12m, 5h 20m,
// 3d 4h.
func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(0, int(d.Seconds())))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}

// when is a moment in the server's time zone, in full.
func when(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05 MST") }

// clock is a moment to the second, for a table.
func clock(t time.Time) string { return t.Local().Format("01-02 15:04:05") }

// timeline is a run's attempts laid out on its duration: one lane per
// entity and step, one bar per attempt.
type timeline struct {
	Lanes []lane
	Ticks []tick
	Bars  int
}

type lane struct {
	Entity, Step string
	Bars         []bar
}

type bar struct {
	pipeline.Attempt
	// Left and Width are percentages of the run's duration.
	Left, Width float64
	Seconds     float64
	Running     bool
}

type tick struct {
	Left  float64
	Label string
}

// newTimeline lays the attempts out from the run's start to its end (or
// now, while it runs, or the last attempt's end if that is later).
func newTimeline(r pipeline.RunSummary, attempts []pipeline.Attempt, now time.Time) timeline {
	start := r.StartedAt
	end := now
	if r.FinishedAt != nil {
		end = *r.FinishedAt
	}
	for _, a := range attempts {
		if a.StartedAt.Before(start) {
			start = a.StartedAt
		}
		if a.FinishedAt != nil && a.FinishedAt.After(end) {
			end = *a.FinishedAt
		}
	}
	span := end.Sub(start)
	if span <= 0 {
		span = time.Millisecond
	}
	pct := func(t time.Time) float64 { return min(100, max(0, 100*float64(t.Sub(start))/float64(span))) }
	var tl timeline
	index := map[[2]string]int{}
	for _, a := range attempts {
		key := [2]string{a.Entity, a.Step}
		i, ok := index[key]
		if !ok {
			i = len(tl.Lanes)
			index[key] = i
			tl.Lanes = append(tl.Lanes, lane{Entity: a.Entity, Step: a.Step})
		}
		finish, running := end, a.FinishedAt == nil
		if !running {
			finish = *a.FinishedAt
		}
		b := bar{Attempt: a, Left: pct(a.StartedAt), Seconds: finish.Sub(a.StartedAt).Seconds(), Running: running}
		// A bar too short to see is drawn a little wider.
		b.Width = max(0.6, pct(finish)-b.Left)
		b.Left = min(b.Left, 100-b.Width)
		tl.Lanes[i].Bars = append(tl.Lanes[i].Bars, b)
		tl.Bars++
	}
	for i := 0; i <= 4; i++ {
		tl.Ticks = append(tl.Ticks, tick{Left: float64(25 * i), Label: took(span.Seconds() * float64(i) / 4)})
	}
	return tl
}
