package versions

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// meta are the columns a versions table adds to the contract's, with what
// an analyst is told of each.
var meta = []struct{ name, typ, comment string }{
	{"valid_from", "timestamptz NOT NULL", "When this version began: the time valid_from_source names."},
	{"valid_to", "timestamptz", "When the next version began (the row changed, or was gone from the source); NULL for the current version."},
	{"is_deleted", "boolean NOT NULL", "True for a tombstone: the row was gone from the source from valid_from; it carries the values of the version before."},
	{"run_id", "bigint NOT NULL", "The nightshift run that opened this version (nightshift.runs.id)."},
	{"closed_by_run_id", "bigint", "The run that closed it."},
	{"valid_from_source", "text NOT NULL", "Where valid_from comes from: updated_at (the row's own, set by the service on every save) or snapshot (the run's snapshot of the source: the change happened between the previous run's snapshot and this one)."},
	{"row_digest", "bigint", "nightshift's digest of the row's values, by which a run tells a changed row from an unchanged one."},
}

func columnComment(col schemas.Column) string {
	if col.PII != schemas.PIINone {
		return col.Description + " [PII: " + col.PII.String() + "]"
	}
	return col.Description
}

// createTableSQL creates the versions table: the contract's columns, all
// nullable (a column the contract gained later is NULL in older
// versions), and meta.
func createTableSQL(schema string, c *schemas.Contract) []string {
	versions := quote(schema, Table(c.Entity))
	var cols []string
	for _, col := range c.Fields() {
		cols = append(cols, quote(col.Name)+" "+col.WarehouseType())
	}
	for _, m := range meta {
		cols = append(cols, m.name+" "+m.typ)
	}
	cols = append(cols, "CHECK (valid_to IS NULL OR valid_to >= valid_from)")
	stmts := []string{
		fmt.Sprintf("CREATE TABLE %s (%s) WITH (fillfactor = %d)", versions, strings.Join(cols, ", "), fillFactor),
		fmt.Sprintf("COMMENT ON TABLE %s IS %s", versions, literal("Every version of every row of "+c.Entity+
			" that nightshift runs observed, valid from valid_from until valid_to (NULL: current). As of a moment: "+
			AsOf(c.Entity)+"(timestamptz). Column by column: "+FieldUpdates(c.Entity)+".")),
	}
	for _, col := range c.Fields() {
		stmts = append(stmts, fmt.Sprintf("COMMENT ON COLUMN %s.%s IS %s", versions, quote(col.Name), literal(columnComment(col))))
	}
	for _, m := range meta {
		stmts = append(stmts, fmt.Sprintf("COMMENT ON COLUMN %s.%s IS %s", versions, m.name, literal(m.comment)))
	}
	return stmts
}

// fillFactor leaves a tenth of each page of versions free, so that closing
// a version (setting its valid_to) writes the new tuple into the same
// page: a heap-only update, which touches no index.
const fillFactor = 90

// createIndexes indexes a versions table: each key's versions in order,
// by which Apply finds the current version of a few changed keys and the
// field updates pair versions. No index may cover valid_to or
// closed_by_run_id: closing a version would then have to write into it
// (a partial index on the current versions did: a third of the cost of
// writing a few changes among many rows).
func createIndexes(ctx context.Context, tx pgx.Tx, schema string, c *schemas.Contract) error {
	versions := quote(schema, Table(c.Entity))
	keys := keyList(c, "")
	_, err := tx.Exec(ctx, strings.Join([]string{
		fmt.Sprintf("CREATE INDEX %s ON %s (%s, valid_from)", quote(Table(c.Entity)+"_key"), versions, keys),
		"ANALYZE " + versions,
	}, ";\n"))
	return err
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
		fmt.Sprintf(`CREATE FUNCTION %s(at timestamptz) RETURNS TABLE (%s) LANGUAGE sql STABLE AS $$
	SELECT %s FROM %s v WHERE v.valid_from <= $1 AND (v.valid_to IS NULL OR v.valid_to > $1) AND NOT v.is_deleted
$$`, fn, strings.Join(ret, ", "), columnList(c, "v"), quote(schema, Table(c.Entity))),
		fmt.Sprintf("COMMENT ON FUNCTION %s(timestamptz) IS %s", fn,
			literal("The rows of "+c.Entity+" as nightshift knew them at the given moment: SELECT * FROM "+schema+"."+AsOf(c.Entity)+"('2026-09-01').")),
	}
}

// fieldUpdatesSQL (re)creates <entity>_field_updates: one row per column
// that changed from one version of a row to the next. A PII column shows
// that it changed, never its values.
func fieldUpdatesSQL(schema string, c *schemas.Contract) []string {
	view := quote(schema, FieldUpdates(c.Entity))
	var values []string
	for _, col := range c.Fields() {
		if slices.Contains(c.PrimaryKey, col.Name) {
			continue
		}
		o, n := "o."+quote(col.Name), "n."+quote(col.Name)
		if col.PII != schemas.PIINone {
			values = append(values, fmt.Sprintf("(%s, NULL::text, NULL::text, true, %s IS DISTINCT FROM %s)", literal(col.Name), o, n))
			continue
		}
		values = append(values, fmt.Sprintf("(%s, %s::text, %s::text, false, %s IS DISTINCT FROM %s)", literal(col.Name), o, n, o, n))
	}
	return []string{
		"DROP VIEW IF EXISTS " + view,
		fmt.Sprintf(`CREATE VIEW %s AS
SELECT %s, u.column_name, u.old_value, u.new_value, u.is_pii, n.valid_from AS changed_at, n.valid_from_source AS changed_at_source, n.run_id
FROM %s n
JOIN %s o ON %s AND o.valid_to = n.valid_from AND NOT o.is_deleted
CROSS JOIN LATERAL (VALUES %s) AS u (column_name, old_value, new_value, is_pii, changed)
WHERE NOT n.is_deleted AND u.changed`,
			view, keyList(c, "n"), quote(schema, Table(c.Entity)), quote(schema, Table(c.Entity)), keyJoin(c, "o", "n"), strings.Join(values, ",\n  ")),
		fmt.Sprintf("COMMENT ON VIEW %s IS %s", view, literal("Each change of a column of "+c.Entity+
			" from one version of a row to the next, when it happened (changed_at, from changed_at_source) and the run that saw it. "+
			"A personal (PII) column shows that it changed, never its values.")),
	}
}
