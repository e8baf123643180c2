// Package loadbigquery loads an entity's spool file into BigQuery with a
// load job: free, atomic, and idempotent with WRITE_TRUNCATE, unlike
// streaming inserts. Before each load the current table is copied to
// <entity>__previous, so that a load can be undone; personal data is hashed
// or left out first, as the contract and the policy say.
package loadbigquery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"cloud.google.com/go/bigquery"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/api/googleapi"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/spool"
)

// Target is a BigQuery dataset and how to write to it.
type Target struct {
	Client   *bigquery.Client
	Dataset  string
	Location string
	PII      PIIPolicy
	// Key is the secret of the PII hash (from the environment).
	Key []byte
	// Labels go on the dataset, the tables and the jobs.
	Labels map[string]string
	// ChunkSize, when set, is the upload chunk size; files above it go by
	// resumable upload, each chunk retried on its own.
	ChunkSize int
}

// Load is one load of one entity.
type Load struct {
	Target
	Contract  *schemas.Contract
	File      spool.File
	RunID     int64
	Attempt   int
	BatchSize int
	Mem       memory.Allocator
}

// Result is what a load did.
type Result struct {
	Rows int64
	// Bytes is the size of the file BigQuery loaded.
	Bytes int64
	// KeptPrevious says whether an earlier version was kept as __previous.
	KeptPrevious bool
	JobID        string
}

// PreviousTable is where a table's version before the load is kept.
func PreviousTable(entity string) string { return entity + "__previous" }

// Run loads the entity. Errors are classified where they arise: BigQuery's
// reasons decide what is retried.
func (l *Load) Run(ctx context.Context) (Result, error) {
	c := l.Contract
	if l.Mem == nil {
		l.Mem = memory.DefaultAllocator
	}
	path := strings.TrimSuffix(l.File.Path, ".parquet") + ".bigquery.parquet"
	file, err := loadFile(ctx, l.File, path, c, l.PII, l.Key, l.BatchSize, l.Mem)
	if err != nil {
		return Result{}, fmt.Errorf("bigquery %s: %w", c.Entity, err)
	}
	ds := l.Client.Dataset(l.Dataset)
	if err := l.ensureDataset(ctx, ds); err != nil {
		return Result{}, fmt.Errorf("bigquery %s: dataset %s: %w", c.Entity, l.Dataset, classify(err))
	}
	want := tableSchema(c, l.PII)
	table := ds.Table(c.Entity)
	res := Result{JobID: l.jobID("load")}
	md, err := table.Metadata(ctx)
	switch {
	case isNotFound(err):
		err = table.Create(ctx, &bigquery.TableMetadata{Schema: want, Description: c.Description, Labels: l.Labels})
		if err != nil && !isDuplicate(err) {
			return Result{}, fmt.Errorf("bigquery %s: create table: %w", c.Entity, classify(err))
		}
	case err != nil:
		return Result{}, fmt.Errorf("bigquery %s: %w", c.Entity, classify(err))
	default:
		if _, err := diffSchema(l.Dataset+"."+c.Entity, md.Schema, want); err != nil {
			return Result{}, pipeline.MarkPermanent(err)
		}
		if err := l.keepPrevious(ctx, ds, table); err != nil {
			return Result{}, fmt.Errorf("bigquery %s: keep previous version: %w", c.Entity, err)
		}
		res.KeptPrevious = true
	}

	f, err := os.Open(file.Path)
	if err != nil {
		return Result{}, fmt.Errorf("bigquery %s: %w", c.Entity, err)
	}
	defer f.Close()
	src := bigquery.NewReaderSource(f)
	src.SourceFormat = bigquery.Parquet
	src.Schema = want
	src.ParquetOptions = &bigquery.ParquetOptions{EnableListInference: true}
	loader := table.LoaderFrom(src)
	// WRITE_TRUNCATE replaces the rows and the schema together, in one
	// atomic step; the schema sent is the contract's, with its descriptions.
	loader.WriteDisposition = bigquery.WriteTruncate
	loader.CreateDisposition = bigquery.CreateNever
	loader.DecimalTargetTypes = []bigquery.DecimalTargetType{bigquery.NumericTargetType, bigquery.BigNumericTargetType}
	loader.JobID = res.JobID
	loader.Location = l.Location
	loader.Labels = l.Labels
	if l.ChunkSize > 0 {
		loader.MediaOptions = []googleapi.MediaOption{googleapi.ChunkSize(l.ChunkSize)}
	}
	status, err := l.run(ctx, res.JobID, loader.Run)
	if err != nil {
		return Result{}, fmt.Errorf("bigquery %s: load: %w", c.Entity, err)
	}
	stats, ok := status.Statistics.Details.(*bigquery.LoadStatistics)
	if !ok || stats.OutputRows != file.Rows {
		got := int64(-1)
		if ok {
			got = stats.OutputRows
		}
		return Result{}, pipeline.MarkPermanent(fmt.Errorf("bigquery %s: load job %s wrote %d rows, the spool file has %d", c.Entity, res.JobID, got, file.Rows))
	}
	res.Rows, res.Bytes = stats.OutputRows, file.Bytes
	return res, nil
}

// keepPrevious copies the table to __previous, replacing the copy before.
func (l *Load) keepPrevious(ctx context.Context, ds *bigquery.Dataset, table *bigquery.Table) error {
	copier := ds.Table(PreviousTable(l.Contract.Entity)).CopierFrom(table)
	copier.WriteDisposition = bigquery.WriteTruncate
	copier.CreateDisposition = bigquery.CreateIfNeeded
	copier.JobID = l.jobID("keep_previous")
	copier.Location = l.Location
	copier.Labels = l.Labels
	_, err := l.run(ctx, copier.JobID, copier.Run)
	return err
}

// run starts a job under a deterministic id and waits for it. A job the
// client could not confirm starting (the insert of a job with media is
// never retried) may exist already: a duplicate id means "look it up".
func (l *Load) run(ctx context.Context, id string, start func(context.Context) (*bigquery.Job, error)) (*bigquery.JobStatus, error) {
	job, err := start(ctx)
	if isDuplicate(err) {
		job, err = l.Client.JobFromIDLocation(ctx, id, l.Location)
	}
	if err != nil {
		return nil, classify(err)
	}
	status, err := job.Wait(ctx)
	if err != nil {
		return nil, classify(err)
	}
	// Wait succeeds when the job ran to its end, even if the job failed.
	if err := status.Err(); err != nil {
		return nil, classify(fmt.Errorf("job %s: %w", id, err))
	}
	return status, nil
}

func (l *Load) jobID(kind string) string {
	return fmt.Sprintf("nightshift_run%d_%s_%s_attempt%d", l.RunID, l.Contract.Entity, kind, l.Attempt)
}

func (l *Load) ensureDataset(ctx context.Context, ds *bigquery.Dataset) error {
	if _, err := ds.Metadata(ctx); !isNotFound(err) {
		return err
	}
	err := ds.Create(ctx, &bigquery.DatasetMetadata{
		Location:    l.Location,
		Description: "Teacher-training records loaded by nightshift; see nightshift_runs for freshness.",
		Labels:      l.Labels,
	})
	if isDuplicate(err) {
		return nil
	}
	return err
}

func isNotFound(err error) bool {
	var gerr *googleapi.Error
	return errors.As(err, &gerr) && gerr.Code == http.StatusNotFound
}

func isDuplicate(err error) bool {
	var gerr *googleapi.Error
	return errors.As(err, &gerr) && gerr.Code == http.StatusConflict
}
