package bqtest_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/bqtest"
)

// A visit is a row of the tables these tests partition: a day (DATE,
// nullable), an id (INTEGER) and an instant (TIMESTAMP).
type visit struct {
	on string // YYYY-MM-DD, or "" for NULL
	id int64
}

var visitSchema = bigquery.Schema{
	{Name: "on", Type: bigquery.DateFieldType},
	{Name: "id", Type: bigquery.IntegerFieldType, Required: true},
	{Name: "at", Type: bigquery.TimestampFieldType},
	{Name: "score", Type: bigquery.FloatFieldType},
}

func visits(t *testing.T, vs ...visit) []byte {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "on", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer rb.Release()
	for _, v := range vs {
		if v.on == "" {
			rb.Field(0).AppendNull()
			rb.Field(2).AppendNull()
		} else {
			d, err := time.Parse(time.DateOnly, v.on)
			require.NoError(t, err)
			rb.Field(0).(*array.Date32Builder).Append(arrow.Date32FromTime(d))
			rb.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(d.Add(13 * time.Hour).UnixMicro()))
		}
		rb.Field(1).(*array.Int64Builder).Append(v.id)
		rb.Field(3).(*array.Float64Builder).Append(float64(v.id) / 2)
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(schema, &buf, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	require.NoError(t, err)
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// loadVisits runs a load job to its end and returns its error, the job's
// own included.
func loadVisits(ctx context.Context, table *bigquery.Table, data []byte, set func(*bigquery.Loader)) error {
	src := bigquery.NewReaderSource(bytes.NewReader(data))
	src.SourceFormat = bigquery.Parquet
	src.Schema = visitSchema
	l := table.LoaderFrom(src)
	l.WriteDisposition = bigquery.WriteTruncate
	if set != nil {
		set(l)
	}
	job, err := l.Run(ctx)
	if err != nil {
		return err
	}
	status, err := job.Wait(ctx)
	if err != nil {
		return err
	}
	return status.Err()
}

// ids lists the ids of rows, sorted.
func ids(rows []map[string]any) []int64 {
	var out []int64
	for _, r := range rows {
		out = append(out, r["id"].(int64))
	}
	slices.Sort(out)
	return out
}

func byPartition(t *testing.T, fake *bqtest.Server, table string) map[string][]int64 {
	t.Helper()
	parts, ok := fake.Partitions("p", "d", table)
	require.True(t, ok, "%s is partitioned", table)
	out := map[string][]int64{}
	for id, rows := range parts {
		out[id] = ids(rows)
	}
	return out
}

func TestTablesKeepTheirPartitioningAndClustering(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, _, ds := setup(t)

	monthly := &bigquery.TableMetadata{Schema: visitSchema,
		TimePartitioning: &bigquery.TimePartitioning{Type: bigquery.MonthPartitioningType, Field: "on"},
		Clustering:       &bigquery.Clustering{Fields: []string{"id", "at"}}}
	require.NoError(t, ds.Table("monthly").Create(ctx, monthly))
	md, err := ds.Table("monthly").Metadata(ctx)
	require.NoError(t, err)
	require.Equal(t, bigquery.MonthPartitioningType, md.TimePartitioning.Type)
	require.Equal(t, "on", md.TimePartitioning.Field)
	require.Equal(t, []string{"id", "at"}, md.Clustering.Fields)
	require.Nil(t, md.RangePartitioning)

	ranged := &bigquery.TableMetadata{Schema: visitSchema, RangePartitioning: &bigquery.RangePartitioning{
		Field: "id", Range: &bigquery.RangePartitioningRange{Start: 0, End: 1000, Interval: 100}}}
	require.NoError(t, ds.Table("ranged").Create(ctx, ranged))
	md, err = ds.Table("ranged").Metadata(ctx)
	require.NoError(t, err)
	require.Equal(t, "id", md.RangePartitioning.Field)
	require.Equal(t, bigquery.RangePartitioningRange{Start: 0, End: 1000, Interval: 100}, *md.RangePartitioning.Range)
	require.Nil(t, md.TimePartitioning)
	require.Nil(t, md.Clustering)

	// What BigQuery refuses, the fake refuses.
	for name, bad := range map[string]*bigquery.TableMetadata{
		"no such field":        {Schema: visitSchema, TimePartitioning: &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: "nope"}},
		"time on an integer":   {Schema: visitSchema, TimePartitioning: &bigquery.TimePartitioning{Type: bigquery.MonthPartitioningType, Field: "id"}},
		"hours of a date":      {Schema: visitSchema, TimePartitioning: &bigquery.TimePartitioning{Type: bigquery.HourPartitioningType, Field: "on"}},
		"ranges of a date":     {Schema: visitSchema, RangePartitioning: &bigquery.RangePartitioning{Field: "on", Range: &bigquery.RangePartitioningRange{End: 10, Interval: 1}}},
		"too many ranges":      {Schema: visitSchema, RangePartitioning: &bigquery.RangePartitioning{Field: "id", Range: &bigquery.RangePartitioningRange{End: 10001, Interval: 1}}},
		"five clustering":      {Schema: visitSchema, Clustering: &bigquery.Clustering{Fields: []string{"on", "id", "at", "on", "id"}}},
		"clustering by float":  {Schema: visitSchema, Clustering: &bigquery.Clustering{Fields: []string{"score"}}},
		"clustering by absent": {Schema: visitSchema, Clustering: &bigquery.Clustering{Fields: []string{"nope"}}},
	} {
		err := ds.Table("bad").Create(ctx, bad)
		require.Error(t, err, name)
		requireAPIError(t, err, http.StatusBadRequest, "invalid")
		_, err = ds.Table("bad").Metadata(ctx)
		requireAPIError(t, err, http.StatusNotFound, "notFound")
	}
}

// A WRITE_TRUNCATE load into a partition decorator replaces that
// partition's rows and no other's, for every kind of partitioning; a row
// of another partition in the file fails the whole load.
func TestDecoratorLoadsReplaceExactlyOnePartition(t *testing.T) {
	t.Parallel()
	all := []visit{
		{"2023-12-31", 1}, {"2024-01-01", 2}, {"2024-01-02", 3}, {"2024-01-31", 4},
		{"2024-02-01", 5}, {"", 6}, {"1901-05-05", 7}, {"2024-01-02", 250},
	}
	for _, tc := range []struct {
		name      string
		md        bigquery.TableMetadata
		decorator string
		// before is the table's partitions after loading all; the new rows
		// (ids 100+) go into decorator's partition.
		before    map[string][]int64
		fresh     []visit
		stray     visit // a row of another partition
		badSuffix string
	}{
		{
			name:      "day",
			md:        bigquery.TableMetadata{TimePartitioning: &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: "on"}},
			decorator: "20240102",
			before: map[string][]int64{"20231231": {1}, "20240101": {2}, "20240102": {3, 250}, "20240131": {4}, "20240201": {5},
				"__NULL__": {6}, "__UNPARTITIONED__": {7}},
			fresh: []visit{{"2024-01-02", 100}, {"2024-01-02", 101}}, stray: visit{"2024-01-03", 199}, badSuffix: "202401",
		},
		{
			name:      "month",
			md:        bigquery.TableMetadata{TimePartitioning: &bigquery.TimePartitioning{Type: bigquery.MonthPartitioningType, Field: "on"}},
			decorator: "202401",
			before:    map[string][]int64{"202312": {1}, "202401": {2, 3, 4, 250}, "202402": {5}, "__NULL__": {6}, "__UNPARTITIONED__": {7}},
			fresh:     []visit{{"2024-01-15", 100}}, stray: visit{"2024-02-01", 199}, badSuffix: "2024-01",
		},
		{
			name:      "month of a timestamp",
			md:        bigquery.TableMetadata{TimePartitioning: &bigquery.TimePartitioning{Type: bigquery.MonthPartitioningType, Field: "at"}},
			decorator: "202401",
			before:    map[string][]int64{"202312": {1}, "202401": {2, 3, 4, 250}, "202402": {5}, "__NULL__": {6}, "__UNPARTITIONED__": {7}},
			fresh:     []visit{{"2024-01-15", 100}}, stray: visit{"2023-12-31", 199}, badSuffix: "20240101",
		},
		{
			name:      "year",
			md:        bigquery.TableMetadata{TimePartitioning: &bigquery.TimePartitioning{Type: bigquery.YearPartitioningType, Field: "on"}},
			decorator: "2023",
			before:    map[string][]int64{"2023": {1}, "2024": {2, 3, 4, 5, 250}, "__NULL__": {6}, "__UNPARTITIONED__": {7}},
			fresh:     []visit{{"2023-03-03", 100}, {"2023-11-11", 101}}, stray: visit{"2024-01-01", 199}, badSuffix: "23",
		},
		{
			name: "integer range",
			md: bigquery.TableMetadata{RangePartitioning: &bigquery.RangePartitioning{Field: "id",
				Range: &bigquery.RangePartitioningRange{Start: 0, End: 200, Interval: 100}}},
			decorator: "100",
			before:    map[string][]int64{"0": {1, 2, 3, 4, 5, 6, 7}, "__UNPARTITIONED__": {250}},
			fresh:     []visit{{"2020-01-01", 100}, {"", 150}}, stray: visit{"2020-01-01", 99}, badSuffix: "150",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			fake, _, ds := setup(t)
			md := tc.md
			md.Schema = visitSchema
			table := ds.Table("visits")
			require.NoError(t, table.Create(ctx, &md))
			require.NoError(t, loadVisits(ctx, table, visits(t, all...), nil))
			require.Equal(t, tc.before, byPartition(t, fake, "visits"))

			partition := ds.Table("visits$" + tc.decorator)
			require.NoError(t, loadVisits(ctx, partition, visits(t, tc.fresh...), nil))
			want := map[string][]int64{}
			for k, v := range tc.before {
				want[k] = v
			}
			var fresh []int64
			for _, v := range tc.fresh {
				fresh = append(fresh, v.id)
			}
			want[tc.decorator] = fresh
			require.Equal(t, want, byPartition(t, fake, "visits"), "only partition %s was replaced", tc.decorator)
			got, err := table.Metadata(ctx)
			require.NoError(t, err)
			n := 0
			for _, v := range want {
				n += len(v)
			}
			require.Equal(t, uint64(n), got.NumRows, "tables.get counts the whole table")

			// Again, with a row that is not in the partition: refused whole.
			err = loadVisits(ctx, partition, visits(t, append(tc.fresh, tc.stray)...), nil)
			require.ErrorContains(t, err, "must match the data being written")
			require.Equal(t, want, byPartition(t, fake, "visits"), "a refused load changes nothing")

			// A decorator that is no partition of this table.
			err = loadVisits(ctx, ds.Table("visits$"+tc.badSuffix), visits(t, tc.fresh...), nil)
			require.ErrorContains(t, err, "Invalid partition decorator")

			// WRITE_APPEND into the partition adds, keeping what is there.
			require.NoError(t, loadVisits(ctx, partition, visits(t, tc.fresh[0]), func(l *bigquery.Loader) { l.WriteDisposition = bigquery.WriteAppend }))
			appended := append(slices.Clone(fresh), fresh[0])
			slices.Sort(appended)
			require.Equal(t, appended, byPartition(t, fake, "visits")[tc.decorator])
		})
	}
}

// A job that states a partitioning or clustering must state the table's;
// one that states none keeps the table's.
func TestJobsMustStateTheTablesSpec(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, client, ds := setup(t)
	month := &bigquery.TimePartitioning{Type: bigquery.MonthPartitioningType, Field: "on"}
	cluster := &bigquery.Clustering{Fields: []string{"id"}}
	table := ds.Table("visits")
	require.NoError(t, table.Create(ctx, &bigquery.TableMetadata{Schema: visitSchema, TimePartitioning: month, Clustering: cluster}))
	data := visits(t, visit{"2024-01-01", 1}, visit{"2024-02-01", 2})

	require.NoError(t, loadVisits(ctx, table, data, nil), "no spec: the table's")
	require.NoError(t, loadVisits(ctx, table, data, func(l *bigquery.Loader) { l.TimePartitioning, l.Clustering = month, cluster }))
	for name, set := range map[string]func(*bigquery.Loader){
		"by day": func(l *bigquery.Loader) {
			l.TimePartitioning = &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: "on"}
		},
		"other clustering": func(l *bigquery.Loader) {
			l.TimePartitioning, l.Clustering = month, &bigquery.Clustering{Fields: []string{"at"}}
		},
		"ranges": func(l *bigquery.Loader) {
			l.RangePartitioning = &bigquery.RangePartitioning{Field: "id", Range: &bigquery.RangePartitioningRange{End: 9, Interval: 1}}
		},
		"partitioning only": func(l *bigquery.Loader) { l.TimePartitioning = month },
	} {
		err := loadVisits(ctx, table, visits(t, visit{"2024-03-01", 3}), set)
		require.ErrorContains(t, err, "Incompatible table partitioning specification", name)
		require.ErrorContains(t, err, "interval(type:month,field:on) clustering(id)", name)
	}
	require.Equal(t, []int64{1, 2}, ids(mustTable(t, fake, "visits").Rows), "refused loads change nothing")
	md, err := table.Metadata(ctx)
	require.NoError(t, err)
	require.Equal(t, month.Type, md.TimePartitioning.Type)

	// A copy keeps the source's spec in a new table, and is refused into
	// an existing table of another.
	job, err := startCopy(ctx, ds.Table("copy"), table, "copy-new", bigquery.WriteTruncate)
	require.NoError(t, err)
	status, err := job.Wait(ctx)
	require.NoError(t, err)
	require.NoError(t, status.Err())
	md, err = ds.Table("copy").Metadata(ctx)
	require.NoError(t, err)
	require.Equal(t, "on", md.TimePartitioning.Field)
	require.Equal(t, []string{"id"}, md.Clustering.Fields)
	require.NoError(t, ds.Table("flat").Create(ctx, &bigquery.TableMetadata{Schema: visitSchema}))
	job, err = startCopy(ctx, ds.Table("flat"), table, "copy-flat", bigquery.WriteTruncate)
	require.NoError(t, err)
	status, err = job.Wait(ctx)
	require.NoError(t, err)
	require.ErrorContains(t, status.Err(), "Incompatible table partitioning specification")
	require.Empty(t, mustTable(t, fake, "flat").Rows)

	// A query's destination takes the spec the job states, the query's
	// rows and schema (every column NULLABLE), and is refused into an
	// existing table of another spec.
	q := client.Query("SELECT * FROM `p.d.visits`")
	q.Dst = ds.Table("yearly")
	q.TimePartitioning = &bigquery.TimePartitioning{Type: bigquery.YearPartitioningType, Field: "on"}
	q.Clustering = &bigquery.Clustering{Fields: []string{"at", "id"}}
	job, err = q.Run(ctx)
	require.NoError(t, err)
	status, err = job.Wait(ctx)
	require.NoError(t, err)
	require.NoError(t, status.Err())
	md, err = ds.Table("yearly").Metadata(ctx)
	require.NoError(t, err)
	require.Equal(t, bigquery.YearPartitioningType, md.TimePartitioning.Type)
	require.Equal(t, []string{"at", "id"}, md.Clustering.Fields)
	require.False(t, md.Schema[1].Required, "a query's columns are NULLABLE")
	require.Equal(t, map[string][]int64{"2024": {1, 2}}, byPartition(t, fake, "yearly"))
	q.WriteDisposition = bigquery.WriteTruncate
	q.TimePartitioning = month
	job, err = q.Run(ctx)
	require.NoError(t, err)
	_, err = job.Wait(ctx)
	require.ErrorContains(t, err, "Incompatible table partitioning specification")
}

// Clustering changes in place (tables.patch); partitioning does not.
func TestClusteringIsPatchedPartitioningIsNot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, _, ds := setup(t)
	table := ds.Table("visits")
	month := &bigquery.TimePartitioning{Type: bigquery.MonthPartitioningType, Field: "on"}
	require.NoError(t, table.Create(ctx, &bigquery.TableMetadata{Schema: visitSchema, TimePartitioning: month}))
	require.NoError(t, loadVisits(ctx, table, visits(t, visit{"2024-01-01", 1}), nil))

	md, err := table.Update(ctx, bigquery.TableMetadataToUpdate{Clustering: &bigquery.Clustering{Fields: []string{"id"}}}, "")
	require.NoError(t, err)
	require.Equal(t, []string{"id"}, md.Clustering.Fields)
	md, err = table.Update(ctx, bigquery.TableMetadataToUpdate{Clustering: &bigquery.Clustering{}}, "")
	require.NoError(t, err)
	require.Nil(t, md.Clustering, "an empty list removes the clustering")
	_, err = table.Update(ctx, bigquery.TableMetadataToUpdate{Clustering: &bigquery.Clustering{Fields: []string{"score"}}}, "")
	requireAPIError(t, err, http.StatusBadRequest, "invalid")

	_, err = table.Update(ctx, bigquery.TableMetadataToUpdate{TimePartitioning: &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: "on"}}, "")
	requireAPIError(t, err, http.StatusBadRequest, "invalid")
	got := mustTable(t, fake, "visits")
	require.Equal(t, "MONTH", got.Meta.TimePartitioning.Type)
	require.Len(t, got.Rows, 1)

	// Descriptions change; a REQUIRED column cannot come back from NULLABLE.
	schema := slices.Clone(visitSchema)
	described := *schema[0]
	described.Description = "the day"
	schema[0] = &described
	md, err = table.Update(ctx, bigquery.TableMetadataToUpdate{Schema: schema, Description: "visits"}, "")
	require.NoError(t, err)
	require.Equal(t, "the day", md.Schema[0].Description)
	require.Equal(t, "visits", md.Description)
	required := *schema[0]
	required.Required = true
	schema[0] = &required
	_, err = table.Update(ctx, bigquery.TableMetadataToUpdate{Schema: schema}, "")
	requireAPIError(t, err, http.StatusBadRequest, "invalid")
}

// One job may modify at most 4,000 partitions: eleven years of days are
// too many.
func TestAJobModifiesAtMost4000Partitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, _, ds := setup(t)
	var vs []visit
	day := time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 4001 {
		vs = append(vs, visit{day.AddDate(0, 0, i).Format(time.DateOnly), int64(i)})
	}
	daily := ds.Table("daily")
	require.NoError(t, daily.Create(ctx, &bigquery.TableMetadata{Schema: visitSchema,
		TimePartitioning: &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: "on"}}))
	require.ErrorContains(t, loadVisits(ctx, daily, visits(t, vs...), nil), "Too many partitions")
	require.NoError(t, loadVisits(ctx, daily, visits(t, vs[:4000]...), nil))
	require.Len(t, byPartition(t, fake, "daily"), 4000)

	monthly := ds.Table("monthly")
	require.NoError(t, monthly.Create(ctx, &bigquery.TableMetadata{Schema: visitSchema,
		TimePartitioning: &bigquery.TimePartitioning{Type: bigquery.MonthPartitioningType, Field: "on"}}))
	require.NoError(t, loadVisits(ctx, monthly, visits(t, vs...), nil))
	months := byPartition(t, fake, "monthly")
	require.Len(t, months, 132, "eleven years of months")
	require.Len(t, months["201001"], 31)
	require.Len(t, months["202011"], 30)
}

func mustTable(t *testing.T, fake *bqtest.Server, name string) *bqtest.Table {
	t.Helper()
	got, ok := fake.Table("p", "d", name)
	require.True(t, ok, name)
	return got
}
