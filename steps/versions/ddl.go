package versions

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// stored are the columns the versions log adds to the contract's, with
// what an analyst is told of each.
var stored = []struct{ name, typ, comment string }{
	{"valid_from", "timestamptz NOT NULL", "When this version began: the time valid_from_source names."},
	{"is_deleted", "boolean NOT NULL", "True for a tombstone: the row was gone from the source from valid_from; it carries the values of the version before."},
	{"run_id", "bigint NOT NULL", "The nightshift run that opened this version (nightshift.runs.id)."},
	{"valid_from_source", "text NOT NULL", "Where valid_from comes from: updated_at (the row's own, set by the service on every save) or snapshot (the run's snapshot of the source: the change happened between the previous run's snapshot and this one)."},
	{"row_digest", "bigint", "nightshift's digest of the row's values, by which a run tells a changed row from an unchanged one."},
}

// derived are the columns the versions view adds from each key's next
// version, in the view's order among stored (after the column named).
var derived = []struct{ name, after, expr, comment string }{
	{"valid_to", "valid_from", "lead(valid_from) OVER key_versions", "When the next version began (the row changed, or was gone from the source); NULL for the current version."},
	{"closed_by_run_id", "run_id", "lead(run_id) OVER key_versions", "The run that closed it."},
}

func columnComment(col schemas.Column) string {
	if col.PII != schemas.PIINone {
		return col.Description + " [PII: " + col.PII.String() + "]"
	}
	return col.Description
}

// createLogSQL creates the versions log: the contract's columns, all
// nullable (a column the contract gained later is NULL in older
// versions), and stored. Versions are only added to it (a digest stored
// later aside: Apply's refresh of unknown digests): a run writes
// its new versions at the end of the table and into the key index, and
// never goes back to the page of the version it supersedes. At 1 % of
// 3M rows changed, closing each superseded version where it lay (a
// valid_to column) was two thirds of the cost of versioning: a random
// page read and written, and logged whole after each checkpoint, per
// changed key.
//
// It returns the statements and the log's columns, in order.
func createLogSQL(schema string, c *schemas.Contract) (stmts, names []string) {
	var cols []string
	for _, col := range c.Fields() {
		cols = append(cols, quote(col.Name)+" "+col.WarehouseType())
		names = append(names, col.Name)
	}
	for _, m := range stored {
		cols = append(cols, m.name+" "+m.typ)
		names = append(names, m.name)
	}
	return []string{fmt.Sprintf("CREATE TABLE %s (%s)", quote(schema, Log(c.Entity)), strings.Join(cols, ", ")), logCommentSQL(schema, c)}, names
}

func logCommentSQL(schema string, c *schemas.Contract) string {
	return fmt.Sprintf("COMMENT ON TABLE %s IS %s", quote(schema, Log(c.Entity)), literal("The versions of "+c.Entity+
		" as nightshift stores them, each from valid_from until the next of its key: query "+Table(c.Entity)+", which says until when."))
}

// indexSQL indexes a versions log: each key's versions in order, by which
// Apply finds a changed key's latest version, and the versions view pairs
// each version with the next without sorting.
func indexSQL(schema string, c *schemas.Contract) string {
	return fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s, valid_from)", quote(Log(c.Entity)+"_key"), quote(schema, Log(c.Entity)), keyList(c, ""))
}

// createIndexes indexes a versions log just filled (indexSQL).
func createIndexes(ctx context.Context, tx pgx.Tx, schema string, c *schemas.Contract) error {
	_, err := tx.Exec(ctx, indexSQL(schema, c)+";\nANALYZE "+quote(schema, Log(c.Entity)))
	return err
}

// viewSQL (re)creates <entity>_versions, what analysts query: the log's
// columns (logColumns, in the log's order) with each version's valid_to
// and closed_by_run_id, those of the next version of its key. A filter on
// the key reaches the log's index (the window is per key); one on
// valid_to reads the log whole, in key order. A column the contract gains
// comes last, as in the log, so that the view is replaced in place and
// what analysts built on it stays.
func viewSQL(schema string, c *schemas.Contract, logColumns []string) []string {
	view := quote(schema, Table(c.Entity))
	var cols, comments []string
	comment := func(name, text string) {
		comments = append(comments, fmt.Sprintf("COMMENT ON COLUMN %s.%s IS %s", view, quote(name), literal(text)))
	}
	for _, name := range logColumns {
		cols = append(cols, quote(name))
		if col, ok := c.Column(name); ok {
			comment(name, columnComment(col))
		}
		for _, m := range stored {
			if m.name == name {
				comment(name, m.comment)
			}
		}
		for _, d := range derived {
			if d.after == name {
				cols = append(cols, d.expr+" AS "+d.name)
				comment(d.name, d.comment)
			}
		}
	}
	return append([]string{
		fmt.Sprintf("CREATE OR REPLACE VIEW %s AS SELECT %s FROM %s WINDOW key_versions AS (PARTITION BY %s ORDER BY valid_from)",
			view, strings.Join(cols, ", "), quote(schema, Log(c.Entity)), keyList(c, "")),
		fmt.Sprintf("COMMENT ON VIEW %s IS %s", view, literal("Every version of every row of "+c.Entity+
			" that nightshift runs observed, valid from valid_from until valid_to (NULL: current). As of a moment: "+
			AsOf(c.Entity)+"(timestamptz). Column by column: "+FieldUpdates(c.Entity)+". A filter on the key reads that row's versions only.")),
	}, comments...)
}

// isDerived reports whether the view derives the column named.
func isDerived(name string) bool {
	for _, d := range derived {
		if d.name == name {
			return true
		}
	}
	return false
}

// upgradeSQL turns the versions table of before (valid_to and
// closed_by_run_id stored, written again when a version closed) into the
// log: both were always the next version's valid_from and run_id, which
// the view now gives.
func upgradeSQL(schema string, c *schemas.Contract) []string {
	old := quote(schema, Table(c.Entity))
	return []string{
		// It reads valid_to.
		"DROP VIEW IF EXISTS " + quote(schema, FieldUpdates(c.Entity)),
		"DROP INDEX IF EXISTS " + quote(schema, Table(c.Entity)+"_current"),
		// The CHECK on valid_to goes with it.
		fmt.Sprintf("ALTER TABLE %s DROP COLUMN valid_to, DROP COLUMN closed_by_run_id, RESET (fillfactor)", old),
		fmt.Sprintf("ALTER TABLE %s RENAME TO %s", old, quote(Log(c.Entity))),
		fmt.Sprintf("ALTER INDEX IF EXISTS %s RENAME TO %s", quote(schema, Table(c.Entity)+"_key"), quote(Log(c.Entity)+"_key")),
		indexSQL(schema, c),
		logCommentSQL(schema, c),
	}
}

// dependentViews lists the views, other than its field updates, that
// read the versions table of before: dropping its valid_to would fail on
// them (or, if they do not read it, they would follow the table renamed
// to the log). Analysts made them; an analyst must move them to the view.
func dependentViews(ctx context.Context, tx pgx.Tx, schema string, c *schemas.Contract) ([]string, error) {
	var views []string
	err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(DISTINCT v.oid::regclass::text ORDER BY v.oid::regclass::text), '{}')
		FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class
		WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = to_regclass($1)
		  AND v.oid <> d.refobjid AND v.oid IS DISTINCT FROM to_regclass($2)`,
		quote(schema, Table(c.Entity)), quote(schema, FieldUpdates(c.Entity))).Scan(&views)
	return views, err
}

// asOfSQL (re)creates <entity>_at(at): the rows as they were at a moment.
func asOfSQL(schema string, c *schemas.Contract) []string {
	fn := quote(schema, AsOf(c.Entity))
	var ret []string
	for _, col := range c.Fields() {
		ret = append(ret, quote(col.Name)+" "+col.WarehouseType())
	}
	return []string{
		"DROP FUNCTION IF EXISTS " + fn + "(timestamptz)",
		// The latest version of each key begun by then, unless a tombstone:
		// the one whose valid_from..valid_to holds the moment. Keys in
		// descending order, as the log's index read backwards gives them:
		// no sort.
		fmt.Sprintf(`CREATE FUNCTION %s(at timestamptz) RETURNS TABLE (%s) LANGUAGE sql STABLE AS $$
	SELECT %s FROM (SELECT DISTINCT ON (%s) * FROM %s l WHERE l.valid_from <= $1 ORDER BY %s, l.valid_from DESC) v WHERE NOT v.is_deleted
$$`, fn, strings.Join(ret, ", "), columnList(c, "v"), keyList(c, "l"), quote(schema, Log(c.Entity)), descending(c, "l")),
		fmt.Sprintf("COMMENT ON FUNCTION %s(timestamptz) IS %s", fn,
			literal("The rows of "+c.Entity+" as nightshift knew them at the given moment: SELECT * FROM "+schema+"."+AsOf(c.Entity)+"('2026-09-01').")),
	}
}

// descending orders by the primary key, last first.
func descending(c *schemas.Contract, alias string) string {
	out := make([]string, len(c.PrimaryKey))
	for i, k := range c.PrimaryKey {
		out[i] = qualified(alias, k) + " DESC"
	}
	return strings.Join(out, ", ")
}

// fieldUpdatesSQL (re)creates <entity>_field_updates: one row per column
// that changed from one version of a row to the next. A PII column shows
// that it changed, never its values. Each version is paired with the one
// before by a window over the key, so that a filter on the key reaches the
// log's index. The log's alias is one no contract column has: a column of
// the alias's name would be read instead of the whole row.
func fieldUpdatesSQL(schema string, c *schemas.Contract) []string {
	view := quote(schema, FieldUpdates(c.Entity))
	var values []string
	for _, col := range c.Fields() {
		if slices.Contains(c.PrimaryKey, col.Name) {
			continue
		}
		o, n := "(p.o)."+quote(col.Name), "(p.n)."+quote(col.Name)
		if col.PII != schemas.PIINone {
			values = append(values, fmt.Sprintf("(%s, NULL::text, NULL::text, true, %s IS DISTINCT FROM %s)", literal(col.Name), o, n))
			continue
		}
		values = append(values, fmt.Sprintf("(%s, %s::text, %s::text, false, %s IS DISTINCT FROM %s)", literal(col.Name), o, n, o, n))
	}
	return []string{
		fmt.Sprintf(`CREATE OR REPLACE VIEW %s AS
SELECT %s, u.column_name, u.old_value, u.new_value, u.is_pii, p.valid_from AS changed_at, p.valid_from_source AS changed_at_source, p.run_id
FROM (SELECT %s, nightshift_version.valid_from, nightshift_version.valid_from_source, nightshift_version.run_id, nightshift_version.is_deleted,
             nightshift_version AS n, lag(nightshift_version) OVER (PARTITION BY %s ORDER BY nightshift_version.valid_from) AS o
      FROM %s nightshift_version) p
CROSS JOIN LATERAL (VALUES %s) AS u (column_name, old_value, new_value, is_pii, changed)
WHERE NOT p.is_deleted AND (p.o).valid_from IS NOT NULL AND NOT (p.o).is_deleted AND u.changed`,
			view, keyList(c, "p"), keyList(c, "nightshift_version"), keyList(c, "nightshift_version"), quote(schema, Log(c.Entity)), strings.Join(values, ",\n  ")),
		fmt.Sprintf("COMMENT ON VIEW %s IS %s", view, literal("Each change of a column of "+c.Entity+
			" from one version of a row to the next, when it happened (changed_at, from changed_at_source) and the run that saw it. "+
			"A personal (PII) column shows that it changed, never its values.")),
	}
}
