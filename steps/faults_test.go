package steps_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/pipeline"
)

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
	release := pgtest.HoldLock(t, b.src, "samples", "ACCESS EXCLUSIVE")
	done := b.runAsync(t)
	pgtest.Terminate(t, b.src, pgtest.WaitForBlocked(t, b.src, `FROM "public"."samples"`))
	pgtest.Terminate(t, b.src, pgtest.WaitForBlocked(t, b.src, `FROM "public"."samples"`))
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
	release := pgtest.HoldLock(t, b.src, "samples", "ACCESS EXCLUSIVE")
	defer release()
	done := b.runAsync(t)
	for range 3 {
		pgtest.Terminate(t, b.src, pgtest.WaitForBlocked(t, b.src, `FROM "public"."samples"`))
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

	// An analyst's long query holds the table: the publish has to wait.
	release := pgtest.HoldLock(t, b.wh, "reporting.samples", "ACCESS SHARE")
	defer release()
	done := b.runAsync(t)
	pgtest.WaitForBlocked(t, b.wh, "LOCK TABLE")
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

// publishAttempts lists the publish's attempts as status and class.
func publishAttempts(t *testing.T, wh *pgxpool.Pool, runID int64) []string {
	t.Helper()
	rows, err := wh.Query(context.Background(), `
		SELECT status || coalesce(' ' || error_class, '') FROM nightshift.step_runs
		WHERE run_id = $1 AND step = 'publish' ORDER BY attempt`, runID)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return out
}

// An analyst's query that outlasts the publish's lock timeout delays the
// publish, which is retried, and never blocks it for good.
func TestLongAnalystQueryDelaysThePublish(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.deps.LockTimeout = 100 * time.Millisecond
	b.runner.Retry = pipeline.RetryPolicy{MaxAttempts: 10, BaseDelay: 50 * time.Millisecond, MaxDelay: 100 * time.Millisecond}
	require.Equal(t, pipeline.StatusSucceeded, b.run(t, &samples).Status)
	_, err := b.src.Exec(context.Background(), "UPDATE samples SET code = 42 WHERE id = 1")
	require.NoError(t, err)

	release := pgtest.HoldLock(t, b.wh, "reporting.samples", "ACCESS SHARE")
	done := b.runAsync(t)
	pgtest.WaitForBlocked(t, b.wh, "LOCK TABLE")
	time.Sleep(300 * time.Millisecond)
	release()
	rep := <-done
	require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)
	attempts := publishAttempts(t, b.wh, rep.Run.ID)
	require.Greater(t, len(attempts), 1, "the publish timed out on its lock at least once")
	require.Equal(t, "failed transient", attempts[0])
	require.Equal(t, "succeeded", attempts[len(attempts)-1])
	require.Equal(t, checksum(t, b.src, samples.SourceChecksumSQL()), checksum(t, b.wh, samples.ChecksumSQL("reporting.samples")))
}

// A reader that takes its locks piecemeal — a table, then a view over it —
// can deadlock with the publish, which takes the view then the table. The
// server breaks the deadlock; if it picks the publish, the publish is
// retried. Either way the run publishes, whole.
func TestDeadlockWithAReaderIsSurvived(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.runner.Retry = pipeline.RetryPolicy{MaxAttempts: 5, BaseDelay: 50 * time.Millisecond, MaxDelay: 100 * time.Millisecond}
	require.Equal(t, pipeline.StatusSucceeded, b.run(t, &samples).Status)
	_, err := b.src.Exec(context.Background(), "UPDATE samples SET code = 7 WHERE id = 1")
	require.NoError(t, err)

	ctx := context.Background()
	reader, err := b.wh.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = reader.Rollback(ctx) }()
	_, err = reader.Exec(ctx, "SELECT count(*) FROM reporting.samples")
	require.NoError(t, err)
	done := b.runAsync(t)
	pgtest.WaitForBlocked(t, b.wh, "LOCK TABLE")
	// The publish holds the view and waits for the table; the reader now
	// wants the view.
	_, readErr := reader.Exec(ctx, "SELECT count(*) FROM reporting.sample_codes")
	_ = reader.Rollback(ctx)
	rep := <-done
	require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)
	attempts := publishAttempts(t, b.wh, rep.Run.ID)
	require.Equal(t, "succeeded", attempts[len(attempts)-1])
	// A deadlock happened, and the server broke it: either the reader was
	// its victim, or the publish was (and was retried).
	if readErr != nil {
		var pgErr *pgconn.PgError
		require.ErrorAs(t, readErr, &pgErr)
		require.Equal(t, "40P01", pgErr.Code, "the reader failed of the deadlock, not of something else: %v", readErr)
	} else {
		require.Equal(t, "failed transient", attempts[0], "if the reader was not the victim, the publish was")
		var msg string
		require.NoError(t, b.wh.QueryRow(ctx, `SELECT error FROM nightshift.step_runs WHERE run_id = $1 AND step = 'publish' AND attempt = 1`, rep.Run.ID).Scan(&msg))
		require.Contains(t, msg, "40P01")
	}
	require.Equal(t, checksum(t, b.src, samples.SourceChecksumSQL()), checksum(t, b.wh, samples.ChecksumSQL("reporting.samples")))
}
