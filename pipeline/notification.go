package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// NotificationVersion is the version of the Notification JSON that the
// generic webhook receives. Fields are only ever added within a version.
const NotificationVersion = 1

// Notification is the one terminal message of a run.
type Notification struct {
	Version        int               `json:"version"`
	Env            string            `json:"env"`
	RunID          int64             `json:"run_id"`
	Trigger        Trigger           `json:"trigger"`
	Reason         string            `json:"reason,omitempty"`
	StartedBy      string            `json:"started_by"`
	Status         Status            `json:"status"`
	StartedAt      time.Time         `json:"started_at"`
	Seconds        float64           `json:"duration_seconds"`
	SourceVersions map[string]string `json:"source_versions,omitempty"`
	Entities       []EntityNotice    `json:"entities"`
	Error          string            `json:"error,omitempty"`
	// NextAction tells the reader what to do now, in one sentence.
	NextAction string `json:"next_action"`
}

// EntityNotice is one entity's line in a notification.
type EntityNotice struct {
	Entity     string  `json:"entity"`
	Status     Status  `json:"status"`
	Rows       int64   `json:"rows"`
	Attempts   int     `json:"attempts"`
	Seconds    float64 `json:"duration_seconds"`
	FailedStep string  `json:"failed_step,omitempty"`
	Error      string  `json:"error,omitempty"`
}

// Title is a one-line summary for chat messages.
func (n Notification) Title() string {
	env := n.Env
	if strings.EqualFold(env, "production") {
		env = "PRODUCTION"
	}
	var rows int64
	for _, e := range n.Entities {
		rows += e.Rows
	}
	return fmt.Sprintf("nightshift [%s] run %d %s: %d entities, %d rows in %s", env, n.RunID, n.Status, len(n.Entities), rows,
		(time.Duration(n.Seconds * float64(time.Second))).Round(time.Second))
}

// Notifier delivers a notification somewhere: Slack, Teams, a webhook, the
// log. Notify makes one attempt; the runner retries.
type Notifier interface {
	Name() string
	Notify(ctx context.Context, n Notification) error
}

// notification builds the run's terminal notification from its report.
func notification(run *Run, rep Report) Notification {
	n := Notification{
		Version: NotificationVersion, Env: run.Env, RunID: run.ID, Trigger: run.Trigger, Reason: run.Reason,
		StartedBy: run.StartedBy, Status: rep.Status, StartedAt: run.StartedAt, Seconds: rep.Elapsed.Seconds(),
		SourceVersions: run.SourceVersions, Entities: []EntityNotice{},
	}
	if rep.Err != nil {
		n.Error = rep.Err.Error()
	}
	for _, r := range rep.Results {
		e := EntityNotice{Entity: r.Entity, Status: r.Status, Rows: r.Rows, Attempts: r.Attempts, Seconds: r.Duration.Seconds(), FailedStep: r.FailedStep}
		if r.Err != nil {
			e.Error = r.Err.Error()
		}
		n.Entities = append(n.Entities, e)
	}
	n.NextAction = nextAction(run, rep)
	return n
}

func nextAction(run *Run, rep Report) string {
	switch rep.Status {
	case StatusSucceeded:
		return "Nothing to do."
	case StatusRefused:
		return "A source no longer matches the contracts: deploy the source's migrations or update the contracts, check with `nightshift check`, then run again."
	case StatusAborted:
		return fmt.Sprintf("The targets are as they were before the run. Run again, or `nightshift retry %d`, when ready.", run.ID)
	case StatusAbandoned:
		return fmt.Sprintf("Its process died; the targets are intact. `nightshift retry %d` reloads its entities.", run.ID)
	}
	if errors.Is(rep.Err, ErrDeadline) {
		return fmt.Sprintf("The run hit its deadline: look for a slow source or lock in the logs, then `nightshift retry %d`.", run.ID)
	}
	return fmt.Sprintf("Read the error above; fix its cause, then `nightshift retry %d` re-runs only the failed entities.", run.ID)
}

// StatusOverdue is the status of an overdue alert: a schedule whose firing
// has not succeeded by its deadline.
const StatusOverdue Status = "overdue"

// NotifyOverdue sends an overdue alert to every notifier.
func (r *Runner) NotifyOverdue(ctx context.Context, env string, a OverdueAlert) {
	last := "never"
	if !a.LastSuccess.IsZero() {
		last = a.LastSuccess.UTC().Format(time.RFC3339)
	}
	r.notify(ctx, Notification{
		Version: NotificationVersion, Env: env, Trigger: TriggerSchedule, Status: StatusOverdue,
		StartedBy: "schedule " + a.Schedule, StartedAt: a.FiredAt, Entities: []EntityNotice{},
		Error: fmt.Sprintf("schedule %s fired at %s has not succeeded by its deadline %s; last success: %s",
			a.Schedule, a.FiredAt.UTC().Format(time.RFC3339), a.Deadline.UTC().Format(time.RFC3339), last),
		NextAction: "Look at `nightshift runs` for the night's run: still running, failed, or never started (is the scheduler up?).",
	})
}

// notifyAttempts caps the delivery attempts of one notifier.
const notifyAttempts = 3

// notify delivers n to every notifier, each with capped retries. A failure
// to notify is logged and counted, never turned into the run's failure.
func (r *Runner) notify(ctx context.Context, n Notification) {
	ctx = context.WithoutCancel(ctx)
	for _, nt := range r.Notifiers {
		var err error
		for attempt := 1; attempt <= notifyAttempts; attempt++ {
			actx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err = nt.Notify(actx, n)
			cancel()
			if err == nil {
				break
			}
			if attempt < notifyAttempts {
				_ = sleep(ctx, r.NotifyBackoff*time.Duration(attempt))
			}
		}
		if err != nil {
			r.NotifyFailures.Add(1)
			if r.Observer != nil {
				r.Observer.NotifyFailed(nt.Name())
			}
			r.Log.Error("could not notify", "notifier", nt.Name(), "run", n.RunID, "attempts", notifyAttempts, "err", err)
		}
	}
}
