package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Attempt is one attempt of one step of one entity in a run, with when it
// began and ended: what the run-history page draws its timeline from.
type Attempt struct {
	Entity     string     `json:"entity"`
	Step       string     `json:"step"`
	Attempt    int        `json:"attempt"`
	Status     string     `json:"status"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Rows       *int64     `json:"rows,omitempty"`
	Error      string     `json:"error,omitempty"`
	ErrorClass string     `json:"error_class,omitempty"`
}

// Attempts returns every attempt of a run's steps in the order they began.
func (l *Ledger) Attempts(ctx context.Context, runID int64) ([]Attempt, error) {
	rows, err := l.pool.Query(ctx, `
		SELECT entity, step, attempt, status, started_at, finished_at, rows, coalesce(error, ''), coalesce(error_class, '')
		FROM nightshift.step_runs WHERE run_id = $1 ORDER BY started_at, id`, runID)
	if err != nil {
		return nil, fmt.Errorf("ledger: attempts of run %d: %w", runID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Attempt, error) {
		var a Attempt
		err := row.Scan(&a.Entity, &a.Step, &a.Attempt, &a.Status, &a.StartedAt, &a.FinishedAt, &a.Rows, &a.Error, &a.ErrorClass)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: attempts of run %d: %w", runID, err)
	}
	return out, nil
}

// Freshness is what the warehouse's table of one entity holds now: the run
// whose extract it is, the run that put it there and when.
type Freshness struct {
	Entity string `json:"entity"`
	// DataRun is the run whose extract the table holds; DataRunStartedAt
	// when that run began (its source snapshot was taken just after).
	DataRun          int64     `json:"data_run"`
	DataRunStartedAt time.Time `json:"data_run_started_at"`
	// PlacedBy is the run that made it current (a publish, or a restore),
	// PublishedAt when that run's publish committed (nil if not recorded).
	PlacedBy    int64      `json:"placed_by"`
	PlacedAt    time.Time  `json:"placed_at"`
	PublishedAt *time.Time `json:"published_at,omitempty"`
	Rows        *int64     `json:"rows,omitempty"`
	// Quarantined are the entity's rows the data run set aside.
	Quarantined int64 `json:"rows_quarantined"`
	// SourceVersions are the data run's source schema versions.
	SourceVersions map[string]string `json:"source_versions,omitempty"`
}

// Freshness returns, per entity, what the warehouse's current table holds,
// in entity order.
func (l *Ledger) Freshness(ctx context.Context) ([]Freshness, error) {
	rows, err := l.pool.Query(ctx, `
		SELECT v.entity, v.run_id, d.started_at, v.placed_by, v.placed_at, p.published_at, v.rows,
		       (SELECT count(*) FROM nightshift.quarantine q WHERE q.run_id = v.run_id AND q.entity = v.entity)::int8,
		       coalesce(d.source_versions, '{}')
		FROM nightshift.table_versions v
		JOIN nightshift.runs d ON d.id = v.run_id
		LEFT JOIN nightshift.runs p ON p.id = v.placed_by
		WHERE v.target = 'warehouse' AND v.slot = 'current'
		ORDER BY v.entity`)
	if err != nil {
		return nil, fmt.Errorf("ledger: freshness: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Freshness, error) {
		var f Freshness
		err := row.Scan(&f.Entity, &f.DataRun, &f.DataRunStartedAt, &f.PlacedBy, &f.PlacedAt, &f.PublishedAt, &f.Rows, &f.Quarantined, &f.SourceVersions)
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: freshness: %w", err)
	}
	return out, nil
}
