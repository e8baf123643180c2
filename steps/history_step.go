package steps

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/dfe-nightshift/nightshift/pipeline"
)

// historyStep keeps reporting.status_history in step with a statuses
// entity just loaded: versions whose status changed, or whose entity is
// gone, are closed at the snapshot's time; new statuses are opened. Running
// it again on the same load changes nothing.
type historyStep struct{ e *entity }

func (s *historyStep) Name() string { return "status-history" }

func (s *historyStep) Run(ctx context.Context, _ int) (pipeline.Outcome, error) {
	e := s.e
	statuses := pgx.Identifier{e.deps.Schema, e.contract.Entity}.Sanitize()
	history := pgx.Identifier{e.deps.Schema, "status_history"}.Sanitize()
	at := e.snapshot.Time
	var closed, opened int64
	err := pgx.BeginFunc(ctx, e.deps.Warehouse, func(tx pgx.Tx) error {
		// A run older than the current versions (a retry of an old run) must
		// not rewrite history that a later run already wrote.
		var newer bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+history+" WHERE origin = $1 AND valid_from > $2)", e.contract.Entity, at).Scan(&newer); err != nil {
			return err
		}
		if newer {
			return pipeline.MarkPermanent(fmt.Errorf("status history of %s already has versions newer than this run's snapshot (%s)", e.contract.Entity, at))
		}
		tag, err := tx.Exec(ctx, `
			UPDATE `+history+` h SET valid_to = $2, is_current = false, closed_by_run_id = $3
			WHERE h.is_current AND h.origin = $1 AND h.valid_from < $2
			  AND NOT EXISTS (SELECT 1 FROM `+statuses+` s
			                  WHERE s.entity_type = h.entity_type AND s.entity_id = h.entity_id
			                    AND s.status IS NOT DISTINCT FROM h.status)`,
			e.contract.Entity, at, e.runID)
		if err != nil {
			return err
		}
		closed = tag.RowsAffected()
		tag, err = tx.Exec(ctx, `
			INSERT INTO `+history+` (entity_type, entity_id, status, valid_from, is_current, origin, run_id)
			SELECT s.entity_type, s.entity_id, s.status, $2, true, $1, $3 FROM `+statuses+` s
			WHERE NOT EXISTS (SELECT 1 FROM `+history+` h
			                  WHERE h.is_current AND h.entity_type = s.entity_type AND h.entity_id = s.entity_id)`,
			e.contract.Entity, at, e.runID)
		if err != nil {
			return err
		}
		opened = tag.RowsAffected()
		return nil
	})
	if err != nil {
		return pipeline.Outcome{}, fmt.Errorf("status history %s: %w", e.contract.Entity, err)
	}
	return pipeline.Outcome{Rows: opened, Detail: map[string]any{"opened": opened, "closed": closed, "observed_at": at}}, nil
}
