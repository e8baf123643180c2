package steps_test

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
)

func TestValuesNoTargetCanHoldAreQuarantinedNotDropped(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, err := b.src.Exec(ctx, `INSERT INTO samples (id, born_on, seen_at) VALUES
		(101, 'infinity', NULL),
		(102, NULL, '-infinity'),
		(103, '10000-01-01', NULL),
		(104, '0044-03-15 BC', NULL),
		(105, NULL, '0001-01-01 00:00:00 BC'),
		(106, '0001-01-01', '9999-12-31 23:59:59.999999')`)
	require.NoError(t, err)
	_, err = b.src.Exec(ctx, `INSERT INTO samples (id, amount) VALUES
		(107, 'NaN'), (108, 'Infinity'), (109, 1.0000000001), (110, 1e29), (111, -99999999999999999999999999999.999999999)`)
	require.NoError(t, err)

	rep := b.run(t, &samples)
	require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)

	rows, err := b.wh.Query(ctx, `SELECT key || ' ' || column_name || ' ' || value || ' (' || reason || ')'
		FROM nightshift.quarantine WHERE run_id = $1 AND entity = 'samples' ORDER BY key`, rep.Run.ID)
	require.NoError(t, err)
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{
		"101 born_on infinity (infinite date)",
		"102 seen_at -infinity (infinite timestamp)",
		"103 born_on 10000-01-01 (date outside the years 1 to 9999)",
		"104 born_on -0043-03-15 (date outside the years 1 to 9999)",
		"105 seen_at 0000-01-01 00:00:00 UTC (timestamp outside the years 1 to 9999)",
		"107 amount NaN (numeric NaN for numeric(38,9))",
		"108 amount Infinity (numeric infinity for numeric(38,9))",
		"109 amount 1.0000000001 (more than 9 decimal places for numeric(38,9))",
		"110 amount 100000000000000000000000000000 (more than 38 digits for numeric(38,9))",
	}, got)

	var source, loaded int64
	require.NoError(t, b.src.QueryRow(ctx, "SELECT count(*) FROM samples").Scan(&source))
	require.NoError(t, b.wh.QueryRow(ctx, "SELECT count(*) FROM reporting.samples").Scan(&loaded))
	require.Equal(t, source, loaded+int64(len(got)), "source rows = loaded rows + quarantined rows")
	var edge string
	require.NoError(t, b.wh.QueryRow(ctx, "SELECT born_on::text || ' ' || (seen_at AT TIME ZONE 'UTC')::text FROM reporting.samples WHERE id = 106").Scan(&edge))
	require.Equal(t, "0001-01-01 9999-12-31 23:59:59.999999", edge, "the extremes of the range arrive exactly")
	var amount string
	require.NoError(t, b.wh.QueryRow(ctx, "SELECT amount::text FROM reporting.samples WHERE id = 111").Scan(&amount))
	require.Equal(t, "-99999999999999999999999999999.999999999", amount)

	// A retry of the same run does not count a row twice.
	var count int
	require.NoError(t, b.wh.QueryRow(ctx, "SELECT count(*) FROM nightshift.quarantine").Scan(&count))
	require.Equal(t, len(got), count)
}

// A NULL where the contract (and so the warehouse) says NOT NULL, and bytes
// that are not UTF-8 (a SQL_ASCII source), are quarantined with the row's
// key and the reason — a personal value by its digest only — and the entity
// loads the rest, instead of failing whole at the COPY.
func TestNullsAndBytesNoTargetTakesAreQuarantined(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	src := pgtest.Pool(t, pgtest.NewSQLASCIIDatabase(t))
	_, err := src.Exec(ctx, samplesDDL)
	require.NoError(t, err)
	_, err = src.Exec(ctx, `UPDATE samples SET full_name = E'caf\xe9 \xff' WHERE id = 1; UPDATE samples SET doc = '{"k": "ok"}' WHERE id = 2`)
	require.NoError(t, err)
	b.src = src
	b.deps.Sources = map[string]*pgxpool.Pool{"src": src}

	// A query entity: the preflight checks the columns it reads, not their
	// nullability (a table entity whose source allows NULL where the
	// contract does not is refused before any row; see the preflight test),
	// so a NULL reaches the row builder.
	strict := samples
	strict.Table, strict.Query = "", "SELECT * FROM samples"
	strict.Reads = map[string][]string{"samples": {"id", "code", "full_name"}}
	strict.Columns = slices.Clone(samples.Columns)
	for i := range strict.Columns {
		switch strict.Columns[i].Name {
		case "code":
			strict.Columns[i].Nullable = false
		case "name":
			strict.Columns[i].PII = schemas.PIIPersonal
		}
	}
	rep := b.run(t, &strict)
	require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)

	rows, err := b.wh.Query(ctx, `SELECT key || ' ' || column_name || ' ' || value || ' (' || reason || ')'
		FROM nightshift.quarantine WHERE run_id = $1 ORDER BY key`, rep.Run.ID)
	require.NoError(t, err)
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Len(t, got, 2, "%v", got)
	require.Equal(t, "-9223372036854775808 code NULL (NULL in a column the contract and the warehouse declare NOT NULL)", got[0])
	require.Regexp(t, `^1 name sha256:[0-9a-f]{16} \(bytes that are not valid UTF-8\)$`, got[1], "a personal value is kept only as its digest")

	var source, loaded int64
	require.NoError(t, src.QueryRow(ctx, "SELECT count(*) FROM samples").Scan(&source))
	require.NoError(t, b.wh.QueryRow(ctx, "SELECT count(*) FROM reporting.samples").Scan(&loaded))
	require.Equal(t, source, loaded+2, "source rows = loaded rows + quarantined rows")
}
