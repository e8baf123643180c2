package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dfe-nightshift/nightshift/internal/redact"
)

// Ledger records runs and step attempts in the warehouse's nightshift
// schema. Its final writes use a context that survives cancellation, so an
// aborted run is still recorded as aborted.
type Ledger struct {
	pool *pgxpool.Pool
}

// NewLedger returns a ledger on the warehouse pool.
func NewLedger(pool *pgxpool.Pool) *Ledger { return &Ledger{pool: pool} }

// finalWriteTimeout bounds a ledger write made after the run's context ended.
const finalWriteTimeout = 30 * time.Second

// Start records a new running run and sets its ID and StartedAt.
func (l *Ledger) Start(ctx context.Context, run *Run) error {
	err := l.pool.QueryRow(ctx, `
		INSERT INTO nightshift.runs (env, trigger, mode, entities, reason, started_by, source_versions, pid, spec, retry_of)
		VALUES ($1, $2, $3, $4, nullif($5, ''), $6, coalesce($7, '{}'::jsonb), $8, $9, nullif($10, 0))
		RETURNING id, started_at`,
		run.Env, string(run.Trigger), run.Spec.Mode(), run.Entities, run.Reason, run.StartedBy, run.SourceVersions, os.Getpid(), run.Spec, run.RetryOf,
	).Scan(&run.ID, &run.StartedAt)
	if err != nil {
		return fmt.Errorf("ledger: start run: %w", err)
	}
	run.Mode = run.Spec.Mode()
	return nil
}

// Refused records a run that was turned away before it started (another
// run held the lock), already finished, and sets its ID and StartedAt.
func (l *Ledger) Refused(ctx context.Context, run *Run, cause error) error {
	err := l.pool.QueryRow(ctx, `
		INSERT INTO nightshift.runs (env, trigger, mode, entities, reason, started_by, pid, spec, retry_of, status, error, finished_at)
		VALUES ($1, $2, $3, $4, nullif($5, ''), $6, $7, $8, nullif($9, 0), 'refused', $10, now())
		RETURNING id, started_at`,
		run.Env, string(run.Trigger), run.Spec.Mode(), run.Entities, run.Reason, run.StartedBy, os.Getpid(), run.Spec, run.RetryOf, redact.String(cause.Error()),
	).Scan(&run.ID, &run.StartedAt)
	if err != nil {
		return fmt.Errorf("ledger: record refused run: %w", err)
	}
	return nil
}

// MarkPublished records, in the publish transaction itself, that the run
// published: the ledger and the warehouse cannot disagree about it.
func MarkPublished(ctx context.Context, tx pgx.Tx, runID int64) error {
	if _, err := tx.Exec(ctx, `UPDATE nightshift.runs SET published_at = now() WHERE id = $1`, runID); err != nil {
		return fmt.Errorf("ledger: run %d: mark published: %w", runID, err)
	}
	return nil
}

// Published reports whether the run's publish committed: a publish whose
// COMMIT was sent but not acknowledged (a dropped connection) must not be
// attempted again.
func (l *Ledger) Published(ctx context.Context, runID int64) (bool, error) {
	var at *time.Time
	if err := l.pool.QueryRow(ctx, `SELECT published_at FROM nightshift.runs WHERE id = $1`, runID).Scan(&at); err != nil {
		return false, fmt.Errorf("ledger: run %d: %w", runID, err)
	}
	return at != nil, nil
}

// claimNotification marks the run as notified and reports whether this
// caller won the claim: of all the processes that may find a run ended or
// dead, exactly one sends its notification.
func (l *Ledger) claimNotification(ctx context.Context, runID int64) (bool, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalWriteTimeout)
	defer cancel()
	tag, err := l.pool.Exec(ctx, `UPDATE nightshift.runs SET notified_at = now() WHERE id = $1 AND notified_at IS NULL`, runID)
	if err != nil {
		return false, fmt.Errorf("ledger: run %d: claim notification: %w", runID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// RecordSources records what the preflight saw of the sources: the schema
// version of each, and the additions that did not stop the run (nil: none
// checked).
func (l *Ledger) RecordSources(ctx context.Context, runID int64, versions map[string]string, additions *Additions) error {
	if versions == nil {
		versions = map[string]string{}
	}
	if _, err := l.pool.Exec(ctx, `UPDATE nightshift.runs SET source_versions = $2, additions = $3 WHERE id = $1`, runID, versions, additions); err != nil {
		return fmt.Errorf("ledger: run %d: source versions and additions: %w", runID, err)
	}
	return nil
}

// Quarantined counts, per entity, the rows the run set aside; entities
// with none are not in the map.
func (l *Ledger) Quarantined(ctx context.Context, runID int64) (map[string]int64, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalWriteTimeout)
	defer cancel()
	out := map[string]int64{}
	if err := l.pool.QueryRow(ctx, quarantinedByEntity, runID).Scan(&out); err != nil {
		return nil, fmt.Errorf("ledger: run %d: quarantined rows: %w", runID, err)
	}
	return out, nil
}

// quarantinedByEntity is a JSON object of the rows run $1 quarantined per
// entity ({} for none): one query for a run's report and for each line of
// the run history.
const quarantinedByEntity = `SELECT coalesce(jsonb_object_agg(q.entity, q.n), '{}') FROM (
	SELECT entity, count(*) AS n FROM nightshift.quarantine WHERE run_id = $1 GROUP BY entity) q`

// Heartbeat shows the run is alive, and returns the abort an operator
// asked for, if any.
func (l *Ledger) Heartbeat(ctx context.Context, runID int64) (*AbortRequest, error) {
	var at *time.Time
	var by, reason string
	err := l.pool.QueryRow(ctx, `
		UPDATE nightshift.runs SET heartbeat_at = now() WHERE id = $1 AND status = 'running'
		RETURNING abort_requested_at, coalesce(abort_requested_by, ''), coalesce(abort_reason, '')`, runID).Scan(&at, &by, &reason)
	if errors.Is(err, pgx.ErrNoRows) {
		// Someone marked the run finished under us (abandoned by mistake):
		// nothing to refresh.
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: run %d: heartbeat: %w", runID, err)
	}
	if at == nil {
		return nil, nil
	}
	return &AbortRequest{RunID: runID, By: by, Reason: reason, At: *at}, nil
}

// AbortRequest is an operator's request to stop a run.
type AbortRequest struct {
	RunID  int64
	By     string
	Reason string
	At     time.Time
}

// ErrAborted matches an abort requested with nightshift abort.
var ErrAborted = errors.New("aborted")

func (a *AbortRequest) Error() string {
	return fmt.Sprintf("aborted by %s at %s: %s", a.By, a.At.UTC().Format(time.RFC3339), a.Reason)
}

func (a *AbortRequest) Is(target error) bool { return target == ErrAborted }

// RequestAbort asks the running run (runID, or whichever is running when
// runID is 0) to stop, and returns its id.
func (l *Ledger) RequestAbort(ctx context.Context, runID int64, by, reason string) (int64, error) {
	var id int64
	err := l.pool.QueryRow(ctx, `
		UPDATE nightshift.runs SET abort_requested_at = now(), abort_requested_by = $2, abort_reason = $3
		WHERE status = 'running' AND ($1 = 0 OR id = $1)
		RETURNING id`, runID, by, reason).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		if runID == 0 {
			return 0, errors.New("no run is running")
		}
		var status string
		if err := l.pool.QueryRow(ctx, "SELECT status FROM nightshift.runs WHERE id = $1", runID).Scan(&status); err != nil {
			return 0, fmt.Errorf("%w: run %d", ErrNoSuchRun, runID)
		}
		return 0, fmt.Errorf("run %d is not running (it is %s)", runID, status)
	}
	if err != nil {
		return 0, fmt.Errorf("ledger: request abort: %w", err)
	}
	return id, nil
}

// Finish records how a run ended, how each of its entities did, and
// whether it reached BigQuery.
func (l *Ledger) Finish(ctx context.Context, runID int64, status Status, runErr error, rep Report) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalWriteTimeout)
	defer cancel()
	var msg *string
	if runErr != nil {
		s := redact.String(runErr.Error())
		msg = &s
	}
	byEntity := map[string]Status{}
	for _, r := range rep.Results {
		byEntity[r.Entity] = r.Status
	}
	_, err := l.pool.Exec(ctx, `
		UPDATE nightshift.runs SET status = $2, error = $3, finished_at = now(), heartbeat_at = now(), results = $4,
		       bigquery_published_at = CASE WHEN $5 THEN now() END
		WHERE id = $1`, runID, string(status), msg, byEntity, rep.Propagated)
	if err != nil {
		return fmt.Errorf("ledger: finish run %d: %w", runID, err)
	}
	if rep.Propagated && rep.Run.Spec.Kind == KindPropagate {
		// The retry finished the BigQuery half of its data run: that run
		// has now reached BigQuery too.
		if _, err := l.pool.Exec(ctx, `UPDATE nightshift.runs SET bigquery_published_at = now() WHERE id = $1 AND bigquery_published_at IS NULL`,
			rep.Run.Spec.DataRun); err != nil {
			return fmt.Errorf("ledger: run %d: mark reached BigQuery: %w", rep.Run.Spec.DataRun, err)
		}
	}
	return nil
}

// StartStep records the start of an attempt and returns its row id.
func (l *Ledger) StartStep(ctx context.Context, runID int64, entity, step string, attempt int) (int64, error) {
	var id int64
	err := l.pool.QueryRow(ctx, `
		INSERT INTO nightshift.step_runs (run_id, entity, step, attempt) VALUES ($1, $2, $3, $4) RETURNING id`,
		runID, entity, step, attempt).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("ledger: start %s %s attempt %d: %w", entity, step, attempt, err)
	}
	return id, nil
}

// FinishStep records how an attempt ended.
func (l *Ledger) FinishStep(ctx context.Context, id int64, status Status, out Outcome, stepErr error, class Class) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalWriteTimeout)
	defer cancel()
	var msg, cls *string
	if stepErr != nil {
		s, c := redact.String(stepErr.Error()), string(class)
		msg, cls = &s, &c
	}
	detail := out.Detail
	if detail == nil {
		detail = struct{}{}
	}
	_, err := l.pool.Exec(ctx, `
		UPDATE nightshift.step_runs
		SET status = $2, finished_at = now(), rows = $3, bytes = $4, checksum = nullif($5, ''),
		    error = $6, error_class = $7, detail = $8
		WHERE id = $1`,
		id, string(status), nullable(out.Rows, stepErr), nullable(out.Bytes, stepErr), out.Checksum, msg, cls, detail)
	if err != nil {
		return fmt.Errorf("ledger: finish step %d: %w", id, err)
	}
	return nil
}

// nullable leaves counts NULL for failed attempts, whose partial counts mean
// nothing.
func nullable(n int64, err error) *int64 {
	if err != nil {
		return nil
	}
	return &n
}

// LastScheduledSuccess is when the last successful run of a schedule
// started (zero if none).
func (l *Ledger) LastScheduledSuccess(ctx context.Context, schedule string) (time.Time, error) {
	var t *time.Time
	err := l.pool.QueryRow(ctx, `SELECT max(started_at) FROM nightshift.runs
		WHERE trigger = 'schedule' AND reason = $1 AND status = 'succeeded'`, ScheduleReason(schedule)).Scan(&t)
	if err != nil || t == nil {
		return time.Time{}, err
	}
	return *t, nil
}

// ScheduleReason is the reason recorded for a run a schedule started.
func ScheduleReason(schedule string) string { return "schedule " + schedule }

// Checkpoints finds the latest unfinished run of mode before run before (0:
// any; a backfill that failed or was aborted) and returns the steps it
// completed, so that the same backfill resumes where it stopped. It
// returns run 0 when there is none, or when the latest run of that mode
// succeeded.
func (l *Ledger) Checkpoints(ctx context.Context, mode string, before int64) (int64, map[string]bool, error) {
	var runID int64
	var status string
	err := l.pool.QueryRow(ctx, `SELECT id, status FROM nightshift.runs WHERE mode = $1 AND ($2 = 0 OR id < $2) AND status <> 'refused'
		ORDER BY id DESC LIMIT 1`, mode, before).Scan(&runID, &status)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && status == string(StatusSucceeded)) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("ledger: checkpoints of %s: %w", mode, err)
	}
	// Steps completed by that run, and by the runs it resumed in turn.
	rows, err := l.pool.Query(ctx, `
		SELECT DISTINCT s.step FROM nightshift.step_runs s JOIN nightshift.runs r ON r.id = s.run_id
		WHERE r.mode = $1 AND s.status = 'succeeded' AND ($2 = 0 OR r.id < $2)
		  AND r.id > coalesce((SELECT max(id) FROM nightshift.runs WHERE mode = $1 AND status = 'succeeded'), 0)`, mode, before)
	if err != nil {
		return 0, nil, fmt.Errorf("ledger: checkpoints of %s: %w", mode, err)
	}
	steps, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, nil, fmt.Errorf("ledger: checkpoints of %s: %w", mode, err)
	}
	done := map[string]bool{}
	for _, s := range steps {
		done[s] = true
	}
	return runID, done, nil
}

// RunRecord is a run as recorded, for reports about it.
type RunRecord struct {
	Run
	Status     Status
	Error      string
	FinishedAt time.Time
	// Published says its warehouse publish committed; Propagated that it
	// reached BigQuery in full.
	Published, Propagated bool
}

// ErrNoSuchRun is a run id the ledger does not have.
var ErrNoSuchRun = errors.New("no such run")

// Get reads one run.
func (l *Ledger) Get(ctx context.Context, id int64) (RunRecord, error) {
	var r RunRecord
	var finished *time.Time
	var retryOf *int64
	err := l.pool.QueryRow(ctx, `
		SELECT id, env, trigger, mode, entities, coalesce(reason, ''), started_by, started_at, source_versions,
		       status, coalesce(error, ''), finished_at, spec, retry_of, published_at IS NOT NULL, bigquery_published_at IS NOT NULL, additions
		FROM nightshift.runs WHERE id = $1`, id).Scan(&r.ID, &r.Env, &r.Trigger, &r.Mode, &r.Entities, &r.Reason, &r.StartedBy,
		&r.StartedAt, &r.SourceVersions, &r.Status, &r.Error, &finished, &r.Spec, &retryOf, &r.Published, &r.Propagated, &r.Additions)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("%w: run %d", ErrNoSuchRun, id)
	}
	if err != nil {
		return r, fmt.Errorf("ledger: run %d: %w", id, err)
	}
	if retryOf != nil {
		r.RetryOf = *retryOf
	}
	if finished != nil {
		r.FinishedAt = *finished
	}
	return r, nil
}

// Output reads into v the output (step_runs.detail) of the entity's step
// that succeeded in the run: what a retry in another process needs of it.
func (l *Ledger) Output(ctx context.Context, runID int64, entity, step string, v any) error {
	err := l.pool.QueryRow(ctx, `SELECT detail FROM nightshift.step_runs
		WHERE run_id = $1 AND entity = $2 AND step = $3 AND status = 'succeeded' ORDER BY attempt DESC LIMIT 1`, runID, entity, step).Scan(v)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("ledger: run %d has no successful %s of %s", runID, step, entity)
	}
	if err != nil {
		return fmt.Errorf("ledger: run %d: output of %s %s: %w", runID, entity, step, err)
	}
	return nil
}
