package steps_test

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/preflight"
)

func TestPreflightRefusesAMismatchedSourceBeforeAnyStep(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		alter   string
		mention []string
	}{
		{"renamed column", "ALTER TABLE samples RENAME COLUMN ratio TO ratio_v2",
			[]string{"source src", "table samples has no column ratio", "expects float8"}},
		{"retyped column", "ALTER TABLE samples ALTER COLUMN code TYPE text",
			[]string{"column samples.code is text", "expects int4"}},
		{"narrowed column", "ALTER TABLE samples ALTER COLUMN id TYPE numeric",
			[]string{"column samples.id is numeric", "expects int8"}},
		{"widened numeric", "ALTER TABLE samples ALTER COLUMN amount TYPE numeric(40,10)",
			[]string{"column samples.amount is numeric(40,10), entity samples expects numeric(38,9)"}},
		{"old schema", "DELETE FROM schema_migrations",
			[]string{"schema version (none) is older than 20240101000000"}},
		{"missing table", "ALTER TABLE samples RENAME TO samples_old",
			[]string{"table samples, read by entity samples, does not exist"}},
		{"made nullable", "ALTER TABLE samples DROP CONSTRAINT samples_pkey, ALTER COLUMN id DROP NOT NULL",
			[]string{"column samples.id allows NULL, but entity samples declares it NOT NULL"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ctx := context.Background()
			_, err := b.src.Exec(ctx, tc.alter)
			require.NoError(t, err)

			rep := b.run(t, &samples)
			require.Equal(t, pipeline.StatusRefused, rep.Status)
			var refused *preflight.RefusedError
			require.ErrorAs(t, rep.Err, &refused)
			for _, m := range tc.mention {
				require.Contains(t, rep.Err.Error(), m)
			}

			var status, msg string
			var steps int
			require.NoError(t, b.wh.QueryRow(ctx, `SELECT status, error, (SELECT count(*) FROM nightshift.step_runs WHERE run_id = r.id)
				FROM nightshift.runs r WHERE id = $1`, rep.Run.ID).Scan(&status, &msg, &steps))
			require.Equal(t, "refused", status)
			require.Contains(t, msg, tc.mention[0])
			require.Zero(t, steps, "no step ran")
			entries, err := os.ReadDir(b.deps.SpoolDir)
			require.NoError(t, err)
			require.Empty(t, entries, "nothing was extracted")
			var table *string
			require.NoError(t, b.wh.QueryRow(ctx, "SELECT to_regclass('reporting.samples')::text").Scan(&table))
			require.Nil(t, table, "nothing was loaded")
		})
	}
}

func TestPreflightPassesAdditionsAndCompatibleChanges(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, err := b.src.Exec(ctx, `ALTER TABLE samples ADD COLUMN new_thing text;
		ALTER TABLE samples ALTER COLUMN small TYPE smallint;
		ALTER TABLE samples ALTER COLUMN ratio TYPE real;
		UPDATE samples SET amount = NULL;
		ALTER TABLE samples ALTER COLUMN amount TYPE numeric(12,2);
		CREATE TABLE brand_new (id int)`)
	require.NoError(t, err)

	res, err := preflight.Check(ctx, b.src, "src", nil)
	require.NoError(t, err)
	require.Empty(t, res.Findings, "no contracts, nothing to report")

	rep := b.run(t, &samples)
	require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)

	res, err = preflight.Check(ctx, b.src, "src", []*schemas.Contract{&samples})
	require.NoError(t, err)
	require.Equal(t, "20250102030405", res.Version)
	var got []string
	for _, f := range res.Findings {
		require.False(t, f.Blocking(), f.String())
		got = append(got, f.String())
	}
	require.ElementsMatch(t, []string{
		"source src: column samples.ratio is float4 instead of float8; it still converts losslessly",
		"source src: column samples.amount is numeric(12,2) instead of numeric(38,9); it still converts losslessly",
		"source src: column samples.new_thing (text) is new and not in contract samples",
	}, got)
}
