package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/bqtest"
	"github.com/dfe-nightshift/nightshift/internal/pgtest"
)

// A backfill of one window reaches BigQuery: inside the window BigQuery's
// rows become the source's (changed, deleted, new), outside it not one row
// changes — even one BigQuery holds differently from the source — and a
// retry of the BigQuery half after a failed MERGE converges without a
// second merge.
func TestBackfillWindowReachesBigQuery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newProject(t, 0.3)
	fake := bqtest.New(t)
	config := withBigQueryConfig(t, p, fake, "drop")
	src, wh := pgtest.Pool(t, p.src), pgtest.Pool(t, p.wh)
	r := cli(t, nil, "--config", config, "run")
	require.Equal(t, exitOK, r.code, r.stderr)

	from, to := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	inWindow := func(row map[string]any) bool {
		c, ok := row["created_at"].(time.Time)
		return ok && !c.Before(from) && c.Before(to)
	}
	table := func() map[int64]map[string]any {
		tb, ok := fake.Table("analytics", "teacher_training", "trainees")
		require.True(t, ok)
		out := map[int64]map[string]any{}
		for _, row := range tb.Rows {
			out[row["id"].(int64)] = row
		}
		return out
	}
	before := table()
	// Outside the window, a row BigQuery holds differently: the backfill
	// must leave it as it is.
	var outside int64
	require.NoError(t, src.QueryRow(ctx, "SELECT min(id) FROM trainees WHERE created_at < '2024-01-01'").Scan(&outside))
	_, err := src.Exec(ctx, "UPDATE trainees SET record_source = 'changed outside' WHERE id = $1", outside)
	require.NoError(t, err)
	// Inside: every region changes, one row goes, one is new.
	_, err = src.Exec(ctx, "UPDATE trainees SET region = 'Backfilled' WHERE created_at >= '2024-01-01' AND created_at < '2025-01-01'")
	require.NoError(t, err)
	var gone int64
	require.NoError(t, src.QueryRow(ctx, `SELECT min(id) FROM trainees t WHERE created_at >= '2024-01-01' AND created_at < '2025-01-01'
		AND NOT EXISTS (SELECT FROM trainee_withdrawals w WHERE w.trainee_id = t.id)
		AND NOT EXISTS (SELECT FROM trainee_withdrawal_reasons r WHERE r.trainee_id = t.id)`).Scan(&gone))
	_, err = src.Exec(ctx, "DELETE FROM trainees WHERE id = $1", gone)
	require.NoError(t, err)
	var added int64
	require.NoError(t, src.QueryRow(ctx, `INSERT INTO trainees (slug, provider_id, created_at, updated_at, region, created_from_dttp, created_from_hesa)
		SELECT 'backfill-new', provider_id, '2024-06-01', '2024-06-01', 'Backfilled', false, false FROM trainees WHERE id = $1 RETURNING id`, outside).Scan(&added))

	// The MERGE fails on every attempt of the run (three): the warehouse
	// is published, BigQuery is behind, and a retry finishes it.
	run := rfLastRun(t, p.wh) + 1
	for range 3 {
		fake.FailJob(fmt.Sprintf("nightshift_run%d_trainees_merge", run), "backendError", "merge failed")
	}
	r = cli(t, nil, "--config", config, "backfill", "--entity", "trainees", "--from", "2024-01-01", "--to", "2025-01-01", "--chunk-rows", "50", "--reason", "regions")
	require.Equal(t, exitFailed, r.code, r.stderr)
	require.Contains(t, r.stdout, fmt.Sprintf("nightshift retry %d", run))
	require.Equal(t, before, table(), "BigQuery is as it was until a MERGE succeeds")
	r = cli(t, nil, "--config", config, "retry", fmt.Sprint(run), "--reason", "finish BigQuery")
	require.Equal(t, exitOK, r.code, r.stderr+r.stdout)

	after := table()
	var whRows int
	require.NoError(t, wh.QueryRow(ctx, "SELECT count(*) FROM reporting.trainees").Scan(&whRows))
	require.Len(t, after, whRows, "BigQuery holds as many trainees as the warehouse")
	require.NotContains(t, after, gone, "deleted in the window")
	require.Equal(t, "Backfilled", after[added]["region"], "new in the window")
	for id, row := range before {
		if id == gone {
			continue
		}
		if inWindow(row) {
			require.Equal(t, "Backfilled", after[id]["region"], "trainee %d is in the window", id)
			continue
		}
		require.Equal(t, row, after[id], "trainee %d is outside the window: untouched", id)
	}
	require.NotEqual(t, "changed outside", after[outside]["record_source"])
	_, ok := fake.Table("analytics", "teacher_training", fmt.Sprintf("trainees__backfill_run%d", run))
	require.False(t, ok, "the staging table is dropped")
	prev, ok := fake.Table("analytics", "teacher_training", "trainees__previous")
	require.True(t, ok)
	require.Len(t, prev.Rows, len(before), "the table before the backfill is kept")
	var merges int
	for _, j := range fake.Jobs() {
		if strings.HasPrefix(j.JobReference.JobId, fmt.Sprintf("nightshift_run%d_trainees_merge", run)) && j.Status.ErrorResult == nil {
			merges++
		}
	}
	require.Equal(t, 1, merges, "one MERGE succeeded")
	var holds int64
	require.NoError(t, wh.QueryRow(ctx, `SELECT run_id FROM nightshift.table_versions
		WHERE target = 'bigquery' AND entity = 'trainees' AND slot = 'current'`).Scan(&holds))
	require.Equal(t, run, holds, "freshness: BigQuery's trainees hold the backfill's data")
}
