package bqtest_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/stretchr/testify/require"
	bq "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/iterator"
)

func TestJobsRunningForADuration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, _, ds := setup(t)
	fake.DelayJobFor("timed", 1500*time.Millisecond)

	start := time.Now()
	job, err := startLoad(ctx, ds.Table("events"), "timed-load", events(t, time.Now(), 4, 1), bigquery.WriteTruncate)
	require.NoError(t, err)
	for range 3 { // polls do not finish it before its time
		status, err := job.Status(ctx)
		require.NoError(t, err)
		require.Equal(t, bigquery.Running, status.State)
	}
	require.Equal(t, -1, rows(t, fake, "events"), "nothing changed while RUNNING")
	status, err := job.Wait(ctx)
	require.NoError(t, err)
	require.NoError(t, status.Err())
	require.GreaterOrEqual(t, time.Since(start), 1500*time.Millisecond)
	require.Equal(t, 4, rows(t, fake, "events"))
	require.Equal(t, 1, fake.Executions("timed-load"))
}

func TestJobsWithPartOfTheirStatistics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, _, ds := setup(t)

	// A load without outputRows: the client reads 0, the rest is there.
	fake.OmitStatistics("no-rows", "load.outputRows")
	job, err := startLoad(ctx, ds.Table("events"), "no-rows-load", events(t, time.Now(), 3, 1), bigquery.WriteTruncate)
	require.NoError(t, err)
	status, err := job.Wait(ctx)
	require.NoError(t, err)
	stats, ok := status.Statistics.Details.(*bigquery.LoadStatistics)
	require.True(t, ok)
	require.Zero(t, stats.OutputRows, "missing, so read as none")
	require.EqualValues(t, 1, stats.InputFiles)
	require.Positive(t, stats.InputFileBytes)
	require.Equal(t, 3, rows(t, fake, "events"), "yet the job wrote its rows")
	require.False(t, status.Statistics.EndTime.IsZero())

	// Without its load part: statistics, no Details.
	fake.OmitStatistics("no-load", "load", "endTime")
	job, err = startLoad(ctx, ds.Table("events"), "no-load-part", events(t, time.Now(), 2, 1), bigquery.WriteTruncate)
	require.NoError(t, err)
	status, err = job.Wait(ctx)
	require.NoError(t, err)
	require.NotNil(t, status.Statistics)
	require.Nil(t, status.Statistics.Details)
	require.True(t, status.Statistics.EndTime.IsZero())
	require.False(t, status.Statistics.CreationTime.IsZero())

	// A copy, the same way; the job resource lacks copy statistics.
	fake.OmitStatistics("bare-copy", "copy")
	_, err = startCopy(ctx, ds.Table("copy"), ds.Table("events"), "bare-copy", bigquery.WriteTruncate)
	require.NoError(t, err)
	jobs := fake.Jobs()
	require.Nil(t, jobs[len(jobs)-1].Statistics.Copy)
	require.NotZero(t, jobs[len(jobs)-1].Statistics.EndTime)
	require.Equal(t, 2, rows(t, fake, "copy"))

	require.PanicsWithValue(t, `bqtest: OmitStatistics: job statistics have no field "load.outputRow"`, func() {
		fake.OmitStatistics("x", "load.outputRow")
	}, "a typo must not make a test pass vacuously")
}

func TestJobErrorsAsBigQuerySendsThem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, _, ds := setup(t)
	require.NoError(t, load(ctx, t, ds.Table("events"), events(t, time.Now(), 3, 1), bigquery.WriteTruncate).Err())

	// Failed: errorResult says reading failed, errors[] says where.
	result := &bq.ErrorProto{Reason: "invalid", Message: "Error while reading data, error message: Parquet column payload has a bad value"}
	detail := &bq.ErrorProto{Reason: "invalid", Location: "payload", Message: "Row 2: value too long"}
	fake.JobErrors("bad-", result, result, detail)
	job, err := startLoad(ctx, ds.Table("events"), "bad-load", events(t, time.Now(), 5, 1), bigquery.WriteTruncate)
	require.NoError(t, err)
	status, err := job.Wait(ctx)
	require.NoError(t, err)
	var bqErr *bigquery.Error
	require.ErrorAs(t, status.Err(), &bqErr)
	require.Equal(t, "invalid", bqErr.Reason)
	require.Len(t, status.Errors, 2)
	require.Equal(t, "payload", status.Errors[1].Location)
	require.Equal(t, 3, rows(t, fake, "events"), "a failed job changes nothing")

	// Warnings only: DONE, no errorResult, errors[] listed, the job ran.
	fake.JobErrors("warned-", nil, &bq.ErrorProto{Reason: "invalid", Message: "a skipped row"})
	job, err = startLoad(ctx, ds.Table("events"), "warned-load", events(t, time.Now(), 5, 1), bigquery.WriteTruncate)
	require.NoError(t, err)
	status, err = job.Wait(ctx)
	require.NoError(t, err)
	require.NoError(t, status.Err())
	require.Len(t, status.Errors, 1)
	require.Equal(t, 5, rows(t, fake, "events"))
}

func TestUploadsKeepWhatLeft(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, _, ds := setup(t)
	data := events(t, time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), 2, 3)
	require.NoError(t, load(ctx, t, ds.Table("events"), data, bigquery.WriteTruncate).Err())
	fake.FailJob("", "invalid", "refused")
	_, err := startLoad(ctx, ds.Table("events"), "refused-load", data, bigquery.WriteTruncate)
	require.NoError(t, err)

	uploads := fake.Uploads()
	require.Len(t, uploads, 2, "a failed job's file left all the same")
	require.Equal(t, "events", uploads[0].Table)
	require.Equal(t, "refused-load", uploads[1].JobID)
	cols, got, err := uploads[0].Decode()
	require.NoError(t, err)
	require.Equal(t, []string{"at", "id", "payload"}, cols, "every column of the file, whatever the job declared")
	require.Len(t, got, 2)
	require.Equal(t, int64(1), got[1]["id"])
	require.Len(t, got[0]["payload"], 3)
}

// count runs the query nightshift verifies a load with.
func count(ctx context.Context, client *bigquery.Client, sql string, params ...bigquery.QueryParameter) (int64, error) {
	q := client.Query(sql)
	q.Parameters = params
	it, err := q.Read(ctx)
	if err != nil {
		return 0, err
	}
	var row []bigquery.Value
	if err := it.Next(&row); err != nil {
		return 0, err
	}
	if err := it.Next(&row); !errors.Is(err, iterator.Done) {
		return 0, err
	}
	return row[0].(int64), nil
}

func TestCountQueries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, client, ds := setup(t)
	day := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	require.NoError(t, load(ctx, t, ds.Table("events"), events(t, day.Add(-3*time.Second), 7, 1), bigquery.WriteTruncate).Err())

	n, err := count(ctx, client, "SELECT COUNT(*) FROM `p.d.events`")
	require.NoError(t, err)
	require.EqualValues(t, 7, n)
	// A day's window: rows at 23:59:57, :58, :59 are the day before.
	n, err = count(ctx, client, "SELECT COUNT(*) FROM `p.d.events` WHERE `at` >= @from AND `at` < @to",
		bigquery.QueryParameter{Name: "from", Value: day}, bigquery.QueryParameter{Name: "to", Value: day.AddDate(0, 0, 1)})
	require.NoError(t, err)
	require.EqualValues(t, 4, n)

	// What it does not answer, it refuses; a missing table is notFound.
	_, err = count(ctx, client, "SELECT * FROM `p.d.events`")
	requireAPIError(t, err, http.StatusBadRequest, "invalidQuery")
	_, err = count(ctx, client, "SELECT COUNT(*) FROM `p.d.nothing`")
	requireAPIError(t, err, http.StatusNotFound, "notFound")

	// A query is a job: FailJob and OmitStatistics take it like any other.
	fake.OmitStatistics("bqtest_query")
	n, err = count(ctx, client, "SELECT COUNT(*) FROM `p.d.events`")
	require.NoError(t, err)
	require.EqualValues(t, 7, n)
	jobs := fake.Jobs()
	require.Nil(t, jobs[len(jobs)-1].Statistics)
	require.Equal(t, "DONE", jobs[len(jobs)-1].Status.State)
	fake.FailJob("bqtest_query", "accessDenied", "Access Denied: no bigquery.jobs.create")
	_, err = count(ctx, client, "SELECT COUNT(*) FROM `p.d.events`")
	requireAPIError(t, err, http.StatusForbidden, "accessDenied")
}
