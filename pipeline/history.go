package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// HistoryVersion is the version of the JSON that `nightshift runs --json`
// and `runs show --json` print. Fields are only ever added within a
// version.
const HistoryVersion = 1

// RunSummary is a run as `nightshift runs` shows it: what was asked for,
// how it ended, and what it changed.
type RunSummary struct {
	ID         int64      `json:"id"`
	Env        string     `json:"env"`
	Trigger    string     `json:"trigger"`
	Status     string     `json:"status"`
	Mode       string     `json:"mode"`
	Spec       Spec       `json:"spec"`
	Entities   []string   `json:"entities"`
	Reason     string     `json:"reason,omitempty"`
	StartedBy  string     `json:"started_by"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Seconds    float64    `json:"duration_seconds"`
	RetryOf    int64      `json:"retry_of,omitempty"`
	// PublishedAt is when the warehouse publish committed, BigQueryAt when
	// the run reached BigQuery in full; nil when they did not happen.
	PublishedAt *time.Time `json:"published_at,omitempty"`
	BigQueryAt  *time.Time `json:"bigquery_published_at,omitempty"`
	// RowsRead are the rows the run read from its sources; RowsPublished
	// those its publish put in the warehouse's tables (0 when it did not
	// publish); Quarantined those it set aside.
	RowsRead      int64 `json:"rows_read"`
	RowsPublished int64 `json:"rows_published"`
	Quarantined   int64 `json:"rows_quarantined"`
	// FailedEntity and FailedStep are the first step that failed.
	FailedEntity string `json:"failed_entity,omitempty"`
	FailedStep   string `json:"failed_step,omitempty"`
	Error        string `json:"error,omitempty"`
	// Results is how each entity ended.
	Results map[string]Status `json:"results,omitempty"`
	// QuarantinedBy is the rows each entity set aside, for the entities
	// that set any aside.
	QuarantinedBy map[string]int64 `json:"rows_quarantined_by_entity,omitempty"`
	// Additions is what the preflight found in the sources that the
	// contracts do not know of (newer schema versions, new columns,
	// compatible type changes); absent when the run checked no source.
	Additions *Additions `json:"additions,omitempty"`
}

const summaryColumns = `
	r.id, r.env, r.trigger, r.status, r.mode, r.spec, r.entities, coalesce(r.reason, ''), r.started_by, r.started_at, r.finished_at,
	extract(epoch FROM coalesce(r.finished_at, now()) - r.started_at)::float8, coalesce(r.retry_of, 0),
	r.published_at, r.bigquery_published_at,
	coalesce((SELECT sum(s.rows) FROM nightshift.step_runs s WHERE s.run_id = r.id AND s.status = 'succeeded'
	          AND (s.step = 'extract' OR s.step LIKE 'backfill ids %')), 0)::int8,
	CASE WHEN r.published_at IS NULL THEN 0 ELSE coalesce((SELECT max(s.rows) FROM nightshift.step_runs s
	          WHERE s.run_id = r.id AND s.entity = '*' AND s.step = 'publish' AND s.status = 'succeeded'), 0) END::int8,
	(SELECT count(*) FROM nightshift.quarantine q WHERE q.run_id = r.id)::int8,
	coalesce((SELECT s.entity || '/' || s.step FROM nightshift.step_runs s WHERE s.run_id = r.id AND s.status = 'failed'
	          ORDER BY s.finished_at, s.id LIMIT 1), ''),
	coalesce(r.error, ''), coalesce(r.results, '{}'),
	coalesce((SELECT jsonb_object_agg(q.entity, q.n) FROM (SELECT entity, count(*) AS n FROM nightshift.quarantine
	          WHERE run_id = r.id GROUP BY entity) q), '{}'),
	r.additions`

func scanSummary(row pgx.Row) (RunSummary, error) {
	var s RunSummary
	var failed string
	err := row.Scan(&s.ID, &s.Env, &s.Trigger, &s.Status, &s.Mode, &s.Spec, &s.Entities, &s.Reason, &s.StartedBy, &s.StartedAt, &s.FinishedAt,
		&s.Seconds, &s.RetryOf, &s.PublishedAt, &s.BigQueryAt, &s.RowsRead, &s.RowsPublished, &s.Quarantined, &failed, &s.Error, &s.Results,
		&s.QuarantinedBy, &s.Additions)
	if failed != "" {
		s.FailedEntity, s.FailedStep, _ = cutLast(failed, "/")
	}
	return s, err
}

// cutLast splits s at its last sep: an entity is never "*"/… but a step
// name may hold a slash one day.
func cutLast(s, sep string) (string, string, bool) {
	for i := len(s) - len(sep); i >= 0; i-- {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

// Recent returns the latest runs, newest first.
func (l *Ledger) Recent(ctx context.Context, limit int) ([]RunSummary, error) {
	rows, err := l.pool.Query(ctx, `SELECT `+summaryColumns+` FROM nightshift.runs r ORDER BY r.id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("ledger: recent runs: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (RunSummary, error) { return scanSummary(row) })
	if err != nil {
		return nil, fmt.Errorf("ledger: recent runs: %w", err)
	}
	return out, nil
}

// Summary returns one run.
func (l *Ledger) Summary(ctx context.Context, id int64) (RunSummary, error) {
	s, err := scanSummary(l.pool.QueryRow(ctx, `SELECT `+summaryColumns+` FROM nightshift.runs r WHERE r.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return s, fmt.Errorf("%w: run %d", ErrNoSuchRun, id)
	}
	if err != nil {
		return s, fmt.Errorf("ledger: run %d: %w", id, err)
	}
	return s, nil
}

// StepSummary is one step of one entity in a run, all its attempts
// together.
type StepSummary struct {
	Entity   string  `json:"entity"`
	Step     string  `json:"step"`
	Attempts int     `json:"attempts"`
	Status   string  `json:"status"`
	Rows     *int64  `json:"rows,omitempty"`
	Seconds  float64 `json:"seconds"`
	// Snapshot is the source snapshot an extract read at.
	Snapshot string `json:"snapshot,omitempty"`
	// Quarantined is the rows of the entity the run set aside (on its
	// extract step).
	Quarantined int64 `json:"rows_quarantined,omitempty"`
	// Error is the last attempt's error, when it failed.
	Error string `json:"error,omitempty"`
}

// Steps returns the steps of a run in the order they began.
func (l *Ledger) Steps(ctx context.Context, runID int64) ([]StepSummary, error) {
	rows, err := l.pool.Query(ctx, `
		WITH last AS (
			SELECT DISTINCT ON (entity, step) entity, step, attempt, status, rows, error, detail->>'snapshot' AS snapshot
			FROM nightshift.step_runs WHERE run_id = $1 ORDER BY entity, step, attempt DESC)
		SELECT s.entity, s.step, max(s.attempt)::int, l.status, l.rows,
		       coalesce(sum(extract(epoch FROM coalesce(s.finished_at, now()) - s.started_at)), 0)::float8,
		       coalesce(l.snapshot, ''),
		       CASE WHEN s.step = 'extract' THEN (SELECT count(*) FROM nightshift.quarantine q WHERE q.run_id = $1 AND q.entity = s.entity) ELSE 0 END::int8,
		       coalesce(l.error, '')
		FROM nightshift.step_runs s JOIN last l USING (entity, step)
		WHERE s.run_id = $1
		GROUP BY s.entity, s.step, l.status, l.rows, l.snapshot, l.error
		ORDER BY min(s.id)`, runID)
	if err != nil {
		return nil, fmt.Errorf("ledger: steps of run %d: %w", runID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (StepSummary, error) {
		var s StepSummary
		err := row.Scan(&s.Entity, &s.Step, &s.Attempts, &s.Status, &s.Rows, &s.Seconds, &s.Snapshot, &s.Quarantined, &s.Error)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: steps of run %d: %w", runID, err)
	}
	return out, nil
}

// NextAction is what to do about a recorded run, as its notification said.
func (s RunSummary) NextAction() string {
	run := Run{ID: s.ID, Env: s.Env, Trigger: Trigger(s.Trigger), Spec: s.Spec, Entities: s.Entities}
	rep := Report{Run: run, Status: Status(s.Status), Published: s.PublishedAt != nil,
		Propagated: s.BigQueryAt != nil, Propagating: s.PublishedAt != nil && s.BigQueryAt == nil && s.Status != string(StatusSucceeded)}
	if s.Error != "" {
		rep.Err = errorString(s.Error)
	}
	return nextAction(&run, rep)
}

// errorString is a recorded error's text. The ledger keeps text, not
// types, so the kinds of error that change the advice are recognised
// by the words their Error methods always write.
type errorString string

func (e errorString) Error() string { return string(e) }

func (e errorString) Is(target error) bool {
	switch target {
	case ErrLocked:
		return strings.Contains(string(e), "run lock")
	case ErrDeadline:
		return strings.Contains(string(e), ErrDeadline.Error())
	case ErrLoss:
		return strings.Contains(string(e), ErrLoss.Error())
	}
	return false
}

// LastDuration is how long the last successful run with the same mode and
// entities took (0 when there was none): what a live view estimates from.
func (l *Ledger) LastDuration(ctx context.Context, mode string, entities []string) (time.Duration, error) {
	var seconds *float64
	err := l.pool.QueryRow(ctx, `SELECT extract(epoch FROM finished_at - started_at)::float8 FROM nightshift.runs
		WHERE status = 'succeeded' AND mode = $1 AND entities = $2 ORDER BY id DESC LIMIT 1`, mode, entities).Scan(&seconds)
	if errors.Is(err, pgx.ErrNoRows) || seconds == nil {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("ledger: last duration of %s: %w", mode, err)
	}
	return time.Duration(*seconds * float64(time.Second)), nil
}

// Scope says what a run covered, in a few words: every entity ("all 23",
// when all is their number), one, some, a backfill's window, a restore, or
// the BigQuery half of another run.
func (s RunSummary) Scope(all int) string {
	entities := func() string {
		switch n := len(s.Entities); n {
		case all:
			return fmt.Sprintf("all %d", n)
		case 1:
			return s.Entities[0]
		default:
			return fmt.Sprintf("%d entities", n)
		}
	}
	switch s.Spec.Kind {
	case KindBackfill:
		if s.Spec.From != "" {
			return entities() + " " + s.Spec.From + ".." + s.Spec.To
		}
		return entities() + " (all rows)"
	case KindRestore:
		return "restore " + entities()
	case KindPropagate:
		return fmt.Sprintf("BigQuery of run %d", s.Spec.DataRun)
	}
	return entities()
}

// Took is a duration in a few characters: 850ms, 42s, 3m05s, 2h14m.
func Took(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// StepError is an error of a run, with where it first struck.
type StepError struct {
	Where string `json:"where"`
	Text  string `json:"error"`
}

// Errors are a run's errors, each once: the first step each error stopped,
// then the run's own error unless it only repeats one of those (one cause
// is not told again for every entity it stopped).
func (s RunSummary) Errors(steps []StepSummary) []StepError {
	var out []StepError
	seen := map[string]bool{}
	for _, st := range steps {
		if st.Error != "" && !seen[st.Error] {
			seen[st.Error] = true
			out = append(out, StepError{st.Entity + "/" + st.Step, st.Error})
		}
	}
	for e := range seen {
		if strings.Contains(s.Error, e) {
			return out
		}
	}
	if s.Error != "" {
		out = append(out, StepError{"run", s.Error})
	}
	return out
}
