package steps_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/pipeline"
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
