package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// The tests that prove a load correct compare values, not two checksums
// made by the same code. requireSameAsSource knows nothing of the
// contracts: it reads the column names and types of the source table and
// of the warehouse table from the catalogs, copies the source rows into a
// temporary table of the warehouse database with PostgreSQL's own COPY, and
// compares the columns both tables have with EXCEPT ALL, both ways, so a
// missing, extra, duplicated or altered row or NULL fails.

// sameColumn is a column both tables have, with the type its source values
// are compared in.
type sameColumn struct{ name, typ string }

// requireSameAsSource compares public.<table> of the source with
// reporting.<entity> of the warehouse. Source rows whose id the warehouse's
// current run quarantined are left out of the comparison and returned, so
// that the caller can check they are the ones it planted.
func requireSameAsSource(t *testing.T, sourceURL, table, whURL, entity string) (quarantined []string) {
	t.Helper()
	src, wh := pgxConnUTC(t, sourceURL), pgxConnUTC(t, whURL)
	quarantined = currentQuarantine(t, wh, entity)

	whTypes := tableColumns(t, wh, "reporting", entity)
	var cols []sameColumn
	for name, typ := range tableColumns(t, src, "public", table) {
		if _, ok := whTypes[name]; ok {
			cols = append(cols, sameColumn{name, typ})
		}
	}
	slices.SortFunc(cols, func(a, b sameColumn) int { return strings.Compare(a.name, b.name) })
	require.NotEmpty(t, cols, "%s and reporting.%s share no column", table, entity)
	require.Contains(t, whTypes, "id", "reporting.%s", entity)

	where := ""
	if len(quarantined) > 0 {
		where = " WHERE id::text NOT IN (" + quoteLiterals(quarantined) + ")"
	}
	compareRows(t, src, wh, func(list string) string {
		return "SELECT " + list + " FROM public." + pgx.Identifier{table}.Sanitize() + where
	},
		cols, "reporting."+pgx.Identifier{entity}.Sanitize())
	return quarantined
}

// requireStatusesAsSource compares a statuses entity with the statuses an
// independent query of the source finds, leaving out those the warehouse
// withheld (whose keys it returns).
func requireStatusesAsSource(t *testing.T, sourceURL, query, whURL, entity string) (withheld []string) {
	t.Helper()
	src, wh := pgxConnUTC(t, sourceURL), pgxConnUTC(t, whURL)
	withheld = currentQuarantine(t, wh, entity)
	where := ""
	if len(withheld) > 0 {
		where = " WHERE entity_type || '/' || entity_id NOT IN (" + quoteLiterals(withheld) + ")"
	}
	compareRows(t, src, wh, func(list string) string { return "SELECT " + list + " FROM (" + query + ") s" + where },
		[]sameColumn{{"entity_id", "bigint"}, {"entity_type", "text"}, {"status", "text"}}, "reporting."+pgx.Identifier{entity}.Sanitize())
	return withheld
}

// compareRows copies what sourceSelect(column list) returns on the source
// into a temporary table of the warehouse database and compares it with
// target, both ways, with EXCEPT ALL.
func compareRows(t *testing.T, src, wh *pgx.Conn, sourceSelect func(list string) string, cols []sameColumn, target string) {
	t.Helper()
	ctx := context.Background()
	names, defs, casts := make([]string, len(cols)), make([]string, len(cols)), make([]string, len(cols))
	for i, c := range cols {
		q := pgx.Identifier{c.name}.Sanitize()
		names[i], defs[i], casts[i] = q, q+" "+c.typ, q+"::"+c.typ
	}
	list := strings.Join(names, ", ")
	_, err := wh.Exec(ctx, "CREATE TEMP TABLE source_rows ("+strings.Join(defs, ", ")+")")
	require.NoError(t, err)

	var buf bytes.Buffer
	_, err = src.PgConn().CopyTo(ctx, &buf, "COPY ("+sourceSelect(list)+") TO STDOUT")
	require.NoError(t, err, "copy out for %s", target)
	tag, err := wh.PgConn().CopyFrom(ctx, &buf, "COPY source_rows ("+list+") FROM STDIN")
	require.NoError(t, err, "copy into the warehouse database for %s", target)
	require.Positive(t, tag.RowsAffected(), "no source rows to compare with %s", target)

	for _, way := range []struct{ what, left, right string }{
		{"source rows missing or different in " + target, "SELECT " + list + " FROM source_rows", "SELECT " + strings.Join(casts, ", ") + " FROM " + target},
		{target + " rows not in the source", "SELECT " + strings.Join(casts, ", ") + " FROM " + target, "SELECT " + list + " FROM source_rows"},
	} {
		rows, err := wh.Query(ctx, "SELECT to_jsonb(d)::text FROM ("+way.left+" EXCEPT ALL "+way.right+") d LIMIT 5")
		require.NoError(t, err, way.what)
		diff, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		require.Empty(t, diff, "%s (%d columns compared): first rows:\n%s", way.what, len(cols), strings.Join(diff, "\n"))
	}
	_, err = wh.Exec(ctx, "DROP TABLE source_rows")
	require.NoError(t, err)
}

// currentQuarantine is the keys the run whose rows the entity's warehouse
// table holds set aside.
func currentQuarantine(t *testing.T, wh *pgx.Conn, entity string) []string {
	t.Helper()
	rows, err := wh.Query(context.Background(), `SELECT q.key FROM nightshift.quarantine q
		JOIN nightshift.table_versions v ON v.run_id = q.run_id AND v.entity = q.entity
		WHERE v.target = 'warehouse' AND v.slot = 'current' AND q.entity = $1 ORDER BY q.key`, entity)
	require.NoError(t, err)
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return keys
}

// tableColumns maps each column of schema.table to the type its values are
// compared in: the column's own type without its modifier (a cast to
// varchar(n) or numeric(p,s) would truncate or round a difference away),
// except that enums and citext (types the other database may not have)
// compare as text and json as jsonb (json has no equality). Generated columns and text search vectors are left out.
func tableColumns(t *testing.T, conn *pgx.Conn, schema, table string) map[string]string {
	t.Helper()
	rows, err := conn.Query(context.Background(), `
		SELECT a.attname,
		       CASE WHEN ty.typtype = 'e' OR ty.typname = 'citext' THEN 'text'
		            WHEN ty.typname = 'json' THEN 'jsonb'
		            ELSE format_type(a.atttypid, NULL) END
		FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
		WHERE a.attrelid = format('%I.%I', $1::text, $2::text)::regclass AND a.attnum > 0 AND NOT a.attisdropped
		  AND a.attgenerated = '' AND ty.typname <> 'tsvector'`, schema, table)
	require.NoError(t, err)
	out := map[string]string{}
	var name, typ string
	_, err = pgx.ForEachRow(rows, []any{&name, &typ}, func() error { out[name] = typ; return nil })
	require.NoError(t, err, "columns of %s.%s", schema, table)
	return out
}

// pgxConnUTC connects with the session time zone UTC, so that timestamps
// with and without a zone convert into each other as the pipeline does.
func pgxConnUTC(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	_, err = conn.Exec(ctx, "SET TimeZone = 'UTC'")
	require.NoError(t, err)
	return conn
}

func quoteLiterals(values []string) string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return strings.Join(out, ", ")
}
