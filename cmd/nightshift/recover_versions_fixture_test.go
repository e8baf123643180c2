package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/schemas"
)

// versionsFixture is a TEST FIXTURE, not nightshift's versioning: until
// the per-entity versions (issue 14, item 1) land on main, it brings
// reporting.<entity>_versions and reporting.<entity>_at up to date with
// reporting.<entity> after a run, in the shape of the lead's spec
// (/tmp/notes/versions-spec.md): every contract column, nullable, then
// valid_from, valid_to (NULL: current), is_deleted (a tombstone carries
// the last values), run_id, closed_by_run_id, valid_from_source and
// row_digest; one current version per key. A version's time is the run's
// publication. Once the real versions land, the recover tests drop it.
func versionsFixture(t *testing.T, wh string, c *schemas.Contract, runID int64) {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.Pool(t, wh)
	q := func(parts ...string) string { return pgx.Identifier(parts).Sanitize() }
	versions, current, fn := q("reporting", c.Entity+"_versions"), q("reporting", c.Entity), q("reporting", c.Entity+"_at")

	fields := c.Fields()
	cols, defs, row := make([]string, len(fields)), make([]string, len(fields)), make([]string, len(fields))
	for i, f := range fields {
		cols[i] = q(f.Name)
		defs[i] = q(f.Name) + " " + f.WarehouseType()
		row[i] = "x." + q(f.Name)
	}
	keys, sameKey := make([]string, len(c.PrimaryKey)), make([]string, len(c.PrimaryKey))
	for i, k := range c.PrimaryKey {
		keys[i] = q(k)
		sameKey[i] = "t." + q(k) + " = v." + q(k)
	}
	list := strings.Join(cols, ", ")
	vRow := strings.ReplaceAll(strings.Join(row, ", "), "x.", "v.")
	tRow := strings.ReplaceAll(strings.Join(row, ", "), "x.", "t.")
	key := strings.Join(sameKey, " AND ")

	var at string
	require.NoError(t, pool.QueryRow(ctx, "SELECT published_at::text FROM nightshift.runs WHERE id = $1 AND published_at IS NOT NULL", runID).Scan(&at), "run %d published", runID)
	for _, sql := range []string{
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (%s, valid_from timestamptz NOT NULL, valid_to timestamptz,
			is_deleted boolean NOT NULL, run_id bigint NOT NULL, closed_by_run_id bigint,
			valid_from_source text NOT NULL, row_digest bigint)`, versions, strings.Join(defs, ", ")),
		fmt.Sprintf("CREATE UNIQUE INDEX IF NOT EXISTS %s ON %s (%s) WHERE valid_to IS NULL", q(c.Entity+"_versions_current"), versions, strings.Join(keys, ", ")),
		fmt.Sprintf(`CREATE OR REPLACE FUNCTION %s(at timestamptz) RETURNS TABLE (%s) LANGUAGE sql STABLE AS $f$
			SELECT %s FROM %s WHERE valid_from <= at AND (valid_to IS NULL OR valid_to > at) AND NOT is_deleted $f$`,
			fn, strings.Join(defs, ", "), list, versions),
		// Versions whose row changed or went: closed; those that went get a
		// tombstone with their last values.
		fmt.Sprintf(`WITH closed AS (
			UPDATE %[1]s v SET valid_to = $1, closed_by_run_id = $2
			WHERE v.valid_to IS NULL AND NOT v.is_deleted
			  AND NOT EXISTS (SELECT 1 FROM %[2]s t WHERE ROW(%[3]s) IS NOT DISTINCT FROM ROW(%[4]s))
			RETURNING v.*)
			INSERT INTO %[1]s (%[5]s, valid_from, is_deleted, run_id, valid_from_source)
			SELECT %[4]s, $1, true, $2, 'snapshot' FROM closed v WHERE NOT EXISTS (SELECT 1 FROM %[2]s t WHERE %[6]s)`,
			versions, current, tRow, vRow, list, key),
		// Tombstones of keys that came back: closed.
		fmt.Sprintf(`UPDATE %s v SET valid_to = $1, closed_by_run_id = $2 WHERE v.valid_to IS NULL AND v.is_deleted
			AND EXISTS (SELECT 1 FROM %s t WHERE %s)`, versions, current, key),
		// New and changed rows: a new current version.
		fmt.Sprintf(`INSERT INTO %[1]s (%[2]s, valid_from, is_deleted, run_id, valid_from_source)
			SELECT %[3]s, $1, false, $2, 'snapshot' FROM %[4]s t
			WHERE NOT EXISTS (SELECT 1 FROM %[1]s v WHERE v.valid_to IS NULL AND %[5]s)`,
			versions, list, tRow, current, key),
	} {
		args := []any{}
		if strings.Contains(sql, "$1") {
			args = []any{at, runID}
		}
		_, err := pool.Exec(ctx, sql, args...)
		require.NoError(t, err, sql)
	}
}
