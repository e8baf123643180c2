package steps

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/loadwarehouse"
)

// publishStep makes a run's staged entities visible in one warehouse
// transaction: every staged table swapped in (the tables it replaces kept
// as __previous), the status history brought up to date, the views created
// again, and the publication written in the ledger. Before it commits,
// analysts see the warehouse as it was; after, the whole run.
type publishStep struct {
	runID    int64
	deps     Deps
	entities []*entity
	// drop are staging tables the publish makes useless (a backfill's
	// chunks), dropped in its transaction.
	drop []string
}

func (s *publishStep) Name() string { return "publish" }

// Published is the publish step's output: per entity, the rows swapped in
// and those of the table they replaced.
type Published struct {
	Rows     map[string]int64 `json:"rows"`
	Replaced map[string]int64 `json:"replaced"`
	History  map[string]int64 `json:"history_opened,omitempty"`
}

func (s *publishStep) Run(ctx context.Context, _ int) (pipeline.Outcome, error) {
	out := Published{Rows: map[string]int64{}, Replaced: map[string]int64{}, History: map[string]int64{}}
	var total int64
	err := publish(ctx, s.deps, s.runID, s.names(), func(ctx context.Context, p *loadwarehouse.Publisher) error {
		for _, e := range s.entities {
			c := e.contract
			replaced, err := p.SwapIn(ctx, c, c.Entity, e.rows)
			if err != nil {
				return err
			}
			out.Rows[c.Entity], out.Replaced[c.Entity] = e.rows, replaced
			total += e.rows
			if c.History {
				opened, err := updateHistory(ctx, p.Tx, s.deps.Schema, c, s.runID, e.out.SnapshotAt)
				if err != nil {
					return err
				}
				out.History[c.Entity] = opened
			}
		}
		for _, t := range s.drop {
			if _, err := p.Tx.Exec(ctx, "DROP TABLE IF EXISTS "+pgx.Identifier{loadwarehouse.StagingSchema, t}.Sanitize()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return pipeline.Outcome{}, err
	}
	return pipeline.Outcome{Rows: total, Detail: out}, nil
}

func (s *publishStep) names() []string {
	out := make([]string, len(s.entities))
	for i, e := range s.entities {
		out[i] = e.contract.Entity
	}
	return out
}

// publish runs change in the run's one publish transaction, with the
// locks of entities taken first, the views created again after it, and
// the publication recorded in the ledger before the commit. A publish
// whose commit went through — though its answer was lost — is not made
// twice: the ledger says so.
func publish(ctx context.Context, d Deps, runID int64, entities []string, change func(context.Context, *loadwarehouse.Publisher) error) error {
	done, err := pipeline.NewLedger(d.Warehouse).Published(ctx, runID)
	if err != nil {
		return err
	}
	if done {
		return nil
	}
	err = pgx.BeginFunc(ctx, d.Warehouse, func(tx pgx.Tx) error {
		p := &loadwarehouse.Publisher{Tx: tx, Schema: d.Schema, RunID: runID, Views: d.Views, LockTimeout: d.LockTimeout}
		if err := p.Begin(ctx, entities); err != nil {
			return err
		}
		if err := change(ctx, p); err != nil {
			return err
		}
		if err := p.Finish(ctx); err != nil {
			return err
		}
		return pipeline.MarkPublished(ctx, tx, runID)
	})
	if err != nil {
		return fmt.Errorf("publish run %d: %w", runID, err)
	}
	return nil
}

// updateHistory keeps reporting.status_history in step with a statuses
// entity just swapped in, inside the publish transaction: versions whose
// status changed, or whose entity is gone, are closed at the snapshot's
// time; new statuses are opened. It returns the versions opened.
func updateHistory(ctx context.Context, tx pgx.Tx, schema string, c *schemas.Contract, runID int64, at time.Time) (int64, error) {
	statuses := pgx.Identifier{schema, c.Entity}.Sanitize()
	history := pgx.Identifier{schema, "status_history"}.Sanitize()
	// A run older than the current versions (a retry of an old run) must
	// not rewrite history that a later run already wrote.
	var newer bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+history+" WHERE origin = $1 AND valid_from > $2)", c.Entity, at).Scan(&newer); err != nil {
		return 0, fmt.Errorf("status history %s: %w", c.Entity, err)
	}
	if newer {
		return 0, pipeline.MarkPermanent(fmt.Errorf("status history of %s already has versions newer than this run's snapshot (%s)", c.Entity, at))
	}
	_, err := tx.Exec(ctx, `
		UPDATE `+history+` h SET valid_to = $2, is_current = false, closed_by_run_id = $3
		WHERE h.is_current AND h.origin = $1 AND h.valid_from < $2
		  AND NOT EXISTS (SELECT 1 FROM `+statuses+` s
		                  WHERE s.entity_type = h.entity_type AND s.entity_id = h.entity_id
		                    AND s.status IS NOT DISTINCT FROM h.status)`,
		c.Entity, at, runID)
	if err != nil {
		return 0, fmt.Errorf("status history %s: %w", c.Entity, err)
	}
	tag, err := tx.Exec(ctx, `
		INSERT INTO `+history+` (entity_type, entity_id, status, valid_from, is_current, origin, run_id)
		SELECT s.entity_type, s.entity_id, s.status, $2, true, $1, $3 FROM `+statuses+` s
		WHERE NOT EXISTS (SELECT 1 FROM `+history+` h
		                  WHERE h.is_current AND h.entity_type = s.entity_type AND h.entity_id = s.entity_id)`,
		c.Entity, at, runID)
	if err != nil {
		return 0, fmt.Errorf("status history %s: %w", c.Entity, err)
	}
	return tag.RowsAffected(), nil
}
