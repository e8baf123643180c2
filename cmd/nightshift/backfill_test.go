package main

import (
	"context"
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
	window := []string{"backfill", "--entity", "trainees", "--from", "2024-01-01", "--to", "2025-01-01", "--reason", "surname fix"}

	// The plan changes nothing.
	r := cli(t, nil, append([]string{"--config", p.config}, append(window, "--dry-run")...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "chunks:  12")
	require.Contains(t, r.stdout, "target:  reporting.trainees")
	require.Contains(t, r.stdout, "2024-06-01  2024-07-01")
	require.Equal(t, before, warehouseChecksums(t, p))
	var runs int
	require.NoError(t, wh.QueryRow(ctx, "SELECT count(*) FROM nightshift.runs").Scan(&runs))
	require.Equal(t, runsBefore, runs, "a dry run records nothing")

	// In production it needs the confirmation.
	r = cli(t, []string{"NIGHTSHIFT_ENV=production"}, append([]string{"--config", p.config}, window...)...)
	require.Equal(t, exitLocked, r.code, r.stderr)

	// Rows created from July on cannot be inserted: the backfill fails
	// halfway, with the first six chunks done.
	_, err = wh.Exec(ctx, "ALTER TABLE reporting.trainees ADD CONSTRAINT block_july CHECK (created_at < '2024-07-01') NOT VALID")
	require.NoError(t, err)
	r = cli(t, nil, append([]string{"--config", p.config}, window...)...)
	require.Equal(t, exitFailed, r.code, r.stderr)
	require.Contains(t, r.stderr, "run the same command to resume")
	var first int64
	require.NoError(t, wh.QueryRow(ctx, "SELECT max(id) FROM nightshift.runs").Scan(&first))

	_, err = wh.Exec(ctx, "ALTER TABLE reporting.trainees DROP CONSTRAINT block_july")
	require.NoError(t, err)
	r = cli(t, nil, append([]string{"--config", p.config}, window...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "resuming backfill run")
	require.Contains(t, r.stdout, "6 of 12 chunks already done")
	var chunks int
	require.NoError(t, wh.QueryRow(ctx, "SELECT count(*) FROM nightshift.step_runs WHERE run_id = (SELECT max(id) FROM nightshift.runs) AND status = 'succeeded'").Scan(&chunks))
	require.Equal(t, 6, chunks, "only the chunks left were run")

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
}
