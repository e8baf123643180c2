package bqtest_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/googleapi"

	"github.com/dfe-nightshift/nightshift/internal/bqtest"
)

// events writes a Parquet file of n rows (day, id, payload of size bytes).
func events(t *testing.T, day time.Time, n, size int) []byte {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "payload", Type: arrow.BinaryTypes.String},
	}, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer rb.Release()
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < n; i++ {
		rb.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(day.Add(time.Duration(i) * time.Second).UnixMicro()))
		rb.Field(1).(*array.Int64Builder).Append(int64(i))
		p := make([]byte, size)
		for j := range p {
			p[j] = byte('a' + rnd.IntN(26)) // incompressible enough
		}
		rb.Field(2).(*array.StringBuilder).Append(string(p))
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(schema, &buf, parquet.NewWriterProperties(parquet.WithDictionaryDefault(false)), pqarrow.DefaultWriterProps())
	require.NoError(t, err)
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())
	return buf.Bytes()
}

var eventSchema = bigquery.Schema{
	{Name: "at", Type: bigquery.TimestampFieldType, Required: true},
	{Name: "id", Type: bigquery.IntegerFieldType, Required: true},
	{Name: "payload", Type: bigquery.StringFieldType},
}

func load(ctx context.Context, t *testing.T, table *bigquery.Table, data []byte, write bigquery.TableWriteDisposition, opts ...googleapi.MediaOption) *bigquery.JobStatus {
	t.Helper()
	src := bigquery.NewReaderSource(bytes.NewReader(data))
	src.SourceFormat = bigquery.Parquet
	src.Schema = eventSchema
	l := table.LoaderFrom(src)
	l.WriteDisposition = write
	l.MediaOptions = opts
	job, err := l.Run(ctx)
	require.NoError(t, err)
	status, err := job.Wait(ctx)
	require.NoError(t, err)
	return status
}

func TestLoadsThroughMultipartAndResumableUploads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := bqtest.New(t)
	client := fake.Client(t, "p")
	require.NoError(t, client.Dataset("d").Create(ctx, &bigquery.DatasetMetadata{Location: "EU"}))
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	table := client.Dataset("d").Table("events")
	require.NoError(t, table.Create(ctx, &bigquery.TableMetadata{Schema: eventSchema,
		TimePartitioning: &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: "at"}}))

	small := events(t, day, 10, 10)
	require.NoError(t, load(ctx, t, table, small, bigquery.WriteTruncate).Err())
	big := events(t, day, 300, 4096) // about 1.2 MB, in 256 KiB chunks
	require.Greater(t, len(big), 1<<20)
	status := load(ctx, t, table, big, bigquery.WriteTruncate, googleapi.ChunkSize(256*1024))
	require.NoError(t, status.Err())
	require.EqualValues(t, 300, status.Statistics.Details.(*bigquery.LoadStatistics).OutputRows)
	got, _ := fake.Table("p", "d", "events")
	require.Len(t, got.Rows, 300, "WRITE_TRUNCATE replaced the first load")

	// A partition decorator replaces that day only, and loading it twice
	// does not duplicate it.
	next := day.Add(24 * time.Hour)
	for range 2 {
		require.NoError(t, load(ctx, t, client.Dataset("d").Table("events$"+next.Format("20060102")), events(t, next, 5, 10), bigquery.WriteTruncate).Err())
	}
	got, _ = fake.Table("p", "d", "events")
	require.Len(t, got.Rows, 305)
	status = load(ctx, t, client.Dataset("d").Table("events$"+next.Format("20060102")), small, bigquery.WriteTruncate)
	require.ErrorContains(t, status.Err(), "is not in partition", "rows outside the decorator's day are refused")
}

func TestCopyJobsAndInjectedErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := bqtest.New(t)
	client := fake.Client(t, "p")
	require.NoError(t, client.Dataset("d").Create(ctx, &bigquery.DatasetMetadata{}))
	table := client.Dataset("d").Table("events")
	require.NoError(t, load(ctx, t, table, events(t, time.Now(), 3, 1), bigquery.WriteTruncate).Err())

	// A 503 on jobs.get is retried by the client itself.
	fake.FailNext("GET", "/jobs/", 1, 503, "backendError", "try again")
	copier := client.Dataset("d").Table("events_snapshot").CopierFrom(table)
	copier.OperationType = bigquery.SnapshotOperation
	job, err := copier.Run(ctx)
	require.NoError(t, err)
	status, err := job.Wait(ctx)
	require.NoError(t, err)
	require.NoError(t, status.Err())
	snap, ok := fake.Table("p", "d", "events_snapshot")
	require.True(t, ok)
	require.Equal(t, "SNAPSHOT", snap.Meta.Type)
	require.Len(t, snap.Rows, 3)

	// A job-level failure is in the job's status, not an HTTP error.
	fake.FailNextLoad("invalid", "Error while reading data")
	status = load(ctx, t, table, events(t, time.Now(), 1, 1), bigquery.WriteAppend)
	var bqErr *bigquery.Error
	require.ErrorAs(t, status.Err(), &bqErr)
	require.Equal(t, "invalid", bqErr.Reason)

	// A mismatched file fails the job, naming the column.
	src := bigquery.NewReaderSource(bytes.NewReader(events(t, time.Now(), 1, 1)))
	src.SourceFormat = bigquery.Parquet
	src.Schema = bigquery.Schema{{Name: "id", Type: bigquery.StringFieldType}}
	job, err = client.Dataset("d").Table("other").LoaderFrom(src).Run(ctx)
	require.NoError(t, err)
	status, err = job.Wait(ctx)
	require.NoError(t, err)
	require.ErrorContains(t, status.Err(), fmt.Sprintf("field %s has Parquet type int64, not STRING", "id"))
}
