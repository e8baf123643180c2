package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// What the daemon's /readyz and /metrics read from the ledger.

// Ping checks that the warehouse answers.
func (l *Ledger) Ping(ctx context.Context) error {
	if err := l.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ledger: ping the warehouse: %w", err)
	}
	return nil
}

// FinishedRun is how a run that ran to an end ended.
type FinishedRun struct {
	ID         int64
	Status     Status
	FinishedAt time.Time
	Error      string
}

// LastFinished returns the newest run that ran and ended: not running and
// not refused (a refused run did not run, so it says nothing about the
// pipeline). ok is false when there is none.
func (l *Ledger) LastFinished(ctx context.Context) (run FinishedRun, ok bool, err error) {
	err = l.pool.QueryRow(ctx, `
		SELECT id, status, finished_at, coalesce(error, '') FROM nightshift.runs
		WHERE status NOT IN ('running', 'refused') ORDER BY id DESC LIMIT 1`).Scan(&run.ID, &run.Status, &run.FinishedAt, &run.Error)
	if errors.Is(err, pgx.ErrNoRows) {
		return run, false, nil
	}
	if err != nil {
		return run, false, fmt.Errorf("ledger: last finished run: %w", err)
	}
	return run, true, nil
}

// EntityState is what the ledger says of an entity's data in the
// warehouse.
type EntityState struct {
	Entity string
	// RunID is the run whose extract the entity's current warehouse table
	// holds (0: the entity has no current table); PublishedAt when that run
	// published it; Rows the rows it holds; Quarantined the rows that run
	// set aside for the entity.
	RunID       int64
	PublishedAt time.Time
	Rows        int64
	Quarantined int64
	// LastSuccess is when a run that published last ended with the entity
	// succeeded (zero: never).
	LastSuccess time.Time
}

// EntityStates reads the state of every entity the warehouse holds or a
// run succeeded with, by entity name.
func (l *Ledger) EntityStates(ctx context.Context) (map[string]EntityState, error) {
	out := map[string]EntityState{}
	rows, err := l.pool.Query(ctx, `
		SELECT v.entity, v.run_id, coalesce(r.published_at, v.placed_at), coalesce(v.rows, 0),
		       (SELECT count(*) FROM nightshift.quarantine q WHERE q.run_id = v.run_id AND q.entity = v.entity)::int8
		FROM nightshift.table_versions v LEFT JOIN nightshift.runs r ON r.id = v.run_id
		WHERE v.target = 'warehouse' AND v.slot = 'current'`)
	if err != nil {
		return nil, fmt.Errorf("ledger: entity states: %w", err)
	}
	var s EntityState
	_, err = pgx.ForEachRow(rows, []any{&s.Entity, &s.RunID, &s.PublishedAt, &s.Rows, &s.Quarantined}, func() error {
		out[s.Entity] = s
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: entity states: %w", err)
	}
	// Restore runs are left out: putting back older data is not a success
	// of the pipeline.
	rows, err = l.pool.Query(ctx, `
		SELECT e.key, max(r.published_at) FROM nightshift.runs r, jsonb_each_text(coalesce(r.results, '{}')) e
		WHERE e.value = 'succeeded' AND r.published_at IS NOT NULL AND r.trigger <> 'restore'
		GROUP BY e.key`)
	if err != nil {
		return nil, fmt.Errorf("ledger: last success of entities: %w", err)
	}
	var entity string
	var at time.Time
	_, err = pgx.ForEachRow(rows, []any{&entity, &at}, func() error {
		st := out[entity]
		st.Entity, st.LastSuccess = entity, at
		out[entity] = st
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: last success of entities: %w", err)
	}
	return out, nil
}

// Overdue returns, per schedule, the latest firing whose deadline has
// passed by now and that has not succeeded since it fired: what /readyz
// reports. A schedule whose last success cannot be read is reported, with
// LastSuccess zero, along with the error.
func (sc *Scheduler) Overdue(ctx context.Context, now time.Time) ([]OverdueAlert, error) {
	sc.mu.Lock()
	latest := map[string]deadline{}
	consider := func(d deadline) {
		if d.by.After(now) {
			return
		}
		if cur, ok := latest[d.schedule]; !ok || d.fire.After(cur.fire) {
			latest[d.schedule] = d
		}
	}
	for _, d := range sc.pending {
		consider(d)
	}
	for d := range sc.alerted {
		consider(d)
	}
	sc.mu.Unlock()

	var out []OverdueAlert
	var errs []error
	for _, s := range sc.Schedules { // in the schedules' order
		d, ok := latest[s.Name]
		if !ok {
			continue
		}
		last, err := sc.LastSuccess(ctx, d.schedule)
		if err != nil {
			errs = append(errs, fmt.Errorf("schedule %s: %w", d.schedule, err))
		}
		if err != nil || last.Before(d.fire) {
			out = append(out, OverdueAlert{Schedule: d.schedule, FiredAt: d.fire, Deadline: d.by, LastSuccess: last})
		}
	}
	return out, errors.Join(errs...)
}
