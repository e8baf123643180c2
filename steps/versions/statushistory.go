package versions

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
)

// StatusHistory keeps reporting.status_history in step with a statuses
// entity (one marked History) whose versions Apply has just written, in
// the same transaction: a version whose status changed, or whose entity is
// gone, is closed when the new one begins; a new status opens one. After
// the entity's first versioned run it looks only at the keys that changed.
// It returns the versions opened.
func StatusHistory(ctx context.Context, tx pgx.Tx, schema string, c *schemas.Contract, runID int64, at time.Time, d Diff) (int64, error) {
	statuses := quote(schema, c.Entity)
	history := quote(schema, "status_history")
	// A run older than the current versions (a retry of an old run) must
	// not rewrite history that a later run already wrote.
	var newer bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+history+" WHERE origin = $1 AND valid_from > $2)", c.Entity, at).Scan(&newer); err != nil {
		return 0, fmt.Errorf("status history %s: %w", c.Entity, err)
	}
	if newer {
		return 0, pipeline.MarkPermanent(fmt.Errorf("status history of %s already has versions newer than this run's snapshot (%s)", c.Entity, at))
	}
	var closeSQL, openSQL string
	if d.First {
		// Every status is looked at, once: there are no changes yet.
		closeSQL = `
			UPDATE ` + history + ` h SET valid_to = $2, is_current = false, closed_by_run_id = $3
			WHERE h.is_current AND h.origin = $1 AND h.valid_from < $2
			  AND NOT EXISTS (SELECT 1 FROM ` + statuses + ` s
			                  WHERE s.entity_type = h.entity_type AND s.entity_id = h.entity_id
			                    AND s.status IS NOT DISTINCT FROM h.status)
			  -- A withheld status says nothing new: its history stays open.
			  AND NOT EXISTS (SELECT 1 FROM nightshift.quarantine q
			                  WHERE q.run_id = $3 AND q.entity = $1 AND q.key = h.entity_type || '/' || h.entity_id)`
		openSQL = `
			INSERT INTO ` + history + ` (entity_type, entity_id, status, valid_from, is_current, origin, run_id)
			SELECT s.entity_type, s.entity_id, s.status, $2, true, $1, $3 FROM ` + statuses + ` s
			WHERE NOT EXISTS (SELECT 1 FROM ` + history + ` h
			                  WHERE h.is_current AND h.entity_type = s.entity_type AND h.entity_id = s.entity_id)`
	} else {
		// Apply left the keys that changed, withheld ones already left
		// out, in nightshift_version_changes.
		closeSQL = `
			UPDATE ` + history + ` h SET valid_to = n.valid_from, is_current = false, closed_by_run_id = $3
			FROM nightshift_version_changes n LEFT JOIN ` + statuses + ` s ON s.entity_type = n.entity_type AND s.entity_id = n.entity_id
			WHERE h.is_current AND h.origin = $1 AND h.valid_from < $2
			  AND h.entity_type = n.entity_type AND h.entity_id = n.entity_id
			  AND (n.change = 'deleted' OR s.status IS DISTINCT FROM h.status)`
		openSQL = `
			INSERT INTO ` + history + ` (entity_type, entity_id, status, valid_from, is_current, origin, run_id)
			SELECT s.entity_type, s.entity_id, s.status, n.valid_from, true, $1, $3
			FROM nightshift_version_changes n JOIN ` + statuses + ` s ON s.entity_type = n.entity_type AND s.entity_id = n.entity_id
			WHERE n.change <> 'deleted' AND $2::timestamptz IS NOT NULL
			  AND NOT EXISTS (SELECT 1 FROM ` + history + ` h
			                  WHERE h.is_current AND h.entity_type = s.entity_type AND h.entity_id = s.entity_id)`
	}
	if _, err := tx.Exec(ctx, closeSQL, c.Entity, at, runID); err != nil {
		return 0, fmt.Errorf("status history %s: %w", c.Entity, err)
	}
	tag, err := tx.Exec(ctx, openSQL, c.Entity, at, runID)
	if err != nil {
		return 0, fmt.Errorf("status history %s: %w", c.Entity, err)
	}
	return tag.RowsAffected(), nil
}
