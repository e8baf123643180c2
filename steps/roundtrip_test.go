package steps_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	nssql "github.com/dfe-nightshift/nightshift/sql"
	"github.com/dfe-nightshift/nightshift/steps"
	"github.com/dfe-nightshift/nightshift/steps/reconcile"
)

// samples covers every logical type, with the values that tend to break
// pipelines: NULLs, extremes, special floats, microseconds, far dates,
// every kind of Unicode, large text and nested JSON.
var samples = schemas.Contract{
	Entity: "samples", Description: "Every logical type.", Source: "src", Table: "samples",
	PrimaryKey: []string{"id"}, MinSchemaVersion: "20240101000000", Mode: schemas.Full,
	Columns: []schemas.Column{
		{Name: "id", SourceType: "int8", Type: schemas.Int64, Description: "id"},
		{Name: "flag", SourceType: "bool", Type: schemas.Bool, Nullable: true, Description: "bool"},
		{Name: "small", SourceType: "int2", Type: schemas.Int16, Nullable: true, Description: "int2"},
		{Name: "code", SourceType: "int4", Type: schemas.Int32, Nullable: true, LowCardinality: true, Description: "int4",
			Labels: map[int]string{0: "zero", 1: "one", 7: "seven"}},
		{Name: "ratio", SourceType: "float8", Type: schemas.Float64, Nullable: true, Description: "float8"},
		{Name: "name", Source: "full_name", SourceType: "citext", Type: schemas.Text, Nullable: true, Description: "citext renamed"},
		{Name: "born_on", SourceType: "date", Type: schemas.Date, Nullable: true, Description: "date"},
		{Name: "seen_at", SourceType: "timestamp", Type: schemas.Timestamp, Nullable: true, Description: "timestamp"},
		{Name: "api_id", SourceType: "uuid", Type: schemas.UUID, Nullable: true, Description: "uuid"},
		{Name: "doc", SourceType: "jsonb", Type: schemas.JSON, Nullable: true, Description: "jsonb"},
		{Name: "amount", SourceType: "numeric", Type: schemas.Numeric, Precision: 38, Scale: 9, Nullable: true, Description: "numeric(38,9)"},
	},
}

const samplesDDL = `
CREATE EXTENSION IF NOT EXISTS citext;
CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
INSERT INTO schema_migrations VALUES ('20240101000000'), ('20250102030405');
CREATE TABLE samples (
  id bigint PRIMARY KEY, flag boolean, small smallint, code integer, ratio double precision,
  full_name citext, born_on date, seen_at timestamp(6), api_id uuid, doc jsonb, amount numeric);
INSERT INTO samples (id, flag, small, code, ratio, full_name, born_on, seen_at, api_id, doc) VALUES
  (1, true, 32767, 2147483647, 1.5, 'Zoë Ó''Brien', '2000-01-01', '2024-03-31 01:00:00.123456', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2, {"b": null}]}'),
  (2, false, -32768, -2147483648, 'NaN', '王小明', '0001-01-01', '1900-01-01 00:00:00', '00000000-0000-0000-0000-000000000000', '[]'),
  (-9223372036854775808, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (9223372036854775807, true, 0, 0, 'Infinity', '', '9999-12-31', '2099-12-31 23:59:59.999999', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '"just a string"'),
  (5, false, 1, 1, '-Infinity', 'tab	newline
quote" backslash\ emoji 🎓 combining é RTL שלום', '1582-10-15', '1970-01-01 00:00:00.000001', NULL, '{"nested": {"deep": {"deeper": "ünïcödé"}}, "n": 1.50}'),
  (6, NULL, NULL, 7, -0.0, repeat('x', 100000), '2024-02-29', '2000-01-01 00:00:00', NULL, '{}');
UPDATE samples SET amount = CASE id
  WHEN 1 THEN 1.50
  WHEN 2 THEN -12345678901234567890123456789.123456789
  WHEN 5 THEN 0.000000001
  WHEN 6 THEN 99999999999999999999999999999.999999999
  WHEN 9223372036854775807 THEN 0 END;
`

type bundle struct {
	src, wh *pgxpool.Pool
	deps    steps.Deps
	runner  *pipeline.Runner
}

func setup(t *testing.T) *bundle {
	t.Helper()
	srcURL := pgtest.NewDatabase(t)
	src := pgtest.Pool(t, srcURL)
	_, err := src.Exec(context.Background(), samplesDDL)
	require.NoError(t, err)
	wh := pgtest.Pool(t, pgtest.NewWarehouse(t))
	return &bundle{
		src: src, wh: wh,
		deps: steps.Deps{
			Sources: map[string]*pgxpool.Pool{"src": src}, Warehouse: wh, Schema: "reporting",
			SpoolDir: t.TempDir(), BatchSize: 4, // several batches, and a partial last one
			Views: []nssql.View{{Name: "sample_codes", DependsOn: []string{"samples"},
				SQL: "CREATE VIEW sample_codes AS SELECT id, code, code_name FROM samples"}},
		},
		runner: &pipeline.Runner{Ledger: pipeline.NewLedger(wh), Parallelism: 2, Retry: pipeline.RetryPolicy{MaxAttempts: 1},
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))},
	}
}

func (b *bundle) run(t *testing.T, contracts ...*schemas.Contract) pipeline.Report {
	t.Helper()
	ctx := context.Background()
	run := &pipeline.Run{Env: "test", Trigger: pipeline.TriggerManual, Mode: "full", Entities: []string{"samples"}, StartedBy: "test"}
	rep, err := b.runner.Do(ctx, run, time.Minute, func(ctx context.Context, run *pipeline.Run) (*pipeline.Plan, error) {
		return steps.NewPlan(ctx, run.ID, b.deps, contracts)
	})
	require.NoError(t, err)
	return rep
}

func checksum(t *testing.T, q reconcile.Querier, sql string) reconcile.Checksum {
	t.Helper()
	c, err := reconcile.Compute(context.Background(), q, sql)
	require.NoError(t, err)
	return c
}

func TestRoundTripEveryType(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rep := b.run(t, &samples)
	require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)
	require.Equal(t, "20250102030405", rep.Run.SourceVersions["src"])

	source := checksum(t, b.src, samples.SourceChecksumSQL())
	require.EqualValues(t, 6, source.Rows)
	require.Equal(t, source, checksum(t, b.wh, samples.ChecksumSQL("reporting.samples")))

	// Values compared one by one as well, so that a checksum bug cannot hide
	// a conversion bug.
	var srcRows, whRows []string
	for _, q := range []struct {
		pool *pgxpool.Pool
		sql  string
		out  *[]string
	}{
		{b.src, "SELECT (id, flag, small, code, ratio, full_name::text, born_on, to_char(seen_at, 'YYYY-MM-DD HH24:MI:SS.US'), api_id, doc, trim_scale(amount))::text FROM samples ORDER BY id", &srcRows},
		{b.wh, "SELECT (id, flag, small, code, ratio, name, born_on, to_char(seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), api_id, doc, trim_scale(amount))::text FROM reporting.samples ORDER BY id", &whRows},
	} {
		rows, err := q.pool.Query(context.Background(), q.sql)
		require.NoError(t, err)
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			*q.out = append(*q.out, s)
		}
		require.NoError(t, rows.Err())
	}
	require.Equal(t, srcRows, whRows)

	// Labelled codes get their names; an unknown code shows, never vanishes.
	var names []string
	rows, err := b.wh.Query(context.Background(), "SELECT coalesce(code_name, 'NULL') FROM reporting.samples ORDER BY id")
	require.NoError(t, err)
	names, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"NULL", "unknown_2147483647", "unknown_-2147483648", "one", "seven", "zero"}, names)

	// The spool file is where the ledger says, with the digest it recorded.
	var path, digest string
	require.NoError(t, b.wh.QueryRow(context.Background(),
		"SELECT detail->'file'->>'path', detail->'file'->>'sha256' FROM nightshift.step_runs WHERE run_id = $1 AND step = 'extract'", rep.Run.ID).Scan(&path, &digest))
	require.Equal(t, filepath.Join(b.deps.SpoolDir, "run-1", "samples.parquet"), path)
	_, err = os.Stat(path)
	require.NoError(t, err)
	require.Len(t, digest, 64)
}

func TestRerunIsIdenticalAndKeepsPrevious(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	require.Equal(t, pipeline.StatusSucceeded, b.run(t, &samples).Status)
	first := checksum(t, b.wh, samples.ChecksumSQL("reporting.samples"))

	// Change the source: the second run must replace the table and keep the
	// first load as samples__previous.
	_, err := b.src.Exec(ctx, "DELETE FROM samples WHERE id = 6; UPDATE samples SET code = 42 WHERE id = 1")
	require.NoError(t, err)
	rep := b.run(t, &samples)
	require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)
	second := checksum(t, b.wh, samples.ChecksumSQL("reporting.samples"))
	require.Equal(t, checksum(t, b.src, samples.SourceChecksumSQL()), second)
	require.NotEqual(t, first, second)
	var code, viewRows int
	require.NoError(t, b.wh.QueryRow(ctx, "SELECT (SELECT code FROM reporting.sample_codes WHERE id = 1), (SELECT count(*) FROM reporting.sample_codes)").Scan(&code, &viewRows))
	require.Equal(t, 42, code, "the view reads the new table, not __previous")
	require.Equal(t, 5, viewRows)
	require.Equal(t, first, checksum(t, b.wh, samples.ChecksumSQL("reporting.samples__previous")))

	// A third run on unchanged data leaves the table exactly as it was.
	require.Equal(t, pipeline.StatusSucceeded, b.run(t, &samples).Status)
	require.Equal(t, second, checksum(t, b.wh, samples.ChecksumSQL("reporting.samples")))
	require.Equal(t, second, checksum(t, b.wh, samples.ChecksumSQL("reporting.samples__previous")))

	// No staging table is left behind, and the comments came from the contract.
	var staging *string
	require.NoError(t, b.wh.QueryRow(ctx, "SELECT to_regclass('nightshift_staging.samples')::text").Scan(&staging))
	require.Nil(t, staging)
	var comment string
	require.NoError(t, b.wh.QueryRow(ctx, `SELECT col_description(attrelid, attnum) FROM pg_attribute
		WHERE attrelid = 'reporting.samples'::regclass AND attname = 'name'`).Scan(&comment))
	require.Equal(t, "citext renamed", comment)
}
