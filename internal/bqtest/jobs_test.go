package bqtest_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/googleapi"

	"github.com/dfe-nightshift/nightshift/internal/bqtest"
)

// setup makes a fake with dataset d and a client that sends location EU,
// as jobs.get then carries ?location=EU.
func setup(t *testing.T) (*bqtest.Server, *bigquery.Client, *bigquery.Dataset) {
	t.Helper()
	fake := bqtest.New(t)
	client := fake.Client(t, "p")
	client.Location = "EU"
	ds := client.Dataset("d")
	require.NoError(t, ds.Create(context.Background(), &bigquery.DatasetMetadata{Location: "EU"}))
	return fake, client, ds
}

// startLoad inserts a load job with this id (multipart unless opts ask for
// chunks) and returns it without waiting.
func startLoad(ctx context.Context, table *bigquery.Table, id string, data []byte, write bigquery.TableWriteDisposition, opts ...googleapi.MediaOption) (*bigquery.Job, error) {
	src := bigquery.NewReaderSource(bytes.NewReader(data))
	src.SourceFormat = bigquery.Parquet
	src.Schema = eventSchema
	l := table.LoaderFrom(src)
	l.WriteDisposition = write
	l.MediaOptions = opts
	l.JobID = id
	return l.Run(ctx)
}

func startCopy(ctx context.Context, dst, src *bigquery.Table, id string, write bigquery.TableWriteDisposition) (*bigquery.Job, error) {
	c := dst.CopierFrom(src)
	c.WriteDisposition = write
	c.JobID = id
	return c.Run(ctx)
}

func rows(t *testing.T, fake *bqtest.Server, table string) int {
	t.Helper()
	got, ok := fake.Table("p", "d", table)
	if !ok {
		return -1
	}
	return len(got.Rows)
}

func requireAPIError(t *testing.T, err error, code int, reason string) {
	t.Helper()
	var apiErr *googleapi.Error
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, code, apiErr.Code, apiErr.Error())
	require.NotEmpty(t, apiErr.Errors)
	require.Equal(t, reason, apiErr.Errors[0].Reason)
}

func TestDelayedJobsChangeTablesOnlyWhenDone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, _, ds := setup(t)
	fake.DelayJobs(2)

	job, err := startLoad(ctx, ds.Table("events"), "slow-load", events(t, time.Now(), 4, 1), bigquery.WriteTruncate)
	require.NoError(t, err)
	require.Equal(t, bigquery.Running, job.LastStatus().State, "jobs.insert answers RUNNING")
	require.Nil(t, job.LastStatus().Statistics.Details, "no load statistics before DONE")
	require.True(t, job.LastStatus().Statistics.EndTime.IsZero())
	require.Equal(t, -1, rows(t, fake, "events"), "the load has not created the table yet")
	require.Zero(t, fake.Executions("slow-load"))

	status, err := job.Status(ctx) // the first poll
	require.NoError(t, err)
	require.Equal(t, bigquery.Running, status.State)
	require.Equal(t, -1, rows(t, fake, "events"))

	status, err = job.Wait(ctx) // the second poll finishes it
	require.NoError(t, err)
	require.True(t, status.Done())
	require.NoError(t, status.Err())
	require.EqualValues(t, 4, status.Statistics.Details.(*bigquery.LoadStatistics).OutputRows)
	require.Equal(t, 4, rows(t, fake, "events"))
	require.Equal(t, 1, fake.Executions("slow-load"))

	// A copy is delayed the same way; DelayJob overrides DelayJobs for one job.
	fake.DelayJob("quick-", 1)
	job, err = startCopy(ctx, ds.Table("events_copy"), ds.Table("events"), "quick-copy", bigquery.WriteTruncate)
	require.NoError(t, err)
	require.Equal(t, bigquery.Running, job.LastStatus().State)
	status, err = job.Wait(ctx) // done at the first poll
	require.NoError(t, err)
	require.NoError(t, status.Err())
	require.Equal(t, 4, rows(t, fake, "events_copy"))

	// DelayJobs(0) restores DONE at insert.
	fake.DelayJobs(0)
	job, err = startCopy(ctx, ds.Table("events_copy"), ds.Table("events"), "", bigquery.WriteAppend)
	require.NoError(t, err)
	require.True(t, job.LastStatus().Done())
	require.Equal(t, 8, rows(t, fake, "events_copy"))
}

func TestAClientThatStopsPollingHasChangedNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, client, ds := setup(t)
	status := load(ctx, t, ds.Table("events"), events(t, time.Now(), 3, 1), bigquery.WriteTruncate)
	require.NoError(t, status.Err())

	fake.DelayJob("abandoned", 1000)
	job, err := startLoad(ctx, ds.Table("events"), "abandoned", events(t, time.Now(), 7, 1), bigquery.WriteTruncate)
	require.NoError(t, err)
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err = job.Wait(short)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, 3, rows(t, fake, "events"), "the truncating load has not run")
	require.Zero(t, fake.Executions("abandoned"))

	// The job is still there, RUNNING, for whoever looks it up later.
	again, err := client.JobFromID(ctx, "abandoned")
	require.NoError(t, err)
	require.Equal(t, bigquery.Running, again.LastStatus().State)
	jobs := fake.Jobs()
	require.Equal(t, "RUNNING", jobs[len(jobs)-1].Status.State)
}

func TestDuplicateJobIDsAreRefusedAndRunNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, _, ds := setup(t)
	events3 := events(t, time.Now(), 3, 1)

	// Multipart load.
	require.NoError(t, load(ctx, t, ds.Table("events"), events3, bigquery.WriteAppend).Err())
	job, err := startLoad(ctx, ds.Table("events"), "load-1", events3, bigquery.WriteAppend)
	require.NoError(t, err)
	require.True(t, job.LastStatus().Done())
	_, err = startLoad(ctx, ds.Table("events"), "load-1", events3, bigquery.WriteAppend)
	requireAPIError(t, err, http.StatusConflict, "duplicate")
	require.ErrorContains(t, err, "Already Exists: Job p:EU.load-1")
	require.Equal(t, 6, rows(t, fake, "events"))
	require.Equal(t, 1, fake.Executions("load-1"))

	// Resumable load: the refusal comes when the upload is finalised.
	big := events(t, time.Now(), 80, 4096) // over one 256 KiB chunk
	require.Greater(t, len(big), 256*1024)
	job, err = startLoad(ctx, ds.Table("big"), "load-big", big, bigquery.WriteAppend, googleapi.ChunkSize(256*1024))
	require.NoError(t, err)
	require.NoError(t, job.LastStatus().Err())
	_, err = startLoad(ctx, ds.Table("big"), "load-big", big, bigquery.WriteAppend, googleapi.ChunkSize(256*1024))
	requireAPIError(t, err, http.StatusConflict, "duplicate")
	require.Equal(t, 80, rows(t, fake, "big"))
	require.Equal(t, 1, fake.Executions("load-big"))

	// Copy.
	_, err = startCopy(ctx, ds.Table("events_copy"), ds.Table("events"), "copy-1", bigquery.WriteAppend)
	require.NoError(t, err)
	_, err = startCopy(ctx, ds.Table("events_copy"), ds.Table("events"), "copy-1", bigquery.WriteAppend)
	requireAPIError(t, err, http.StatusConflict, "duplicate")
	require.Equal(t, 6, rows(t, fake, "events_copy"))
	require.Equal(t, 1, fake.Executions("copy-1"))

	// Whatever the first job's state or outcome: still RUNNING...
	fake.DelayJob("copy-2", 2)
	running, err := startCopy(ctx, ds.Table("events_copy"), ds.Table("events"), "copy-2", bigquery.WriteAppend)
	require.NoError(t, err)
	_, err = startCopy(ctx, ds.Table("events_copy"), ds.Table("events"), "copy-2", bigquery.WriteAppend)
	requireAPIError(t, err, http.StatusConflict, "duplicate")
	status, err := running.Wait(ctx)
	require.NoError(t, err)
	require.NoError(t, status.Err())
	require.Equal(t, 12, rows(t, fake, "events_copy"))
	require.Equal(t, 1, fake.Executions("copy-2"))

	// ...or failed.
	fake.FailJob("copy-3", "backendError", "Backend error")
	failed, err := startCopy(ctx, ds.Table("events_copy"), ds.Table("events"), "copy-3", bigquery.WriteAppend)
	require.NoError(t, err)
	require.Error(t, failed.LastStatus().Err())
	_, err = startCopy(ctx, ds.Table("events_copy"), ds.Table("events"), "copy-3", bigquery.WriteAppend)
	requireAPIError(t, err, http.StatusConflict, "duplicate")
	require.Equal(t, 12, rows(t, fake, "events_copy"))
	require.Equal(t, 1, fake.Executions("copy-3"))
	require.Zero(t, fake.Executions("never-inserted"))
}

func TestJobPollsThatFailWithHTTPErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, client, ds := setup(t)
	require.NoError(t, load(ctx, t, ds.Table("events"), events(t, time.Now(), 3, 1), bigquery.WriteTruncate).Err())

	// jobs.get of an id never inserted is 404 notFound.
	_, err := client.JobFromID(ctx, "no-such-job")
	requireAPIError(t, err, http.StatusNotFound, "notFound")

	// FailNext matches jobs.get by path: a 503 there is retried by the
	// client, and the failed polls do not advance the job.
	fake.DelayJob("copy-503", 1)
	fake.FailNext("GET", "/jobs/copy-503", 2, http.StatusServiceUnavailable, "backendError", "Backend error, try again")
	job, err := startCopy(ctx, ds.Table("copy"), ds.Table("events"), "copy-503", bigquery.WriteTruncate)
	require.NoError(t, err)
	require.Equal(t, bigquery.Running, job.LastStatus().State)
	status, err := job.Wait(ctx)
	require.NoError(t, err)
	require.NoError(t, status.Err())
	require.Equal(t, 3, rows(t, fake, "copy"))
	require.Equal(t, 1, fake.Executions("copy-503"))

	// The client retries 503 until its context ends, then returns the 503.
	fake.DelayJob("copy-down", 1)
	fake.FailNext("GET", "/jobs/copy-down", 1000, http.StatusServiceUnavailable, "backendError", "Backend error")
	job, err = startCopy(ctx, ds.Table("copy_down"), ds.Table("events"), "copy-down", bigquery.WriteTruncate)
	require.NoError(t, err)
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = job.Wait(short)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	requireAPIError(t, err, http.StatusServiceUnavailable, "backendError")
	require.Equal(t, -1, rows(t, fake, "copy_down"), "the job never got its poll")

	// A 4xx on jobs.get is not retried.
	fake.FailNext("GET", "/jobs/copy-503", 1, http.StatusForbidden, "accessDenied", "Access Denied")
	_, err = client.JobFromID(ctx, "copy-503")
	requireAPIError(t, err, http.StatusForbidden, "accessDenied")
}

func TestJobsThatFailWhenDone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, _, ds := setup(t)
	require.NoError(t, load(ctx, t, ds.Table("events"), events(t, time.Now(), 3, 1), bigquery.WriteTruncate).Err())

	// Accepted, DONE at once with an error, no table changed.
	fake.FailJob("doomed-", "backendError", "Backend error")
	job, err := startLoad(ctx, ds.Table("events"), "doomed-1", events(t, time.Now(), 5, 1), bigquery.WriteTruncate)
	require.NoError(t, err)
	status, err := job.Wait(ctx)
	require.NoError(t, err)
	require.True(t, status.Done())
	var bqErr *bigquery.Error
	require.ErrorAs(t, status.Err(), &bqErr)
	require.Equal(t, "backendError", bqErr.Reason)
	require.Len(t, status.Errors, 1)
	require.Equal(t, 3, rows(t, fake, "events"))
	require.Equal(t, 1, fake.Executions("doomed-1"))

	// FailJob is one-shot: the next matching job runs.
	job, err = startLoad(ctx, ds.Table("events"), "doomed-2", events(t, time.Now(), 5, 1), bigquery.WriteTruncate)
	require.NoError(t, err)
	require.NoError(t, job.LastStatus().Err())
	require.Equal(t, 5, rows(t, fake, "events"))

	// Delayed, the failure shows only at DONE.
	fake.DelayJob("late", 1)
	fake.FailJob("late", "invalid", "Invalid copy")
	job, err = startCopy(ctx, ds.Table("copy"), ds.Table("events"), "late-copy", bigquery.WriteTruncate)
	require.NoError(t, err)
	require.Equal(t, bigquery.Running, job.LastStatus().State)
	require.NoError(t, job.LastStatus().Err())
	status, err = job.Wait(ctx)
	require.NoError(t, err)
	require.ErrorAs(t, status.Err(), &bqErr)
	require.Equal(t, "invalid", bqErr.Reason)
	require.Equal(t, -1, rows(t, fake, "copy"))
}

func TestJobsWithoutStatistics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, _, ds := setup(t)
	fake.OmitStatistics("bare")
	fake.DelayJob("bare", 1)
	job, err := startLoad(ctx, ds.Table("events"), "bare-load", events(t, time.Now(), 2, 1), bigquery.WriteTruncate)
	require.NoError(t, err)
	require.Nil(t, job.LastStatus().Statistics)
	status, err := job.Wait(ctx)
	require.NoError(t, err)
	require.True(t, status.Done())
	require.NoError(t, status.Err())
	require.Nil(t, status.Statistics, "DONE, and still no statistics")
	require.Equal(t, 2, rows(t, fake, "events"), "the job ran")
	jobs := fake.Jobs()
	require.Nil(t, jobs[len(jobs)-1].Statistics)
}

func TestInsertsWhoseAnswerIsLost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, client, ds := setup(t)
	require.NoError(t, load(ctx, t, ds.Table("events"), events(t, time.Now(), 3, 1), bigquery.WriteTruncate).Err())

	// A copy's insert is retried by the client with the same id, which
	// BigQuery refuses: the caller sees 409 although the job ran.
	fake.FailAfterInsert(1, http.StatusServiceUnavailable, "backendError", "Backend error")
	_, err := startCopy(ctx, ds.Table("copy"), ds.Table("events"), "copy-lost", bigquery.WriteAppend)
	requireAPIError(t, err, http.StatusConflict, "duplicate")
	require.Equal(t, 1, fake.Executions("copy-lost"))
	require.Equal(t, 3, rows(t, fake, "copy"))
	job, err := client.JobFromID(ctx, "copy-lost") // how to find out
	require.NoError(t, err)
	require.True(t, job.LastStatus().Done())
	require.NoError(t, job.LastStatus().Err())

	// A multipart load is not retried: the caller sees the 503.
	fake.FailAfterInsert(1, http.StatusServiceUnavailable, "backendError", "Backend error")
	_, err = startLoad(ctx, ds.Table("events"), "load-lost", events(t, time.Now(), 2, 1), bigquery.WriteAppend)
	requireAPIError(t, err, http.StatusServiceUnavailable, "backendError")
	require.Equal(t, 1, fake.Executions("load-lost"))
	require.Equal(t, 5, rows(t, fake, "events"), "yet the rows are in")

	// A resumable upload retries its last chunk and gets the job.
	fake.FailAfterInsert(1, http.StatusServiceUnavailable, "backendError", "Backend error")
	big := events(t, time.Now(), 80, 4096)
	job, err = startLoad(ctx, ds.Table("big"), "resumable-lost", big, bigquery.WriteAppend, googleapi.ChunkSize(256*1024))
	require.NoError(t, err)
	status, err := job.Wait(ctx)
	require.NoError(t, err)
	require.NoError(t, status.Err())
	require.Equal(t, 1, fake.Executions("resumable-lost"))
	require.Equal(t, 80, rows(t, fake, "big"))
}
