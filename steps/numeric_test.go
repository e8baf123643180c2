package steps_test

import (
	"context"
	"fmt"
	"math/big"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pqtest"
	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
)

// money holds decimals of every shape a contract can give them: money,
// a ratio with no digit before the point, more decimal places than
// BigQuery's NUMERIC keeps, and an unconstrained source column.
var money = schemas.Contract{
	Entity: "money", Description: "Decimals of every size.", Source: "src", Table: "money",
	PrimaryKey: []string{"id"}, MinSchemaVersion: "20240101000000", Mode: schemas.Full,
	Columns: []schemas.Column{
		{Name: "id", SourceType: "int8", Type: schemas.Int64, Description: "id"},
		{Name: "pence", SourceType: "numeric", Type: schemas.Numeric, Precision: 12, Scale: 2, Description: "numeric(12,2)"},
		{Name: "ratio", SourceType: "numeric", Type: schemas.Numeric, Precision: 4, Scale: 4, Nullable: true, Description: "numeric(4,4)"},
		{Name: "fine", SourceType: "numeric", Type: schemas.Numeric, Precision: 38, Scale: 10, Nullable: true, Description: "numeric(38,10)"},
		{Name: "amount", SourceType: "numeric", Type: schemas.Numeric, Precision: 38, Scale: 9, Nullable: true, Description: "numeric"},
	},
}

// moneyDecimals are the columns of money and the precision and scale they
// are declared with in the source (amount: unconstrained there, so the
// contract's), written out rather than read from the contract.
var moneyDecimals = map[string][2]int{"pence": {12, 2}, "ratio": {4, 4}, "fine": {38, 10}, "amount": {38, 9}}

const moneyDDL = `
CREATE TABLE money (id bigint PRIMARY KEY, pence numeric(12,2) NOT NULL, ratio numeric(4,4), fine numeric(38,10), amount numeric);
INSERT INTO money VALUES
  (1, 9999999999.99, 0.9999, 9999999999999999999999999999.9999999999, 99999999999999999999999999999.999999999),
  (2, -9999999999.99, -0.9999, -9999999999999999999999999999.9999999999, -99999999999999999999999999999.999999999),
  (3, 0.01, 0.0001, 0.0000000001, 0.000000001),
  (4, 0, 0, 0, 0),
  (5, -0.01, NULL, NULL, NULL),
  (6, 1041.67, 0.5, 1041.6666666667, 1041.666666667),
  (7, 2.50, 0.4, 1, 1041.6666666666666666667),
  (8, 1.10, 0.6, 2, 0.0000000001),
  (9, 7.00, 0.33, 3, -1.50000000000000),
  (10, 12.34, 0.1, 4, 1e29);
`

// sourceDecimals reads the decimal columns of money from the source as
// PostgreSQL prints them, by id; NULL is absent.
func sourceDecimals(t *testing.T, b *bundle) map[int64]map[string]string {
	t.Helper()
	rows, err := b.src.Query(context.Background(), "SELECT id, pence::text, ratio::text, fine::text, amount::text FROM money")
	require.NoError(t, err)
	out := map[int64]map[string]string{}
	var id int64
	var vals [4]*string
	_, err = pgx.ForEachRow(rows, []any{&id, &vals[0], &vals[1], &vals[2], &vals[3]}, func() error {
		out[id] = map[string]string{}
		for i, name := range []string{"pence", "ratio", "fine", "amount"} {
			if vals[i] != nil {
				out[id][name] = *vals[i]
			}
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

// exact parses a decimal exactly.
func exact(t *testing.T, s string) *big.Rat {
	t.Helper()
	r, ok := new(big.Rat).SetString(s)
	require.True(t, ok, s)
	return r
}

// Decimals reach the warehouse, the spool file and BigQuery exactly, each
// as a decimal of the source's precision and scale; a value the contract
// cannot hold is quarantined, never rounded.
func TestDecimalsArriveExactlyEverywhere(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, err := b.src.Exec(ctx, moneyDDL)
	require.NoError(t, err)
	fake := withBigQuery(t, b)
	rep := b.run(t, &money)
	require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)

	source := sourceDecimals(t, b)
	// Rows 7, 8 (amount has more than 9 decimal places) and 10 (30 digits
	// before the point) cannot be held; the others arrive.
	rows, err := b.wh.Query(ctx, `SELECT key || ' ' || column_name || ' ' || value || ' (' || reason || ')'
		FROM nightshift.quarantine WHERE run_id = $1 AND entity = 'money' ORDER BY key`, rep.Run.ID)
	require.NoError(t, err)
	quarantined, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{
		"10 amount 100000000000000000000000000000 (more than 38 digits for numeric(38,9))",
		"7 amount 1041.6666666666666666667 (more than 9 decimal places for numeric(38,9))",
		"8 amount 0.0000000001 (more than 9 decimal places for numeric(38,9))",
	}, quarantined)
	for _, id := range []int64{7, 8, 10} {
		delete(source, id)
	}

	// The warehouse: the same text, scale included, where the source has
	// the column's scale; the same number where the source is
	// unconstrained (1.5 is 1.500000000 in numeric(38,9)).
	rows, err = b.wh.Query(ctx, "SELECT id, pence::text, ratio::text, fine::text, amount::text FROM reporting.money")
	require.NoError(t, err)
	var id int64
	var vals [4]*string
	n := 0
	_, err = pgx.ForEachRow(rows, []any{&id, &vals[0], &vals[1], &vals[2], &vals[3]}, func() error {
		n++
		for i, name := range []string{"pence", "ratio", "fine", "amount"} {
			want, ok := source[id][name]
			if !ok {
				require.Nil(t, vals[i], "%d %s", id, name)
				continue
			}
			require.NotNil(t, vals[i], "%d %s", id, name)
			if name == "amount" {
				require.Zero(t, exact(t, want).Cmp(exact(t, *vals[i])), "%d amount: source %s, warehouse %s", id, want, *vals[i])
				continue
			}
			require.Equal(t, want, *vals[i], "%d %s", id, name)
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, len(source), n, "source rows = loaded + quarantined")

	// The spool file: DECIMAL(p,s) columns holding the source's values.
	var path string
	require.NoError(t, b.wh.QueryRow(ctx, "SELECT detail->'file'->>'path' FROM nightshift.step_runs WHERE run_id = $1 AND entity = 'money' AND step = 'extract' AND status = 'succeeded'", rep.Run.ID).Scan(&path))
	spooled := pqtest.Decimals(t, path, "id", "pence", "ratio", "fine", "amount")
	for name, col := range spooled {
		require.Equal(t, moneyDecimals[name], [2]int{col.Precision, col.Scale}, "%s is DECIMAL(p,s) of the source's precision and scale", name)
		require.Len(t, col.Values, len(source), name)
		for id, got := range col.Values {
			want, ok := source[id][name]
			require.Equal(t, ok, got != "", "%d %s: NULL in one only", id, name)
			if ok {
				require.Zero(t, exact(t, want).Cmp(exact(t, got)), "%d %s: source %s, spool %s", id, name, want, got)
			}
		}
	}

	// BigQuery: NUMERIC while it holds the column, BIGNUMERIC beyond, with
	// the precision and scale (a ratio gets the digit before the point
	// BigQuery requires); values exact.
	table, ok := fake.Table("proj", "ns", "money")
	require.True(t, ok)
	types := map[string]string{}
	for _, f := range table.Meta.Schema.Fields {
		types[f.Name] = f.Type
		if f.Precision != 0 {
			types[f.Name] += fmt.Sprintf("(%d,%d)", f.Precision, f.Scale)
		}
	}
	require.Equal(t, map[string]string{"id": "INTEGER", "pence": "NUMERIC(12,2)", "ratio": "NUMERIC(5,4)",
		"fine": "BIGNUMERIC(38,10)", "amount": "NUMERIC(38,9)"}, types)
	require.Len(t, table.Rows, len(source))
	for _, row := range table.Rows {
		id := row["id"].(int64)
		for name := range moneyDecimals {
			want, ok := source[id][name]
			if !ok {
				require.Nil(t, row[name], "%d %s", id, name)
				continue
			}
			got, isRat := row[name].(*big.Rat)
			require.True(t, isRat, "%d %s is %T", id, name, row[name])
			require.Zero(t, exact(t, want).Cmp(got), "%d %s: source %s, BigQuery %s", id, name, want, got.FloatString(12))
		}
	}
}
