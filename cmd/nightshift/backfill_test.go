package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/reconcile"
)

// warehouseChecksums checksums every entity table of the warehouse.
func warehouseChecksums(t *testing.T, p project) map[string]reconcile.Checksum {
	t.Helper()
	out := map[string]reconcile.Checksum{}
	for _, c := range schemas.All() {
		out[c.Entity] = checksum(t, p.wh, c.ChecksumSQL("reporting."+pgx.Identifier{c.Entity}.Sanitize()))
	}
	return out
}

func TestBackfillReloadsOneWindowOfOneEntityAndResumes(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.3)
	ctx := context.Background()
	src, wh := pgtest.Pool(t, p.src), pgtest.Pool(t, p.wh)
	require.Equal(t, exitOK, cli(t, nil, "--config", p.config, "run").code)
	_, err := src.Exec(ctx, "UPDATE trainees SET last_name = 'Backfilled'")
	require.NoError(t, err)
	before := warehouseChecksums(t, p)
	var runsBefore int
	require.NoError(t, wh.QueryRow(ctx, "SELECT count(*) FROM nightshift.runs").Scan(&runsBefore))
	// The first and last trainees of the window are deleted at the source:
	// the chunks, stretched over the whole key range, delete them too.
	_, err = src.Exec(ctx, `DELETE FROM trainees WHERE id IN (
		SELECT unnest(ARRAY[min(id), max(id)]) FROM trainees t
		WHERE created_at >= '2024-01-01' AND created_at < '2025-01-01'
		  AND NOT EXISTS (SELECT FROM trainee_withdrawals w WHERE w.trainee_id = t.id)
		  AND NOT EXISTS (SELECT FROM trainee_withdrawal_reasons r WHERE r.trainee_id = t.id))`)
	require.NoError(t, err)
	window := []string{"backfill", "--entity", "trainees", "--from", "2024-01-01", "--to", "2025-01-01", "--chunk-rows", "5", "--reason", "surname fix"}
	var inWindow, chunkCount int
	var third int64 // the first id of the third chunk
	require.NoError(t, src.QueryRow(ctx, `SELECT count(*), (count(*) + 4) / 5,
		(array_agg(id ORDER BY id))[11] FROM trainees WHERE created_at >= '2024-01-01' AND created_at < '2025-01-01'`).Scan(&inWindow, &chunkCount, &third))
	require.Greater(t, chunkCount, 3, "the test needs more than three chunks")

	// The plan changes nothing.
	r := cli(t, nil, append([]string{"--config", p.config}, append(window, "--dry-run")...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, fmt.Sprintf("chunks:  %d, about %d rows", chunkCount, inWindow))
	require.Contains(t, r.stdout, "target:  reporting.trainees")
	require.Contains(t, r.stdout, "window:  created_at from 2024-01-01 (inclusive) to 2025-01-01 (exclusive)")
	require.Regexp(t, fmt.Sprintf(`\n  3 +%d +\d+ +5 +to do\n`, third), r.stdout)
	require.Equal(t, before, warehouseChecksums(t, p))
	var runs int
	require.NoError(t, wh.QueryRow(ctx, "SELECT count(*) FROM nightshift.runs").Scan(&runs))
	require.Equal(t, runsBefore, runs, "a dry run records nothing")

	// In production it needs the confirmation.
	r = cli(t, []string{"NIGHTSHIFT_ENV=production"}, append([]string{"--config", p.config}, window...)...)
	require.Equal(t, exitLocked, r.code, r.stderr)

	// Rows from the third chunk on cannot be staged: the backfill's staging
	// table refuses them as soon as it is created (an event trigger adds the
	// constraint), so the backfill fails halfway, with two chunks staged.
	_, err = wh.Exec(ctx, fmt.Sprintf(`
		CREATE FUNCTION block_third() RETURNS event_trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF to_regclass('nightshift_staging.trainees__backfill') IS NOT NULL
			   AND NOT EXISTS (SELECT FROM pg_constraint WHERE conname = 'block_third') THEN
				ALTER TABLE nightshift_staging.trainees__backfill ADD CONSTRAINT block_third CHECK (id < %d);
			END IF;
		END $$;
		CREATE EVENT TRIGGER block_third ON ddl_command_end WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION block_third()`, third))
	require.NoError(t, err)
	r = cli(t, nil, append([]string{"--config", p.config}, window...)...)
	require.Equal(t, exitFailed, r.code, r.stderr)
	require.Contains(t, r.stderr, "run the same command, or `nightshift retry`, to resume")
	require.Equal(t, before, warehouseChecksums(t, p), "a failed backfill changes nothing analysts see")
	var first int64
	require.NoError(t, wh.QueryRow(ctx, "SELECT max(id) FROM nightshift.runs").Scan(&first))

	_, err = wh.Exec(ctx, "DROP EVENT TRIGGER block_third; ALTER TABLE nightshift_staging.trainees__backfill DROP CONSTRAINT block_third")
	require.NoError(t, err)
	// Retried in production, the backfill is guarded like the original.
	prod := []string{"NIGHTSHIFT_ENV=production"}
	r = cli(t, prod, "--config", p.config, "retry", fmt.Sprint(first))
	require.Equal(t, exitUsage, r.code, r.stderr)
	require.Contains(t, r.stderr, "--reason is required")
	r = cli(t, prod, "--config", p.config, "retry", fmt.Sprint(first), "--reason", "resume")
	require.Equal(t, exitLocked, r.code, r.stderr)
	require.Contains(t, r.stderr, "--confirm production")
	r = cli(t, nil, "--config", p.config, "retry", fmt.Sprint(first), "--reason", "resume the surname fix")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stderr, fmt.Sprintf("resumes backfill run %d", first))
	require.Contains(t, r.stderr, fmt.Sprintf("2 of %d chunks already staged", chunkCount))
	var chunks, rows int
	require.NoError(t, wh.QueryRow(ctx, `SELECT count(*), sum(rows) FROM nightshift.step_runs
		WHERE run_id = (SELECT max(id) FROM nightshift.runs) AND status = 'succeeded' AND step LIKE 'backfill ids %'`).Scan(&chunks, &rows))
	require.Equal(t, chunkCount-2, chunks, "only the chunks left were run")
	require.Equal(t, inWindow-10, rows)
	require.Contains(t, r.stdout, fmt.Sprintf("trainees  succeeded  %d", inWindow-10), "the entity's rows are the chunks' sum")

	// Inside the window the warehouse has the new surnames, outside it the
	// old ones; every other entity is exactly as it was.
	var inside, outside, changedOutside int
	require.NoError(t, wh.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE created_at >= '2024-01-01' AND created_at < '2025-01-01' AND last_name = 'Backfilled'),
		count(*) FILTER (WHERE created_at >= '2024-01-01' AND created_at < '2025-01-01'),
		count(*) FILTER (WHERE NOT (created_at >= '2024-01-01' AND created_at < '2025-01-01') AND last_name = 'Backfilled')
		FROM reporting.trainees`).Scan(&inside, &outside, &changedOutside))
	require.Positive(t, inside)
	require.Equal(t, outside, inside, "every row of the window was reloaded")
	require.Zero(t, changedOutside, "rows outside the window are untouched")
	after := warehouseChecksums(t, p)
	for entity, sum := range before {
		if entity != "trainees" {
			require.Equal(t, sum, after[entity], "%s is untouched by a trainees backfill", entity)
		}
	}
	var n int64
	require.NoError(t, src.QueryRow(ctx, "SELECT count(*) FROM trainees").Scan(&n))
	require.Equal(t, n, after["trainees"].Rows)

	// With run.reconcile: sql each chunk is also checksummed in SQL, in the
	// source and in staging: a window, and the whole entity.
	sqlEnv := []string{"NIGHTSHIFT_RUN_RECONCILE=sql"}
	_, err = src.Exec(ctx, "UPDATE trainees SET last_name = 'Again'")
	require.NoError(t, err)
	r = cli(t, sqlEnv, "--config", p.config, "backfill", "--entity", "trainees", "--from", "2024-01-01", "--to", "2025-01-01", "--chunk-rows", "50", "--reason", "sql check")
	require.Equal(t, exitOK, r.code, r.stderr)
	r = cli(t, sqlEnv, "--config", p.config, "backfill", "--entity", "trainees", "--chunk-rows", "50", "--reason", "sql check")
	require.Equal(t, exitOK, r.code, r.stderr)
	var sqlChecked int
	require.NoError(t, wh.QueryRow(ctx, `SELECT count(*) FROM nightshift.step_runs
		WHERE run_id = (SELECT max(id) FROM nightshift.runs) AND status = 'succeeded'`).Scan(&sqlChecked))
	require.Positive(t, sqlChecked)
	require.Equal(t, checksum(t, p.src, schemas.Trainees.SourceChecksumSQL()), warehouseChecksums(t, p)["trainees"])
}

// A backfill, and its dry run, runs the same preflight as a run: a source
// that lost a column is refused (exit 3) naming it, before any chunk.
func TestBackfillRunsThePreflight(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.05)
	require.Equal(t, exitOK, cli(t, nil, "--config", p.config, "run").code)
	_, err := pgtest.Pool(t, p.src).Exec(context.Background(), "ALTER TABLE trainees RENAME COLUMN trn TO teacher_reference_number")
	require.NoError(t, err)
	for _, extra := range [][]string{{"--dry-run"}, {}} {
		r := cli(t, nil, append([]string{"--config", p.config, "backfill", "--entity", "trainees", "--reason", "r"}, extra...)...)
		require.Equal(t, exitRefused, r.code, r.stderr)
		require.Contains(t, r.stderr, "source register: table trainees has no column trn")
		require.NotContains(t, r.stderr, "ERROR: column")
	}
}
