package recovery

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/versions"
)

// timeLayouts are the forms --as-of accepts. A time without an offset is
// UTC, as every time nightshift prints is.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
}

// ParseTime reads --as-of: an RFC 3339 time (2026-11-29T02:00:00Z, or with
// an offset), or a date and time without an offset, in UTC
// (2026-11-29 02:00), or a date (its midnight, UTC).
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--as-of %q is not a time: write 2026-11-29T02:00:00Z, 2026-11-29 02:00 (UTC) or 2026-11-29 (midnight UTC)", s)
}

// AsOfError is an --as-of the warehouse cannot answer for: in the future,
// or before its first version of the entity.
type AsOfError struct{ msg string }

func (e *AsOfError) Error() string { return e.msg }

// NoVersionsError is an entity whose versions the warehouse does not
// keep (yet): nothing to recover from.
type NoVersionsError struct{ Entity, Relation string }

func (e *NoVersionsError) Error() string {
	return fmt.Sprintf("%s does not exist: the warehouse keeps no versions of %s yet (a run that publishes %s creates it), so it cannot say what the entity held at a time", e.Relation, e.Entity, e.Entity)
}

// versionsRelation and asOfFunction name the entity's versions table and
// its as-of function in the warehouse schema.
func versionsRelation(schema string, c *schemas.Contract) string {
	return pgx.Identifier{schema, versions.Table(c.Entity)}.Sanitize()
}

func asOfFunction(schema string, c *schemas.Contract) string {
	return pgx.Identifier{schema, versions.AsOf(c.Entity)}.Sanitize()
}

// checkAsOf makes sure the warehouse can say what the entity held at at:
// its versions exist, at is not in the future (by the warehouse's clock),
// and not before the first run that kept them read the source. A version
// may begin before that run — at the row's own updated_at — but a row
// that changed between at and that run has no version from before it, so
// the warehouse's view of the whole table begins with that run's
// snapshot. It returns that time.
func checkAsOf(ctx context.Context, tx pgx.Tx, schema string, c *schemas.Contract, at time.Time) (time.Time, error) {
	rel := versionsRelation(schema, c)
	var exists, fn, logged bool
	err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL,
		EXISTS (SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $2 AND p.proname = $3),
		to_regclass($4) IS NOT NULL`,
		rel, schema, versions.AsOf(c.Entity), pgx.Identifier{schema, versions.Log(c.Entity)}.Sanitize()).Scan(&exists, &fn, &logged)
	if err != nil {
		return time.Time{}, fmt.Errorf("look for %s: %w", rel, err)
	}
	if !exists {
		return time.Time{}, &NoVersionsError{Entity: c.Entity, Relation: rel}
	}
	if !fn {
		return time.Time{}, &NoVersionsError{Entity: c.Entity, Relation: asOfFunction(schema, c) + "(timestamptz)"}
	}
	// The view's valid_to is of no use here: read what it reads.
	stored := rel
	if logged {
		stored = pgx.Identifier{schema, versions.Log(c.Entity)}.Sanitize()
	}
	var now time.Time
	var firstRun *int64
	var first *time.Time
	// The first run's snapshot (a backfill records none: then when it
	// published, which is later, so the check errs on the safe side).
	err = tx.QueryRow(ctx, `WITH f AS (SELECT min(run_id) AS run_id FROM `+stored+`)
		SELECT now(), f.run_id, coalesce(
			(SELECT max((s.detail->>'snapshot_at')::timestamptz) FROM nightshift.step_runs s
			 WHERE s.run_id = f.run_id AND s.entity = $1 AND s.step = 'extract' AND s.status = 'succeeded'),
			(SELECT r.published_at FROM nightshift.runs r WHERE r.id = f.run_id),
			(SELECT min(valid_from) FROM `+stored+`))
		FROM f`, c.Entity).Scan(&now, &firstRun, &first)
	if err != nil {
		return time.Time{}, fmt.Errorf("read %s: %w", rel, err)
	}
	switch {
	case at.After(now):
		return time.Time{}, &AsOfError{fmt.Sprintf("--as-of %s is in the future (the warehouse's clock says %s): the warehouse knows only the past", stamp(at), stamp(now))}
	case first == nil || firstRun == nil:
		return time.Time{}, &AsOfError{fmt.Sprintf("%s holds no versions yet: nothing to recover", rel)}
	case at.Before(*first):
		return time.Time{}, &AsOfError{fmt.Sprintf("--as-of %s is before the warehouse's first view of %s, run %d's snapshot of the source at %s: of an earlier time it knows only the rows that did not change since, so it cannot say what the source held then",
			stamp(at), c.Entity, *firstRun, stamp(*first))}
	}
	return *first, nil
}

// stamp prints a time as nightshift does everywhere: UTC, to the
// microsecond when it has one.
func stamp(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05.999999") + " UTC"
}

// timestampLiteral writes at as an SQL timestamptz constant, for a COPY
// statement, which takes no parameters. It comes from a time.Time, never
// from text a user typed.
func timestampLiteral(at time.Time) string {
	return "'" + at.UTC().Format("2006-01-02 15:04:05.999999") + "+00'::timestamptz"
}

// IsUsage says whether err is the operator's to fix (a bad --as-of, keys
// file, entity or output directory) rather than an outage.
func IsUsage(err error) bool {
	var ae *AsOfError
	var ke *KeysFileError
	var ne *NoVersionsError
	var ue *UsageError
	return errors.As(err, &ae) || errors.As(err, &ke) || errors.As(err, &ne) || errors.As(err, &ue)
}

// UsageError is any other recovery the operator asked for that cannot be
// done as asked.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }
