package loadbigquery

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// DailyTable is the BigQuery table that keeps a statuses entity's history:
// one partition per day, holding every entity's status as observed that day.
func DailyTable(entity string) string { return entity + "_daily" }

// LoadDaily replaces the day's partition of <entity>_daily with the
// statuses just loaded, stamped with observed_on. Re-running a day
// replaces its partition; it never duplicates it. Analysts get the history
// of every status, day by day, next to the warehouse's type-2
// status_history. What leaves is shaped like the entity's own load (the
// PII policy applied by prepare), with observed_on ahead.
func (l *Load) LoadDaily(ctx context.Context, observed time.Time) (int64, error) {
	c := l.Contract
	name := DailyTable(c.Entity)
	if l.Mem == nil {
		l.Mem = memory.DefaultAllocator
	}
	utc := observed.UTC()
	day := time.Date(utc.Year(), utc.Month(), utc.Day(), 0, 0, 0, 0, time.UTC)
	path := strings.TrimSuffix(l.File.Path, ".parquet") + ".daily.parquet"
	file, err := prepareSpool(ctx, l.File, path, dailyShape(c, l.PII, day), l.Key, l.BatchSize, l.Mem)
	if err != nil {
		return 0, fmt.Errorf("bigquery %s: %w", name, err)
	}
	defer os.Remove(file.Path)

	ds := l.Client.Dataset(l.Dataset)
	table := ds.Table(name)
	if _, err := table.Metadata(ctx); isNotFound(err) {
		err = table.Create(ctx, &bigquery.TableMetadata{
			Schema:           file.schema,
			Description:      "History of " + c.Entity + ", day by day: " + c.Description,
			TimePartitioning: &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: observedOnField.Name},
			Clustering:       &bigquery.Clustering{Fields: []string{"entity_type"}},
			Labels:           l.Labels,
		})
		if err != nil && !isDuplicate(err) {
			return 0, fmt.Errorf("bigquery %s: create table: %w", name, classify(err))
		}
	} else if err != nil {
		return 0, fmt.Errorf("bigquery %s: %w", name, classify(err))
	}
	partition := ds.Table(name + "$" + day.Format("20060102"))
	status, jobID, err := l.runOnce(ctx, JobID(l.RunID, c.Entity, "daily"), l.loadFrom(file, partition, nil))
	if err != nil {
		return 0, fmt.Errorf("bigquery %s: %w", name, err)
	}
	// The rest of the table is other days': without statistics, only the
	// day's partition can say what the job wrote.
	rows, err := verifyRows(ctx, jobID, status, file.Rows, l.partitionRows(table, observedOnField.Name, false, day))
	if err != nil {
		return 0, fmt.Errorf("bigquery %s: %w", name, err)
	}
	return rows, nil
}
