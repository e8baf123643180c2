package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/dfe-nightshift/nightshift/internal/redact"
)

// NotificationVersion is the version of the Notification JSON that the
// generic webhook receives. Fields are only ever added within a version.
const NotificationVersion = 1

// Notification is the one terminal message of a run.
type Notification struct {
	Version        int               `json:"version"`
	Env            string            `json:"env"`
	Production     bool              `json:"production"`
	RunID          int64             `json:"run_id"`
	Trigger        Trigger           `json:"trigger"`
	Reason         string            `json:"reason,omitempty"`
	StartedBy      string            `json:"started_by"`
	Status         Status            `json:"status"`
	StartedAt      time.Time         `json:"started_at"`
	Seconds        float64           `json:"duration_seconds"`
	SourceVersions map[string]string `json:"source_versions,omitempty"`
	Entities       []EntityNotice    `json:"entities"`
	// Additions is what the preflight found in the sources that the
	// contracts do not know of, when it found anything; each list cut to
	// NoticeListCap items, the rest counted (new_columns_more). `nightshift
	// runs show` has them all.
	Additions *Additions `json:"additions,omitempty"`
	Error     string     `json:"error,omitempty"`
	// Loss is, when the loss check refused to publish, what it found in
	// each entity that tripped it.
	Loss []LossFinding `json:"loss,omitempty"`
	// Published says the run's warehouse publish committed. Changed says,
	// in one sentence, what the run changed in the targets — "nothing" for
	// a run that did not publish.
	Published bool   `json:"published"`
	Changed   string `json:"changed"`
	// Schedule names the schedule of an overdue alert.
	Schedule string `json:"schedule,omitempty"`
	// NextAction tells the reader what to do now, in one sentence.
	NextAction string `json:"next_action"`
}

// NoticeListCap is the most items a notification lists of one kind for one
// entity: enough to act on, short enough to read in a chat.
const NoticeListCap = 10

// EntityNotice is one entity's line in a notification.
type EntityNotice struct {
	Entity string `json:"entity"`
	Status Status `json:"status"`
	Rows   int64  `json:"rows"`
	// Quarantined is the rows the entity set aside (nightshift.quarantine);
	// absent when none.
	Quarantined int64   `json:"rows_quarantined,omitempty"`
	Attempts    int     `json:"attempts"`
	Seconds     float64 `json:"duration_seconds"`
	FailedStep  string  `json:"failed_step,omitempty"`
	Error       string  `json:"error,omitempty"`
}

// Title is a one-line summary for chat messages. Each kind of notice says
// what it is about in its own words, and every count says what it counts.
func (n Notification) Title() string {
	env := n.Env
	if n.Production {
		env = strings.ToUpper(env)
	}
	prefix := fmt.Sprintf("nightshift [%s]", env)
	took := (time.Duration(n.Seconds * float64(time.Second))).Round(time.Second)
	var rows int64
	ok := 0
	for _, e := range n.Entities {
		rows += e.Rows
		if e.Status == StatusSucceeded {
			ok++
		}
	}
	switch n.Status {
	case StatusOverdue:
		return fmt.Sprintf("%s schedule %s overdue: no run succeeded by its deadline", prefix, n.Schedule)
	case StatusAbandoned:
		return fmt.Sprintf("%s run %d abandoned: its process died", prefix, n.RunID)
	case StatusRefused:
		if len(n.Loss) > 0 {
			lost := make([]string, len(n.Loss))
			for i, f := range n.Loss {
				lost[i] = f.Entity
			}
			return fmt.Sprintf("%s run %d refused to publish: data lost from %s, nothing was changed", prefix, n.RunID, strings.Join(lost, ", "))
		}
		return fmt.Sprintf("%s run %d refused: it did not start", prefix, n.RunID)
	case StatusSucceeded:
		if n.Published {
			return fmt.Sprintf("%s run %d succeeded in %s: %d entities, %d rows read and published", prefix, n.RunID, took, len(n.Entities), rows)
		}
		return fmt.Sprintf("%s run %d succeeded in %s: %d entities", prefix, n.RunID, took, len(n.Entities))
	}
	outcome := "nothing published"
	if n.Published {
		outcome = "the warehouse published, BigQuery not finished"
	}
	return fmt.Sprintf("%s run %d %s after %s: %d of %d entities done, %s", prefix, n.RunID, n.Status, took, ok, len(n.Entities), outcome)
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
		Version: NotificationVersion, Env: run.Env, Production: run.Production, RunID: run.ID, Trigger: run.Trigger, Reason: run.Reason,
		StartedBy: run.StartedBy, Status: rep.Status, StartedAt: run.StartedAt, Seconds: rep.Elapsed.Seconds(),
		SourceVersions: run.SourceVersions, Entities: []EntityNotice{}, Published: rep.Published,
	}
	if rep.Err != nil {
		n.Error = redact.String(rep.Err.Error())
	}
	n.Loss = lossOf(rep.Err)
	for _, r := range rep.Results {
		e := EntityNotice{Entity: r.Entity, Status: r.Status, Rows: r.Rows, Quarantined: rep.Quarantined[r.Entity], Attempts: r.Attempts,
			Seconds: r.Duration.Seconds(), FailedStep: r.FailedStep}
		if r.Err != nil {
			e.Error = redact.String(r.Err.Error())
		}
		n.Entities = append(n.Entities, e)
	}
	// A run that died left no results, but what it set aside is in the
	// ledger all the same.
	for _, entity := range slices.Sorted(maps.Keys(rep.Quarantined)) {
		if !slices.ContainsFunc(n.Entities, func(e EntityNotice) bool { return e.Entity == entity }) {
			n.Entities = append(n.Entities, EntityNotice{Entity: entity, Status: rep.Status, Quarantined: rep.Quarantined[entity]})
		}
	}
	if run.Additions.Any() {
		n.Additions = run.Additions.Capped(NoticeListCap)
	}
	n.Changed = changed(run, rep)
	n.NextAction = nextAction(run, rep)
	return n
}

// changed says what the run changed in the targets, and nothing more: the
// reader of a failure must know whether analysts see anything new.
func changed(run *Run, rep Report) string {
	var reached, missed []string
	for _, r := range rep.Results {
		if r.Status == StatusSucceeded {
			reached = append(reached, r.Entity)
		} else {
			missed = append(missed, r.Entity)
		}
	}
	bigquery := ""
	if rep.Propagating {
		switch {
		case rep.Propagated:
			bigquery = " BigQuery holds it too."
		case len(reached) == 0:
			bigquery = " BigQuery was not changed."
		case len(missed) == 0:
			bigquery = " BigQuery holds every entity's table, but the step that follows them (history, views, freshness) did not finish."
		default:
			bigquery = fmt.Sprintf(" BigQuery was updated for %s but still holds the previous data for %s.", names(reached), strings.Join(missed, ", "))
		}
	}
	switch {
	case run.Spec.Kind == KindPropagate:
		if bigquery == "" {
			return "Nothing was changed."
		}
		return fmt.Sprintf("The warehouse was not touched (it already holds run %d's data).%s", run.Spec.DataRun, bigquery)
	case !rep.Published:
		return "Nothing was changed: the warehouse and BigQuery are as they were before the run."
	case run.Spec.Kind == KindRestore:
		return fmt.Sprintf("The warehouse's tables of %s were restored to an earlier version in one transaction.%s", names(run.Entities), bigquery)
	}
	accepted := ""
	if len(run.Spec.AcceptLoss) > 0 {
		accepted = fmt.Sprintf(" Losses were accepted for %s by %s: %s.", strings.Join(run.Spec.AcceptLoss, ", "), run.StartedBy, run.Reason)
	}
	return fmt.Sprintf("The warehouse holds this run's data for %s, published in one transaction (the versions it replaced are kept as __previous).%s%s",
		names(run.Entities), accepted, bigquery)
}

// names lists a few entities by name, and many by number: a sentence
// should fit on a screen.
func names(entities []string) string {
	if len(entities) > 4 {
		return fmt.Sprintf("%d entities", len(entities))
	}
	return strings.Join(entities, ", ")
}

func nextAction(run *Run, rep Report) string {
	unfinished := rep.Published || (run.Spec.Kind == KindPropagate && rep.Propagating)
	switch {
	case rep.Status == StatusSucceeded:
		return "Nothing to do."
	case rep.Status == StatusRefused && errors.Is(rep.Err, ErrLocked):
		return "Another run holds the warehouse: wait for it, or stop it with `nightshift abort`, then run again."
	case rep.Status == StatusRefused && errors.Is(rep.Err, ErrLoss):
		return "Rows disappeared from a source, or it went back in time (a restore): find out why; if the change is real, run again with --accept-loss ENTITY --reason TEXT."
	case rep.Status == StatusRefused:
		return "A source no longer matches the contracts: deploy the source's migrations or update the contracts, check with `nightshift check`, then run again."
	case unfinished:
		return fmt.Sprintf("BigQuery is behind the warehouse: `nightshift retry %d` finishes BigQuery with this run's data.", run.ID)
	case rep.Status == StatusAborted:
		return fmt.Sprintf("Run again, or `nightshift retry %d`, when ready.", run.ID)
	case rep.Status == StatusAbandoned:
		return fmt.Sprintf("Its process died. `nightshift retry %d` runs it again.", run.ID)
	case errors.Is(rep.Err, ErrDeadline):
		return fmt.Sprintf("The run hit its deadline: look for a slow source or lock in the logs, then `nightshift retry %d`.", run.ID)
	}
	return fmt.Sprintf("Read the error above; fix its cause, then `nightshift retry %d` runs it again.", run.ID)
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
		StartedBy: "schedule " + a.Schedule, StartedAt: a.FiredAt, Entities: []EntityNotice{}, Schedule: a.Schedule,
		Error: fmt.Sprintf("schedule %s fired at %s has not succeeded by its deadline %s; last success: %s",
			a.Schedule, a.FiredAt.UTC().Format(time.RFC3339), a.Deadline.UTC().Format(time.RFC3339), last),
		NextAction: "Look at `nightshift runs` for the night's run: still running, failed, or never started (is the scheduler up?).",
	})
}

// notifyOnce sends a run's terminal notification if no other process has
// claimed it. A run the ledger never recorded (id 0) is sent as is. If the
// claim cannot be made (the warehouse is down), the notification is sent
// anyway: a duplicate is better than silence.
func (r *Runner) notifyOnce(ctx context.Context, runID int64, n Notification) {
	if runID != 0 && r.Ledger != nil {
		won, err := r.Ledger.claimNotification(ctx, runID)
		if err != nil {
			r.Log.Warn("could not claim the run's notification; sending it anyway", "run", runID, "err", err)
		} else if !won {
			return
		}
	}
	r.notify(ctx, n)
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

// NotificationOf is the terminal notification of a finished run, as the
// notifiers received it: the CLI prints its Changed and NextAction lines.
func NotificationOf(run *Run, rep Report) Notification { return notification(run, rep) }

// UnrecordedFile is where runs that could not reach the ledger are kept,
// one JSON notification per line, in the spool directory.
const UnrecordedFile = "unrecorded-runs.jsonl"

// NotifyUnrecorded reports a run that could not start because the
// warehouse, which holds the ledger, did not answer: the notifiers hear of
// it all the same (run id 0), and it is appended to dir/UnrecordedFile, so
// the outage leaves a record on the machine that met it.
func (r *Runner) NotifyUnrecorded(ctx context.Context, run *Run, cause error, dir string) error {
	n := notification(run, Report{Run: *run, Status: StatusFailed, Err: cause})
	n.Changed = "Nothing was changed: the run could not start."
	n.NextAction = "The warehouse could not be reached, so this run is not in the ledger: restore the connection, then run again."
	r.notify(ctx, n)
	line, err := json.Marshal(n)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, UnrecordedFile), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(line, '\n'))
	return errors.Join(err, f.Close())
}
