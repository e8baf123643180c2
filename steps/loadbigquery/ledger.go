package loadbigquery

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// LedgerTable is the BigQuery table of the run ledger.
const LedgerTable = "nightshift_runs"

// ledgerColumns describe nightshift_runs for analysts, each with how
// personal it is. started_by (user@host) names the person who started a
// run, so it leaves as the PII policy says, like any personal column: the
// warehouse's nightshift.runs keeps it in full.
var ledgerColumns = []classified{
	{&bigquery.FieldSchema{Name: "id", Type: bigquery.IntegerFieldType, Required: true, Description: "Run number (nightshift.runs.id in the warehouse)."}, schemas.PIINone},
	{&bigquery.FieldSchema{Name: "env", Type: bigquery.StringFieldType, Required: true, Description: "Environment the run ran in."}, schemas.PIINone},
	{&bigquery.FieldSchema{Name: "trigger", Type: bigquery.StringFieldType, Required: true, Description: "What started it: schedule, manual, backfill, retry or restore."}, schemas.PIINone},
	{&bigquery.FieldSchema{Name: "entities", Type: bigquery.StringFieldType, Repeated: true, Description: "Entities the run covered."}, schemas.PIINone},
	{&bigquery.FieldSchema{Name: "reason", Type: bigquery.StringFieldType, Description: "Why it was started, for manual runs."}, schemas.PIINone},
	{&bigquery.FieldSchema{Name: "started_by", Type: bigquery.StringFieldType, Required: true, Description: "user@host that started it."}, schemas.PIIPersonal},
	{&bigquery.FieldSchema{Name: "started_at", Type: bigquery.TimestampFieldType, Required: true, Description: "When it started (UTC); the table is partitioned by its day."}, schemas.PIINone},
	{&bigquery.FieldSchema{Name: "finished_at", Type: bigquery.TimestampFieldType, Description: "When it ended; NULL while running."}, schemas.PIINone},
	{&bigquery.FieldSchema{Name: "status", Type: bigquery.StringFieldType, Required: true, Description: "running, succeeded, failed, aborted, abandoned or refused."}, schemas.PIINone},
	{&bigquery.FieldSchema{Name: "error", Type: bigquery.StringFieldType, Description: "Why it did not succeed."}, schemas.PIINone},
	{&bigquery.FieldSchema{Name: "source_versions", Type: bigquery.JSONFieldType, Description: "schema_migrations version of each source read."}, schemas.PIINone},
	{&bigquery.FieldSchema{Name: "results", Type: bigquery.JSONFieldType, Description: "Final status of each entity."}, schemas.PIINone},
	{&bigquery.FieldSchema{Name: "rows", Type: bigquery.IntegerFieldType, Description: "Rows loaded, over all entities."}, schemas.PIINone},
}

// Querier reads the warehouse ledger.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// LoadLedger replaces the day's partition of nightshift_runs with the
// day's runs from the warehouse ledger, so that analysts see in BigQuery how
// fresh the data is. Loading the same day again replaces the partition
// instead of duplicating it. The ledger leaves through prepare, like every
// entity, so the PII policy applies to it too.
func LoadLedger(ctx context.Context, t Target, wh Querier, day time.Time, dir string) error {
	day = day.UTC().Truncate(24 * time.Hour)
	rec, err := readLedger(ctx, wh, day)
	if err != nil {
		return fmt.Errorf("bigquery ledger: %w", err)
	}
	defer rec.Release()
	rr, err := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
	if err != nil {
		return fmt.Errorf("bigquery ledger: %w", err)
	}
	defer rr.Release()
	file, err := prepare(rr, filepath.Join(dir, "ledger-"+day.Format("20060102")+".parquet"), classifiedShape(ledgerColumns, t.PII), t.Key, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("bigquery ledger: %w", err)
	}
	defer os.Remove(file.Path)

	l := &Load{Target: t}
	ds := t.Client.Dataset(t.Dataset)
	if err := l.ensureDataset(ctx, ds); err != nil {
		return fmt.Errorf("bigquery ledger: %w", classify(err))
	}
	table := ds.Table(LedgerTable)
	if _, err := table.Metadata(ctx); isNotFound(err) {
		err = table.Create(ctx, &bigquery.TableMetadata{
			Schema:           file.schema,
			Description:      "One row per nightshift run: when it ran, what it loaded and how it ended.",
			TimePartitioning: &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: "started_at"},
			Labels:           t.Labels,
		})
		if err != nil && !isDuplicate(err) {
			return fmt.Errorf("bigquery ledger: create table: %w", classify(err))
		}
	} else if err != nil {
		return fmt.Errorf("bigquery ledger: %w", classify(err))
	}
	// Each load of a day replaces the whole partition, so it needs no id
	// of its own: BigQuery draws one.
	job, err := t.loadFrom(file, ds.Table(LedgerTable+"$"+day.Format("20060102")), nil)(ctx, "")
	if err != nil {
		return fmt.Errorf("bigquery ledger: %w", classify(err))
	}
	status, err := wait(ctx, job, job.ID())
	if err != nil {
		return fmt.Errorf("bigquery ledger: %w", err)
	}
	if _, err := verifyRows(ctx, job.ID(), status, file.Rows, t.partitionRows(table, "started_at", true, day)); err != nil {
		return fmt.Errorf("bigquery ledger: %w", err)
	}
	return nil
}

// readLedger reads the day's runs from the warehouse ledger, as they are:
// prepare decides what of them leaves.
func readLedger(ctx context.Context, wh Querier, day time.Time) (arrow.RecordBatch, error) {
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "env", Type: arrow.BinaryTypes.String},
		{Name: "trigger", Type: arrow.BinaryTypes.String},
		{Name: "entities", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
		{Name: "reason", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "started_by", Type: arrow.BinaryTypes.String},
		{Name: "started_at", Type: ts},
		{Name: "finished_at", Type: ts, Nullable: true},
		{Name: "status", Type: arrow.BinaryTypes.String},
		{Name: "error", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "source_versions", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "results", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "rows", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	rows, err := wh.Query(ctx, `
		SELECT r.id, r.env, r.trigger, r.entities, r.reason, r.started_by, r.started_at, r.finished_at, r.status, r.error,
		       r.source_versions::text, r.results::text,
		       (SELECT sum(m.rows) FROM (SELECT max(s.rows) AS rows FROM nightshift.step_runs s
		                                 WHERE s.run_id = r.id AND s.status = 'succeeded' AND s.entity <> '*' GROUP BY s.entity) m)::int8
		FROM nightshift.runs r
		WHERE r.started_at >= $1 AND r.started_at < $1 + interval '1 day'
		ORDER BY r.id`, day)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer rb.Release()
	str := func(i int) *array.StringBuilder { return rb.Field(i).(*array.StringBuilder) }
	optStr := func(b array.Builder, s *string) error {
		if s == nil {
			b.AppendNull()
			return nil
		}
		return b.AppendValueFromString(*s)
	}
	for rows.Next() {
		var (
			id                              int64
			env, trigger, startedBy, status string
			entities                        []string
			reason, errText, versions, res  *string
			started                         time.Time
			finished                        *time.Time
			loaded                          *int64
		)
		if err := rows.Scan(&id, &env, &trigger, &entities, &reason, &startedBy, &started, &finished, &status, &errText, &versions, &res, &loaded); err != nil {
			return nil, err
		}
		rb.Field(0).(*array.Int64Builder).Append(id)
		str(1).Append(env)
		str(2).Append(trigger)
		lb := rb.Field(3).(*array.ListBuilder)
		lb.Append(true)
		for _, e := range entities {
			lb.ValueBuilder().(*array.StringBuilder).Append(e)
		}
		if err := optStr(rb.Field(4), reason); err != nil {
			return nil, err
		}
		str(5).Append(startedBy)
		rb.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(started.UnixMicro()))
		if finished == nil {
			rb.Field(7).AppendNull()
		} else {
			rb.Field(7).(*array.TimestampBuilder).Append(arrow.Timestamp(finished.UnixMicro()))
		}
		str(8).Append(status)
		for i, s := range []*string{errText, versions, res} {
			if err := optStr(rb.Field(9+i), s); err != nil {
				return nil, err
			}
		}
		if loaded == nil {
			rb.Field(12).AppendNull()
		} else {
			rb.Field(12).(*array.Int64Builder).Append(*loaded)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return rb.NewRecordBatch(), nil
}
