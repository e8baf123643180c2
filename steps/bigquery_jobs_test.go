package steps_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bq "google.golang.org/api/bigquery/v2"

	"github.com/dfe-nightshift/nightshift/internal/bqtest"
	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/steps/loadbigquery"
)

// countQueries lists the count queries the fake answered, each by the
// table it counted.
func countQueries(fake *bqtest.Server) []string {
	var out []string
	for _, j := range fake.Jobs() {
		if q := j.Configuration.Query; q != nil && strings.HasPrefix(q.Query, "SELECT COUNT(*)") {
			_, table, _ := strings.Cut(q.Query, "`proj.ns.")
			table, _, _ = strings.Cut(table, "`")
			out = append(out, table)
		}
	}
	return out
}

func job(fake *bqtest.Server, id string) *bq.Job {
	jobs := fake.Jobs()
	i := slices.IndexFunc(jobs, func(j *bq.Job) bool { return j.JobReference.JobId == id })
	if i < 0 {
		return nil
	}
	return jobs[i]
}

// BigQuery does not promise a job's statistics: on every path a job that
// answers without them, or without its row count, is checked by counting
// what it wrote, and the run goes on — no panic, no blind trust.
func TestBigQueryJobsWithoutStatisticsAreVerified(t *testing.T) {
	t.Parallel()
	b := setup(t)
	fake := withPersonStatuses(t, b, loadbigquery.PIIHash)
	fake.OmitStatistics("nightshift_run1_person_statuses_load")                     // none at all
	fake.OmitStatistics("nightshift_run1_person_statuses_daily", "load.outputRows") // inputFiles without outputRows
	rep := runPersonStatuses(t, b)
	require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)
	require.Nil(t, job(fake, "nightshift_run1_person_statuses_load").Statistics, "the fake did omit them")
	fake.OmitStatistics("") // the next job: the ledger's load
	require.NoError(t, loadLedger(t, b, rep))
	for table, rows := range map[string]int{"person_statuses": 4, "person_statuses_daily": 4, "nightshift_runs": 1} {
		got, ok := fake.Table("proj", "ns", table)
		require.True(t, ok, table)
		require.Len(t, got.Rows, rows, table)
	}
	require.Equal(t, []string{"person_statuses_daily", "nightshift_runs"}, countQueries(fake),
		"each partition load was counted; the entity's table by its metadata")

	// The second run keeps __previous with a copy job that answers without
	// statistics (the client reports none for copies anyway), and loads
	// with a job whose statistics lack their load part.
	_, err := b.src.Exec(context.Background(), "UPDATE person_statuses SET status = 'deferred' WHERE entity_id = 1; DELETE FROM person_statuses WHERE entity_id = 4")
	require.NoError(t, err)
	fake.OmitStatistics("nightshift_run2_person_statuses_keep_previous")
	fake.OmitStatistics("nightshift_run2_person_statuses_load", "load")
	rep = runPersonStatuses(t, b)
	require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)
	previous, ok := fake.Table("proj", "ns", "person_statuses__previous")
	require.True(t, ok)
	require.Len(t, previous.Rows, 4, "the first run's version")
	current, _ := fake.Table("proj", "ns", "person_statuses")
	require.Len(t, current.Rows, 3)
	require.Equal(t, 1, fake.Executions("nightshift_run2_person_statuses_keep_previous"))
}

// A job without statistics whose destination cannot be counted ends with
// an error that names the job, classified as the count's failure is: here
// permanent, so the step is not retried.
func TestBigQueryJobsWithoutStatisticsThatCannotBeVerifiedFailClearly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.runner.Retry = pipeline.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}
	fake := withPersonStatuses(t, b, loadbigquery.PIIHash)
	fake.OmitStatistics("nightshift_run1_person_statuses_daily")
	fake.FailJob("bqtest_query", "accessDenied", "Access Denied: Table proj:ns.person_statuses_daily: no bigquery.tables.getData")
	rep := runPersonStatuses(t, b)
	require.Equal(t, pipeline.StatusFailed, rep.Status)
	require.ErrorContains(t, rep.Err, "load-bigquery failed after 1 attempt(s) (permanent)")
	require.ErrorContains(t, rep.Err, "load job nightshift_run1_person_statuses_daily reported no statistics, and its destination could not be counted")
	require.ErrorContains(t, rep.Err, "no bigquery.tables.getData")

	// The ledger's load, the same way.
	fake.OmitStatistics("")
	fake.FailJob("bqtest_query", "accessDenied", "Access Denied: no bigquery.jobs.create")
	err := loadLedger(t, b, rep)
	require.ErrorContains(t, err, "bigquery ledger: load job ")
	require.ErrorContains(t, err, " reported no statistics, and its destination could not be counted")
	require.Equal(t, pipeline.Permanent, pipeline.Classify(err))
}

// Jobs that stay RUNNING — for a few polls, or for longer than an attempt
// may last — are awaited to their end: an attempt that gives up leaves the
// job to the next, which finds it by its id instead of starting another.
func TestBigQueryJobsRunningForAWhileConverge(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.runner.Retry = pipeline.RetryPolicy{MaxAttempts: 4, BaseDelay: 10 * time.Millisecond, MaxDelay: 10 * time.Millisecond, AttemptTimeout: 2 * time.Second}
	fake := withPersonStatuses(t, b, loadbigquery.PIIHash)
	fake.DelayJobFor("nightshift_run1_person_statuses_load", 3*time.Second)
	fake.DelayJob("nightshift_run1_person_statuses_daily", 3)
	rep := runPersonStatuses(t, b)
	require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)
	fake.DelayJobFor("", time.Second)
	require.NoError(t, loadLedger(t, b, rep))

	for table, rows := range map[string]int{"person_statuses": 4, "person_statuses_daily": 4, "nightshift_runs": 1} {
		got, ok := fake.Table("proj", "ns", table)
		require.True(t, ok, table)
		require.Len(t, got.Rows, rows, table)
	}
	for _, id := range []string{"nightshift_run1_person_statuses_load", "nightshift_run1_person_statuses_daily"} {
		require.Equal(t, 1, fake.Executions(id), id)
		require.Nil(t, job(fake, id+"_r2"), "no second generation of %s", id)
	}
	var attempts []string
	rows, err := b.wh.Query(context.Background(), "SELECT status || coalesce(' ' || error_class, '') FROM nightshift.step_runs WHERE step = 'load-bigquery' ORDER BY attempt")
	require.NoError(t, err)
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		attempts = append(attempts, s)
	}
	require.NoError(t, rows.Err())
	require.Greater(t, len(attempts), 1, "the first attempt gave up while the load ran")
	require.Equal(t, "succeeded", attempts[len(attempts)-1])
}

// A failed job's errors[] reach the error the run reports; errors[] on a
// job that succeeded are warnings, and the rows it wrote still decide.
func TestBigQueryJobErrorsAsBigQuerySendsThem(t *testing.T) {
	t.Parallel()
	t.Run("failed", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.runner.Retry = pipeline.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}
		fake := withPersonStatuses(t, b, loadbigquery.PIIHash)
		result := &bq.ErrorProto{Reason: "invalid", Message: "Error while reading data, error message: Parquet file is not valid"}
		fake.JobErrors("nightshift_run1_person_statuses_daily", result, result,
			&bq.ErrorProto{Reason: "invalid", Location: "holder_email", Message: "Row 3: value is not a string"})
		rep := runPersonStatuses(t, b)
		require.Equal(t, pipeline.StatusFailed, rep.Status)
		require.ErrorContains(t, rep.Err, "(permanent)")
		require.ErrorContains(t, rep.Err, "job nightshift_run1_person_statuses_daily")
		require.ErrorContains(t, rep.Err, "Parquet file is not valid")
		require.ErrorContains(t, rep.Err, "Row 3: value is not a string")
	})
	t.Run("warnings", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		fake := withPersonStatuses(t, b, loadbigquery.PIIHash)
		fake.JobErrors("nightshift_run1_person_statuses_daily", nil, &bq.ErrorProto{Reason: "invalid", Message: "a warning"})
		rep := runPersonStatuses(t, b)
		require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)
		daily, _ := fake.Table("proj", "ns", "person_statuses_daily")
		require.Len(t, daily.Rows, 4)
	})
}
