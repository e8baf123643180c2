package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/dfe-nightshift/nightshift/pipeline"
)

// Healthz answers that the process is alive: 200 and {"status":"ok"}.
func Healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// Readiness is the daemon's /readyz: ready when the warehouse answers a
// ping, no schedule is overdue, and the last run that ran to an end did not
// fail.
type Readiness struct {
	Ledger *pipeline.Ledger
	// Overdue lists the schedules overdue at now (Scheduler.Overdue); nil
	// when there is no scheduler.
	Overdue func(ctx context.Context, now time.Time) ([]pipeline.OverdueAlert, error)
	// Timeout bounds each check (DefaultCheckTimeout when zero).
	Timeout time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// DefaultCheckTimeout bounds each readiness check.
const DefaultCheckTimeout = 2 * time.Second

// Check is the outcome of one readiness check.
type Check struct {
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// ReadyReport is /readyz's body.
type ReadyReport struct {
	Ready  bool             `json:"ready"`
	Checks map[string]Check `json:"checks"`
}

// Check names.
const (
	CheckWarehouse = "warehouse"
	CheckOverdue   = "overdue"
	CheckLastRun   = "last_run"
)

// Check runs the checks, at the same time, each under its own timeout.
func (h *Readiness) Check(ctx context.Context) ReadyReport {
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	checks := map[string]func(context.Context) Check{
		CheckWarehouse: h.warehouse,
		CheckOverdue:   func(ctx context.Context) Check { return h.overdue(ctx, now()) },
		CheckLastRun:   h.lastRun,
	}
	// Each check answers on a channel, and one that has not answered by
	// its timeout counts as failed: a check blocked behind a lock it
	// cannot cancel (the scheduler's, held while an overdue alert is being
	// delivered) must not hold up the probe.
	type answer struct {
		name string
		c    Check
	}
	answers := make(chan answer, len(checks))
	for name, fn := range checks {
		go func() {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			answers <- answer{name, fn(ctx)}
		}()
	}
	rep := ReadyReport{Ready: true, Checks: map[string]Check{}}
	deadline := time.NewTimer(timeout + timeout/10)
	defer deadline.Stop()
	for len(rep.Checks) < len(checks) {
		select {
		case a := <-answers:
			rep.Checks[a.name] = a.c
		case <-deadline.C:
			for name := range checks {
				if _, ok := rep.Checks[name]; !ok {
					rep.Checks[name] = Check{Detail: fmt.Sprintf("no answer within %s", timeout)}
				}
			}
		}
	}
	for _, c := range rep.Checks {
		rep.Ready = rep.Ready && c.OK
	}
	return rep
}

func (h *Readiness) warehouse(ctx context.Context) Check {
	if err := h.Ledger.Ping(ctx); err != nil {
		return Check{Detail: "warehouse unreachable: " + err.Error()}
	}
	return Check{OK: true}
}

func (h *Readiness) overdue(ctx context.Context, now time.Time) Check {
	if h.Overdue == nil {
		return Check{OK: true, Detail: "no schedules"}
	}
	late, err := h.Overdue(ctx, now)
	if len(late) == 0 && err == nil {
		return Check{OK: true}
	}
	var parts []string
	for _, a := range late {
		parts = append(parts, fmt.Sprintf("%s fired %s, deadline %s passed", a.Schedule, stamp(a.FiredAt, now), stamp(a.Deadline, now)))
	}
	if err != nil {
		parts = append(parts, "cannot read the last successes: "+err.Error())
	}
	return Check{Detail: strings.Join(parts, "; ")}
}

// stamp is a time as an operator reads it: the hour alone when it is today.
func stamp(t, now time.Time) string {
	if y, m, d := t.Date(); y == now.In(t.Location()).Year() && m == now.In(t.Location()).Month() && d == now.In(t.Location()).Day() {
		return t.Format("15:04")
	}
	return t.Format("2006-01-02 15:04")
}

func (h *Readiness) lastRun(ctx context.Context) Check {
	run, ok, err := h.Ledger.LastFinished(ctx)
	switch {
	case err != nil:
		return Check{Detail: "cannot read the ledger: " + err.Error()}
	case !ok:
		return Check{OK: true, Detail: "no run has finished yet"}
	}
	switch run.Status {
	case pipeline.StatusFailed, pipeline.StatusAborted, pipeline.StatusAbandoned:
		return Check{Detail: fmt.Sprintf("run %d %s", run.ID, run.Status)}
	}
	return Check{OK: true, Detail: fmt.Sprintf("run %d %s", run.ID, run.Status)}
}

// ServeHTTP answers 200 when ready, 503 when not, with the report.
func (h *Readiness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rep := h.Check(r.Context())
	code := http.StatusOK
	if !rep.Ready {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, rep)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
