package versions

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
)

// StatusHistory keeps reporting.status_history in step with a statuses
// entity (one marked History) whose versions Apply has just written, in
// the same transaction: a version whose status changed, or whose entity is
// gone, is closed when the new one begins; a new status opens one, at the
// time the source recorded the change when it did (Contract.ChangeTime).
// After the entity's first versioned run it looks only at the keys that
// changed. Then it adds the versions the sources recorded but no run could
// observe (historyRecorded). It returns the versions opened.
func StatusHistory(ctx context.Context, tx pgx.Tx, schema string, c *schemas.Contract, runID int64, at time.Time, d Diff) (int64, error) {
	statuses := quote(schema, c.Entity)
	history := quote(schema, "status_history")
	// A run older than the current versions (a retry of an old run) must
	// not rewrite history that a later run already wrote. Apply's guard
	// has refused one already, unless the entity had no versions yet: only
	// then is the history (kept before versions were) scanned for it.
	if d.First {
		var newer bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+history+" WHERE origin = $1 AND valid_from > $2)", c.Entity, at).Scan(&newer); err != nil {
			return 0, fmt.Errorf("status history %s: %w", c.Entity, err)
		}
		if newer {
			return 0, pipeline.MarkPermanent(fmt.Errorf("status history of %s already has versions newer than this run's snapshot (%s)", c.Entity, at))
		}
	}
	var stmts []string
	if d.First {
		// Every status is looked at, once: there are no changes yet. A
		// version closes when the next begins, by the same rule.
		closeFrom, _ := validFrom(c, "s", "h.valid_from")
		from, source := validFrom(c, "s", "p.prev")
		stmts = []string{`
			UPDATE ` + history + ` h SET is_current = false, closed_by_run_id = $3,
			       valid_to = coalesce((SELECT ` + closeFrom + ` FROM ` + statuses + ` s
			                            WHERE s.entity_type = h.entity_type AND s.entity_id = h.entity_id), $1)
			WHERE h.is_current AND h.origin = $2 AND h.valid_from < $1
			  AND NOT EXISTS (SELECT 1 FROM ` + statuses + ` s
			                  WHERE s.entity_type = h.entity_type AND s.entity_id = h.entity_id
			                    AND s.status IS NOT DISTINCT FROM h.status)
			  -- A withheld status says nothing new: its history stays open.
			  AND NOT EXISTS (SELECT 1 FROM nightshift.quarantine q
			                  WHERE q.run_id = $3 AND q.entity = $2 AND q.key = h.entity_type || '/' || h.entity_id)`, `
			INSERT INTO ` + history + ` (entity_type, entity_id, status, valid_from, is_current, origin, run_id, valid_from_source)
			SELECT s.entity_type, s.entity_id, s.status, ` + from + `, true, $2, $3, ` + source + `
			FROM ` + statuses + ` s
			LEFT JOIN (SELECT entity_type, entity_id, max(valid_from) AS prev FROM ` + history + ` WHERE origin = $2 GROUP BY 1, 2) p
			       ON p.entity_type = s.entity_type AND p.entity_id = s.entity_id
			WHERE NOT EXISTS (SELECT 1 FROM ` + history + ` h
			                  WHERE h.is_current AND h.entity_type = s.entity_type AND h.entity_id = s.entity_id)`}
	} else {
		// Apply left the keys that changed, withheld ones already left
		// out, in nightshift_version_changes. A change time before the
		// current history version (one the entity's versions and its
		// history disagree on) is the snapshot's.
		if _, err := tx.Exec(ctx, "DROP TABLE IF EXISTS pg_temp.nightshift_status_changes"); err != nil {
			return 0, fmt.Errorf("status history %s: %w", c.Entity, err)
		}
		stmts = []string{`
			CREATE TEMP TABLE nightshift_status_changes ON COMMIT DROP AS
			SELECT n.entity_type, n.entity_id, n.change, s.status, h.status AS old_status, h.entity_id IS NOT NULL AS had_current,
			       CASE WHEN h.valid_from IS NULL OR n.valid_from > h.valid_from THEN n.valid_from ELSE $1 END AS valid_from,
			       CASE WHEN h.valid_from IS NULL OR n.valid_from > h.valid_from THEN n.valid_from_source ELSE 'snapshot' END AS valid_from_source
			FROM nightshift_version_changes n
			LEFT JOIN ` + statuses + ` s ON s.entity_type = n.entity_type AND s.entity_id = n.entity_id
			LEFT JOIN ` + history + ` h ON h.entity_type = n.entity_type AND h.entity_id = n.entity_id AND h.is_current
			WHERE $2::text IS NOT NULL AND $3::bigint IS NOT NULL`, `
			UPDATE ` + history + ` h SET valid_to = c.valid_from, is_current = false, closed_by_run_id = $3
			FROM nightshift_status_changes c
			WHERE h.is_current AND h.origin = $2 AND h.entity_type = c.entity_type AND h.entity_id = c.entity_id
			  AND (c.change = 'deleted' OR c.status IS DISTINCT FROM c.old_status) AND $1::timestamptz IS NOT NULL`, `
			INSERT INTO ` + history + ` (entity_type, entity_id, status, valid_from, is_current, origin, run_id, valid_from_source)
			SELECT c.entity_type, c.entity_id, c.status, c.valid_from, true, $2, $3, c.valid_from_source
			FROM nightshift_status_changes c
			WHERE c.change <> 'deleted' AND (NOT c.had_current OR c.status IS DISTINCT FROM c.old_status) AND $1::timestamptz IS NOT NULL`}
	}
	if !d.First && d.few() {
		if err := byIndex(ctx, tx, true); err != nil {
			return 0, fmt.Errorf("status history %s: %w", c.Entity, err)
		}
		defer func() { _ = byIndex(ctx, tx, false) }()
	}
	var opened int64
	for i, s := range stmts {
		tag, err := tx.Exec(ctx, s, at, c.Entity, runID)
		if err != nil {
			return 0, fmt.Errorf("status history %s: %w", c.Entity, err)
		}
		if i == len(stmts)-1 {
			opened = tag.RowsAffected()
		}
	}
	if _, err := historyRecorded(ctx, tx, schema, c, runID, d.First); err != nil {
		return 0, fmt.Errorf("status history %s: versions from the recorded changes: %w", c.Entity, err)
	}
	return opened, nil
}

// historyRecorded adds to status_history the versions the sources
// recorded (Contract.HistoryBefore) that no run could observe: on the
// entity's first versioned run, those before each entity's first version;
// on later runs, those between the start and the end of each version this
// run closed (a status changed twice in a day: the run saw only the last).
// Each is valid until the next recorded change or the bound; the version
// they fall in is cut short at the first. Re-running it adds nothing. It
// does nothing until the tables it reads are loaded.
func historyRecorded(ctx context.Context, tx pgx.Tx, schema string, c *schemas.Contract, runID int64, first bool) (int64, error) {
	if c.HistoryBefore == "" {
		return 0, nil
	}
	for _, t := range c.HistoryBeforeReads {
		var ok bool
		if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", quote(schema, t)).Scan(&ok); err != nil || !ok {
			return 0, err
		}
	}
	history := quote(schema, "status_history")
	bounds := `SELECT entity_type, entity_id, '-infinity'::timestamptz AS lo, min(valid_from) AS hi FROM ` + history + `
		WHERE origin = $1 GROUP BY 1, 2`
	if !first {
		// The versions this run closed, found from the keys that changed
		// (by the history's key) rather than by a scan of the history; and
		// when none changed, nothing to read at all.
		var changed bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM nightshift_status_changes)").Scan(&changed); err != nil || !changed {
			return 0, err
		}
		bounds = `SELECT h.entity_type, h.entity_id, h.valid_from AS lo, h.valid_to AS hi
		FROM nightshift_status_changes c JOIN ` + history + ` h ON h.entity_type = c.entity_type AND h.entity_id = c.entity_id
		WHERE h.origin = $1 AND h.closed_by_run_id = $2 AND h.run_id <> $2`
	}
	recorded := strings.ReplaceAll(c.HistoryBefore, "{{schema}}", quote(schema))
	tag, err := tx.Exec(ctx, `
		WITH recorded AS (`+recorded+`),
		bounds AS (`+bounds+`),
		inside AS (
			SELECT r.entity_type, r.entity_id, r.status, r.changed_at, r.source, b.lo, b.hi,
			       lead(r.changed_at) OVER (PARTITION BY r.entity_type, r.entity_id ORDER BY r.changed_at) AS next_at
			FROM recorded r JOIN bounds b ON b.entity_type = r.entity_type AND b.entity_id = r.entity_id
			WHERE r.changed_at > b.lo AND r.changed_at < b.hi
		),
		cut AS (
			UPDATE `+history+` h SET valid_to = m.first_at
			FROM (SELECT entity_type, entity_id, lo, min(changed_at) AS first_at FROM inside GROUP BY 1, 2, 3) m
			WHERE h.origin = $1 AND h.entity_type = m.entity_type AND h.entity_id = m.entity_id AND h.valid_from = m.lo
		)
		INSERT INTO `+history+` (entity_type, entity_id, status, valid_from, valid_to, is_current, origin, run_id, closed_by_run_id, valid_from_source)
		SELECT i.entity_type, i.entity_id, i.status, i.changed_at, least(coalesce(i.next_at, i.hi), i.hi), false, $1, $2, $2, i.source
		FROM inside i
		ON CONFLICT DO NOTHING`, c.Entity, runID)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
