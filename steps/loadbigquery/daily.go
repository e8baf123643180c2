package loadbigquery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/steps/spool"
)

// DailyTable is the BigQuery table that keeps a statuses entity's history:
// one partition per day, holding every entity's status as observed that day.
func DailyTable(entity string) string { return entity + "_daily" }

// LoadDaily replaces the day's partition of <entity>_daily with the
// statuses just loaded, stamped with observed_on. Re-running a day
// replaces its partition; it never duplicates it. Analysts get the history
// of every status, day by day, next to the warehouse's type-2
// status_history.
func (l *Load) LoadDaily(ctx context.Context, observed time.Time) (int64, error) {
	c := l.Contract
	day := observed.UTC()
	dayDate := arrow.Date32FromTime(time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC))
	path := strings.TrimSuffix(l.File.Path, ".parquet") + ".daily.parquet"

	fields := []arrow.Field{{Name: "observed_on", Type: arrow.FixedWidthTypes.Date32}}
	schema := bigquery.Schema{{Name: "observed_on", Type: bigquery.DateFieldType, Required: true,
		Description: "Day the statuses were observed (the run's snapshot, UTC); the table is partitioned by it."}}
	for _, col := range c.Fields() {
		fields = append(fields, arrow.Field{Name: col.Name, Type: col.ArrowType(), Nullable: col.Nullable})
	}
	schema = append(schema, tableSchema(c, PIIHash)...)
	rr, closeSrc, err := spool.Open(ctx, l.File.Path, l.BatchSize, l.Mem)
	if err != nil {
		return 0, err
	}
	defer func() { _ = closeSrc() }()
	w, err := spool.CreateFile(path, arrow.NewSchema(fields, nil), nil, l.Mem)
	if err != nil {
		return 0, err
	}
	for rr.Next() {
		in := rr.RecordBatch()
		db := array.NewDate32Builder(l.Mem)
		for i := 0; i < int(in.NumRows()); i++ {
			db.Append(dayDate)
		}
		cols := append([]arrow.Array{db.NewArray()}, in.Columns()...)
		db.Release()
		rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, in.NumRows())
		cols[0].Release()
		err := w.Write(rec)
		rec.Release()
		if err != nil {
			w.Abort()
			return 0, err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		w.Abort()
		return 0, err
	}
	file, err := w.Close()
	if err != nil {
		return 0, err
	}
	defer os.Remove(file.Path)

	ds := l.Client.Dataset(l.Dataset)
	table := ds.Table(DailyTable(c.Entity))
	if _, err := table.Metadata(ctx); isNotFound(err) {
		err = table.Create(ctx, &bigquery.TableMetadata{
			Schema:           schema,
			Description:      "History of " + c.Entity + ", day by day: " + c.Description,
			TimePartitioning: &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: "observed_on"},
			Clustering:       &bigquery.Clustering{Fields: []string{"entity_type"}},
			Labels:           l.Labels,
		})
		if err != nil && !isDuplicate(err) {
			return 0, fmt.Errorf("bigquery %s: create table: %w", DailyTable(c.Entity), classify(err))
		}
	} else if err != nil {
		return 0, fmt.Errorf("bigquery %s: %w", DailyTable(c.Entity), classify(err))
	}
	dailyID := JobID(l.RunID, c.Entity, "daily")
	partition := ds.Table(DailyTable(c.Entity) + "$" + day.Format("20060102"))
	status, jobID, err := l.runOnce(ctx, dailyID, l.loadFrom(file.Path, partition, schema, func(loader *bigquery.Loader) {
		loader.SchemaUpdateOptions = []string{"ALLOW_FIELD_ADDITION"}
	}))
	if err != nil {
		return 0, fmt.Errorf("bigquery %s: %w", DailyTable(c.Entity), err)
	}
	rows, ok := outputRows(status)
	if !ok {
		// Without statistics the partition cannot be counted apart from the
		// rest of the table: say so, with the job to look at.
		return 0, pipeline.MarkPermanent(fmt.Errorf("bigquery %s: load job %s reported no statistics; check its partition by hand", DailyTable(c.Entity), jobID))
	}
	if rows != file.Rows {
		return 0, pipeline.MarkPermanent(fmt.Errorf("bigquery %s: load job %s wrote %d rows, the file has %d", DailyTable(c.Entity), jobID, rows, file.Rows))
	}
	return rows, nil
}
