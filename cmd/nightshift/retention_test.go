package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
)

// runFolders lists the run-<id> folders in the spool directory.
func runFolders(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, de := range des {
		if de.IsDir() && strings.HasPrefix(de.Name(), "run-") {
			out = append(out, de.Name())
		}
	}
	slices.Sort(out)
	return out
}

// Issue 13: the spool keeps the files of the last spool.keep_runs (2)
// successful runs, and a failed run's only until a later run succeeds.
func TestSpoolKeepsTheLastTwoSuccessfulRuns(t *testing.T) {
	t.Parallel()
	src := seedRegister(t, 0.05)
	wh := newWarehouse(t)
	spool := t.TempDir()
	path := writeConfig(t, "environment: test\nwarehouse:\n  url: "+wh+"\nsources:\n  register:\n    url: "+src+
		"\nspool:\n  dir: "+spool+"\nrun:\n  max_attempts: 1\n  lock_timeout: 100ms\n")
	run := func(want int) {
		t.Helper()
		r := cli(t, nil, "--config", path, "run", "--entity", "trainees")
		require.Equal(t, want, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	}
	for range 3 {
		run(exitOK)
	}
	require.Equal(t, []string{"run-2", "run-3"}, runFolders(t, spool))

	// Run 4 stages trainees, spool file and all, then fails in its
	// publish: an analyst's query holds the table.
	pool := pgtest.Pool(t, wh)
	release := pgtest.HoldLock(t, pool, "reporting.trainees", "ACCESS SHARE")
	run(exitFailed)
	release()
	require.Equal(t, []string{"run-2", "run-3", "run-4"}, runFolders(t, spool), "a failed run's files stay until a later run succeeds")
	require.FileExists(t, filepath.Join(spool, "run-4", "trainees.parquet"))

	run(exitOK)
	require.Equal(t, []string{"run-3", "run-5"}, runFolders(t, spool))

	rows, err := pool.Query(context.Background(), "SELECT run_id, reason, path, bytes > 0 FROM nightshift.spool_deletions ORDER BY run_id")
	require.NoError(t, err)
	var got []string
	for rows.Next() {
		var id int64
		var reason, p string
		var some bool
		require.NoError(t, rows.Scan(&id, &reason, &p, &some))
		require.True(t, some, "the bytes deleted are recorded")
		require.Equal(t, filepath.Join(spool, filepath.Base(p)), p)
		got = append(got, filepath.Base(p)+" "+reason)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"run-1 keep_runs", "run-2 keep_runs", "run-4 superseded"}, got)
}

// A run the spool's filesystem has no room for fails before it reads
// anything — recorded, notified, exit 1 — naming spool.dir and the sizes.
func TestRunWithoutRoomInTheSpoolFails(t *testing.T) {
	t.Parallel()
	src := seedRegister(t, 0.05)
	wh := newWarehouse(t)
	spool := t.TempDir()
	path := writeConfig(t, "environment: test\nwarehouse:\n  url: "+wh+"\nsources:\n  register:\n    url: "+src+"\nspool:\n  dir: "+spool+"\n")
	// Run 1, as the ledger has it, wrote an exbibyte of trainees.
	pool := pgtest.Pool(t, wh)
	_, err := pool.Exec(context.Background(), `
		WITH r AS (INSERT INTO nightshift.runs (env, trigger, entities, started_by, status, finished_at)
		           VALUES ('test', 'manual', '{trainees}', 'test', 'succeeded', now()) RETURNING id)
		INSERT INTO nightshift.step_runs (run_id, entity, step, attempt, status, bytes, finished_at)
		SELECT id, 'trainees', 'extract', 1, 'succeeded', 1::int8 << 60, now() FROM r`)
	require.NoError(t, err)

	r := cli(t, nil, "--config", path, "run", "--entity", "trainees")
	require.Equal(t, exitFailed, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	require.Contains(t, r.stderr, "run 2 failed: spool.dir "+spool+": its filesystem has ")
	require.Contains(t, r.stderr, "this run needs about 1.2 EiB (1.2 × the 1.0 EiB the last successful full run wrote for these entities, run 1)")
	var status, msg string
	var steps int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT status, error, (SELECT count(*) FROM nightshift.step_runs WHERE run_id = 2)
		FROM nightshift.runs WHERE id = 2`).Scan(&status, &msg, &steps))
	require.Equal(t, "failed", status)
	require.Contains(t, msg, "spool.dir "+spool)
	require.Zero(t, steps, "nothing was read")
	require.Empty(t, runFolders(t, spool))
}
