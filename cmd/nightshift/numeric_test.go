package main

import (
	"context"
	"math/big"
	"slices"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/bqtest"
	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/internal/pqtest"
	"github.com/dfe-nightshift/nightshift/internal/seed"
	"github.com/dfe-nightshift/nightshift/schemas"
)

// rectMoney are the tables of Register early career teachers that hold
// money and ratios, with their decimal columns: written out here, not read
// from the contracts, so that the test holds the contracts to the source.
var rectMoney = map[string][]string{
	"contracts":                                {"vat_rate"},
	"contract_banded_fee_structures":           {"setup_fee", "monthly_service_fee", "uplift_fee_per_declaration", "uplift_target_ratio"},
	"contract_banded_fee_structure_band_terms": {"fee_per_declaration", "output_fee_ratio", "service_fee_ratio"},
	"contract_flat_rate_fee_structures":        {"fee_per_declaration"},
	"statement_adjustments":                    {"amount"},
}

// unconstrained is the precision and scale nightshift gives a source
// numeric without any: exactly what BigQuery's NUMERIC holds.
var unconstrained = [2]int{38, 9}

// decimalsOf reads table's decimal columns on conn by id, as PostgreSQL
// prints them (NULL absent).
func decimalsOf(t *testing.T, conn *pgx.Conn, table string, columns []string) map[int64]map[string]string {
	t.Helper()
	list := ""
	for _, c := range columns {
		list += ", " + pgx.Identifier{c}.Sanitize() + "::text"
	}
	rows, err := conn.Query(context.Background(), "SELECT id"+list+" FROM "+table)
	require.NoError(t, err)
	defer rows.Close()
	out := map[int64]map[string]string{}
	for rows.Next() {
		vals := make([]any, len(columns)+1)
		var id int64
		texts := make([]*string, len(columns))
		vals[0] = &id
		for i := range columns {
			vals[i+1] = &texts[i]
		}
		require.NoError(t, rows.Scan(vals...))
		out[id] = map[string]string{}
		for i, c := range columns {
			if texts[i] != nil {
				out[id][c] = *texts[i]
			}
		}
	}
	require.NoError(t, rows.Err())
	return out
}

// declared reads the precision and scale of table's numeric columns from
// the catalog of conn: {0, 0} for an unconstrained numeric.
func declared(t *testing.T, conn *pgx.Conn, schema, table string) map[string][2]int {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT column_name::text, coalesce(numeric_precision, 0)::int, coalesce(numeric_scale, 0)::int
		FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND data_type = 'numeric'`, schema, table)
	require.NoError(t, err)
	out := map[string][2]int{}
	var name string
	var p, s int
	_, err = pgx.ForEachRow(rows, []any{&name, &p, &s}, func() error { out[name] = [2]int{p, s}; return nil })
	require.NoError(t, err)
	return out
}

func rat(t *testing.T, s string) *big.Rat {
	t.Helper()
	r, ok := new(big.Rat).SetString(s)
	require.True(t, ok, s)
	return r
}

// requireSameDecimal compares a target's value with the source's: the
// same text, scale included, when the source column has a scale (the
// target keeps it); the same number when it has none (1.5 arrives as
// 1.500000000).
func requireSameDecimal(t *testing.T, want, got string, fixed bool, msgAndArgs ...any) {
	t.Helper()
	if fixed {
		require.Equal(t, want, got, msgAndArgs...)
		return
	}
	require.Zero(t, rat(t, want).Cmp(rat(t, got)), append([]any{"source %s, target %s: "}, append([]any{want, got}, msgAndArgs...)...)...)
}

// RECT's money arrives exactly in the warehouse, the spool file and
// BigQuery, at the source's precision and scale; the adjustments whose
// amounts no target can hold exactly are quarantined, named, and nothing
// else is lost.
func TestRECTMoneyArrivesExactlyInEveryTarget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newFullProject(t, 0.05)
	fake := bqtest.New(t)
	config := withBigQueryConfig(t, p.project, fake, "hash")
	args := []string{"--config", config, "run", "--entity", "statements"}
	for table := range rectMoney {
		args = append(args, "--entity", table)
	}
	r := cli(t, []string{"NIGHTSHIFT_PII_HMAC_KEY=" + piiKey}, args...)
	require.Equal(t, exitOK, r.code, r.stderr)

	src, wh := pgtest.Connect(t, p.rect), pgtest.Connect(t, p.wh)
	var runID int64
	require.NoError(t, wh.QueryRow(ctx, "SELECT max(id) FROM nightshift.runs").Scan(&runID))

	// The over-precise adjustments, as the source holds them, are what the
	// run quarantined, with the reason; the generator planted them.
	rows, err := src.Query(ctx, "SELECT id::text, amount::text FROM statement_adjustments WHERE amount <> round(amount, 9) ORDER BY id")
	require.NoError(t, err)
	var overPrecise [][2]string
	for rows.Next() {
		var kv [2]string
		require.NoError(t, rows.Scan(&kv[0], &kv[1]))
		overPrecise = append(overPrecise, kv)
	}
	require.NoError(t, rows.Err())
	require.Len(t, overPrecise, int(p.planted[seed.PlantedOverPreciseAdjustments]))
	require.NotEmpty(t, overPrecise)
	rows, err = wh.Query(ctx, `SELECT entity, key, column_name, value, reason FROM nightshift.quarantine WHERE run_id = $1 ORDER BY entity, key::bigint`, runID)
	require.NoError(t, err)
	var set [][5]string
	for rows.Next() {
		var q [5]string
		require.NoError(t, rows.Scan(&q[0], &q[1], &q[2], &q[3], &q[4]))
		set = append(set, q)
	}
	require.NoError(t, rows.Err())
	require.Len(t, set, len(overPrecise), "nothing else is quarantined: %v", set)
	quarantinedIDs := map[int64]bool{}
	for i, q := range set {
		require.Equal(t, [4]string{"statement_adjustments", overPrecise[i][0], "amount", overPrecise[i][1]}, [4]string{q[0], q[1], q[2], q[3]})
		require.Equal(t, "more than 9 decimal places for numeric(38,9)", q[4])
		id, err := strconv.ParseInt(q[1], 10, 64)
		require.NoError(t, err)
		quarantinedIDs[id] = true
	}

	for table, columns := range rectMoney {
		// The source's precision and scale, from its own catalog.
		want := declared(t, src, "public", table)
		require.Len(t, want, len(columns), "%s: the numeric columns of the source", table)
		for _, c := range columns {
			if want[c] == [2]int{} {
				want[c] = unconstrained
			}
		}
		fixed := func(column string) bool { return declared(t, src, "public", table)[column] != [2]int{} }
		source := decimalsOf(t, src, "public."+table, columns)
		require.NotEmpty(t, source, table)
		for id := range source {
			if table == "statement_adjustments" && quarantinedIDs[id] {
				delete(source, id)
			}
		}
		nulls := 0
		for _, vals := range source {
			nulls += len(columns) - len(vals)
		}

		// The warehouse: numeric(p,s) columns holding the same values, and
		// every row not quarantined.
		require.Equal(t, want, declared(t, wh, "reporting", table), "%s: warehouse column types", table)
		loaded := decimalsOf(t, wh, "reporting."+pgx.Identifier{table}.Sanitize(), columns)
		require.Len(t, loaded, len(source), "%s: source rows = loaded + quarantined", table)
		for id, vals := range source {
			got, ok := loaded[id]
			require.True(t, ok, "%s %d is missing", table, id)
			require.Len(t, got, len(vals), "%s %d: NULLs", table, id)
			for c, v := range vals {
				requireSameDecimal(t, v, got[c], fixed(c), "%s %d %s", table, id, c)
			}
		}

		// And as the run and make demo reconcile it: the source less its
		// quarantined rows checksums as the table does.
		c, err := schemas.Lookup(table)
		require.NoError(t, err)
		require.Equal(t, sourceChecksum(t, p.rect, p.wh, c), checksum(t, p.wh, c.ChecksumSQL("reporting."+pgx.Identifier{table}.Sanitize())), table)

		// The spool file: DECIMAL(p,s) columns holding the same values.
		var path string
		require.NoError(t, wh.QueryRow(ctx, `SELECT detail->'file'->>'path' FROM nightshift.step_runs
			WHERE run_id = $1 AND entity = $2 AND step = 'extract' AND status = 'succeeded'`, runID, table).Scan(&path))
		for c, col := range pqtest.Decimals(t, path, "id", columns...) {
			require.Equal(t, want[c], [2]int{col.Precision, col.Scale}, "%s.%s in the spool file", table, c)
			require.Len(t, col.Values, len(source), "%s.%s in the spool file", table, c)
			for id, got := range col.Values {
				v, ok := source[id][c]
				require.Equal(t, ok, got != "", "%s %d %s: NULL in one only", table, id, c)
				if ok {
					require.Zero(t, rat(t, v).Cmp(rat(t, got)), "%s %d %s: source %s, spool %s", table, id, c, v, got)
				}
			}
		}

		// BigQuery: NUMERIC of the same precision and scale (every one of
		// these fits NUMERIC: at most 29 digits before the point and 9
		// after), the same values.
		bqTable, ok := fake.Table("analytics", "teacher_training", table)
		require.True(t, ok, table)
		for _, f := range bqTable.Meta.Schema.Fields {
			if !slices.Contains(columns, f.Name) {
				continue
			}
			require.Equal(t, "NUMERIC", f.Type, "%s.%s", table, f.Name)
			require.Equal(t, want[f.Name], [2]int{int(f.Precision), int(f.Scale)}, "%s.%s in BigQuery", table, f.Name)
		}
		require.Len(t, bqTable.Rows, len(source), table)
		bqNulls := 0
		for _, row := range bqTable.Rows {
			id := row["id"].(int64)
			for _, c := range columns {
				v, ok := source[id][c]
				if !ok {
					require.Nil(t, row[c], "%s %d %s", table, id, c)
					bqNulls++
					continue
				}
				got, isRat := row[c].(*big.Rat)
				require.True(t, isRat, "%s %d %s is %T", table, id, c, row[c])
				require.Zero(t, rat(t, v).Cmp(got), "%s %d %s: source %s, BigQuery %s", table, id, c, v, got.FloatString(9))
			}
		}
		require.Equal(t, nulls, bqNulls, table)
	}
}
