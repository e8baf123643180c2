package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/bqtest"
	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/schemas"
)

// requireBigQueryHoldsTheWarehouse checks that every entity's BigQuery
// table has the warehouse table's rows.
func requireBigQueryHoldsTheWarehouse(t *testing.T, p project, fake *bqtest.Server) {
	t.Helper()
	wh := pgtest.Pool(t, p.wh)
	for _, c := range schemas.All() {
		var rows int
		require.NoError(t, wh.QueryRow(context.Background(), "SELECT count(*) FROM reporting."+pgx.Identifier{c.Entity}.Sanitize()).Scan(&rows))
		table, ok := fake.Table("analytics", "teacher_training", c.Entity)
		require.True(t, ok, c.Entity)
		require.Len(t, table.Rows, rows, c.Entity)
	}
}

// requireEachJobRanOnce checks that no job of the run ran twice.
func requireEachJobRanOnce(t *testing.T, fake *bqtest.Server, prefix string) {
	t.Helper()
	seen := 0
	for _, j := range fake.Jobs() {
		id := j.JobReference.JobId
		if strings.HasPrefix(id, prefix) {
			seen++
			require.LessOrEqual(t, fake.Executions(id), 1, id)
		}
	}
	require.Positive(t, seen)
}

// BigQuery as it really behaves: jobs that finish after their insert, an
// insert whose answer is lost (so the retry meets a duplicate id), polls
// that fail with 503, and a job that fails after the main load succeeded.
// The publish converges to the same tables as a run without faults, no job
// runs twice, and __previous still holds the version before the run.
func TestBigQueryJobFaultsConverge(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.05)
	fake := bqtest.New(t)
	config := withBigQueryConfig(t, p, fake, "hash")
	env := []string{"NIGHTSHIFT_PII_HMAC_KEY=" + piiKey}
	require.Equal(t, exitOK, cli(t, env, "--config", config, "run").code)
	before := bigQueryState(t, fake)
	_, err := pgtest.Pool(t, p.src).Exec(context.Background(), "UPDATE trainees SET state = 3 WHERE id % 3 = 0")
	require.NoError(t, err)

	fake.DelayJobs(2)
	fake.FailAfterInsert(1, 503, "backendError", "the answer to this insert was lost")
	fake.FailNext("GET", "/jobs/nightshift_run2_trainees_load", 2, 503, "backendError", "poll failed")
	fake.FailJob("nightshift_run2_register_statuses_daily", "backendError", "failed after the main load")

	r := cli(t, env, "--config", config, "run")
	require.Equal(t, exitOK, r.code, r.stderr)
	requireBigQueryHoldsTheWarehouse(t, p, fake)
	after := bigQueryState(t, fake)
	require.Equal(t, before["trainees"], after["trainees__previous"], "__previous is the version before the run")
	require.Equal(t, before["register_statuses"], after["register_statuses__previous"], "a retried publish does not copy the new table over __previous")
	require.NotEqual(t, before["register_statuses"], after["register_statuses"])
	require.NotEqual(t, before["trainees"], after["trainees"], "BigQuery holds the new run's trainees, not only as many rows")
	for _, id := range []string{"nightshift_run2_register_statuses_keep_previous", "nightshift_run2_register_statuses_load",
		"nightshift_run2_register_statuses_daily", "nightshift_run2_register_statuses_daily_r2"} {
		require.Equal(t, 1, fake.Executions(id), id)
	}
	requireEachJobRanOnce(t, fake, "nightshift_run2_")
	var attempts int
	require.NoError(t, pgtest.Pool(t, p.wh).QueryRow(context.Background(), `SELECT count(*) FROM nightshift.step_runs
		WHERE run_id = 2 AND entity = 'register_statuses' AND step = 'load-bigquery'`).Scan(&attempts))
	require.Equal(t, 2, attempts, "the failed daily load was retried once")
}
