package steps_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/pipeline"
)

// holdLock takes a lock on a table in a transaction of its own, as a busy
// application or an analyst would; the returned function releases it.
func holdLock(t *testing.T, pool *pgxpool.Pool, table, mode string) (release func()) {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "LOCK TABLE "+table+" IN "+mode+" MODE")
	require.NoError(t, err)
	return func() { _ = tx.Rollback(ctx) }
}

// waitForBlocked returns the pid of a backend of db blocked on a lock while
// running a query that contains pattern.
func waitForBlocked(t *testing.T, pool *pgxpool.Pool, pattern string) int32 {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var pid int32
		err := pool.QueryRow(context.Background(), `
			SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%' || $1 || '%'
			LIMIT 1`, pattern).Scan(&pid)
		if err == nil {
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no backend blocked on a query like %q", pattern)
	return 0
}

func terminate(t *testing.T, pool *pgxpool.Pool, pid int32) {
	t.Helper()
	var ok bool
	require.NoError(t, pool.QueryRow(context.Background(), "SELECT pg_terminate_backend($1)", pid).Scan(&ok))
	require.True(t, ok)
}

func (b *bundle) runAsync(t *testing.T) <-chan pipeline.Report {
	t.Helper()
	done := make(chan pipeline.Report, 1)
	go func() { done <- b.run(t, &samples) }()
	return done
}

func extractAttempts(t *testing.T, wh *pgxpool.Pool, runID int64) []string {
	t.Helper()
	rows, err := wh.Query(context.Background(), `
		SELECT status || coalesce(' ' || error_class, '') FROM nightshift.step_runs
		WHERE run_id = $1 AND step = 'extract' ORDER BY attempt`, runID)
	require.NoError(t, err)
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	return out
}

func TestExtractConnectionKilledTwiceSucceedsOnTheThirdAttempt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.runner.Retry = pipeline.RetryPolicy{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}
	release := holdLock(t, b.src, "samples", "ACCESS EXCLUSIVE")
	done := b.runAsync(t)
	terminate(t, b.src, waitForBlocked(t, b.src, `FROM "public"."samples"`))
	terminate(t, b.src, waitForBlocked(t, b.src, `FROM "public"."samples"`))
	release()

	rep := <-done
	require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)
	require.Equal(t, []string{"failed transient", "failed transient", "succeeded"}, extractAttempts(t, b.wh, rep.Run.ID))
	require.Equal(t, checksum(t, b.src, samples.SourceChecksumSQL()), checksum(t, b.wh, samples.ChecksumSQL("reporting.samples")))
}

func TestExtractConnectionKilledEveryTimeFailsAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.runner.Retry = pipeline.RetryPolicy{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}
	release := holdLock(t, b.src, "samples", "ACCESS EXCLUSIVE")
	defer release()
	done := b.runAsync(t)
	for range 3 {
		terminate(t, b.src, waitForBlocked(t, b.src, `FROM "public"."samples"`))
	}
	rep := <-done
	require.Equal(t, pipeline.StatusFailed, rep.Status)
	require.Contains(t, rep.Err.Error(), "samples extract failed after 3 attempt(s) (transient)")
	require.Equal(t, []string{"failed transient", "failed transient", "failed transient"}, extractAttempts(t, b.wh, rep.Run.ID))
	var table *string
	require.NoError(t, b.wh.QueryRow(context.Background(), "SELECT to_regclass('reporting.samples')::text").Scan(&table))
	require.Nil(t, table, "nothing was loaded")
}

func TestAbortDuringTheSwapLeavesTheWarehouseAsItWas(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	require.Equal(t, pipeline.StatusSucceeded, b.run(t, &samples).Status)
	before := checksum(t, b.wh, samples.ChecksumSQL("reporting.samples"))
	_, err := b.src.Exec(ctx, "UPDATE samples SET code = 42 WHERE id = 1")
	require.NoError(t, err)

	// An analyst's long query holds the table: the swap has to wait.
	release := holdLock(t, b.wh, "reporting.samples", "ACCESS SHARE")
	defer release()
	done := b.runAsync(t)
	waitForBlocked(t, b.wh, "RENAME")
	_, err = b.runner.Ledger.RequestAbort(ctx, 0, "ops", "wrong data")
	require.NoError(t, err)

	select {
	case rep := <-done:
		require.Equal(t, pipeline.StatusAborted, rep.Status, "%v", rep.Err)
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not stop")
	}
	release()
	require.Equal(t, before, checksum(t, b.wh, samples.ChecksumSQL("reporting.samples")), "the table is as before the run")
	for _, leftover := range []string{"nightshift_staging.samples", "reporting.samples__previous"} {
		var table *string
		require.NoError(t, b.wh.QueryRow(ctx, "SELECT to_regclass($1)::text", leftover).Scan(&table))
		require.Nil(t, table, leftover)
	}
}
