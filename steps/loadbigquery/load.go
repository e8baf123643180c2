// Package loadbigquery loads an entity's spool file into BigQuery with a
// load job: free, atomic, and idempotent with WRITE_TRUNCATE, unlike
// streaming inserts. Before a run's load the current table is copied to
// <entity>__previous, once per run, so that a load can be undone; personal
// data is hashed or left out first, as the contract and the policy say.
// Every job id is derived from the run whose data it moves (runOnce), so a
// retried publish converges to the same tables.
package loadbigquery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
	Contract *schemas.Contract
	File     spool.File
	// RunID is the run whose extract File is: the jobs' ids derive from it.
	RunID     int64
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
	// Reclustered names the tables whose clustering the load changed to
	// the contract's (conformLayout).
	Reclustered []string
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
	loadID := JobID(l.RunID, c.Entity, "load")
	// A load of this run that already succeeded is the result: copying the
	// table to __previous now would overwrite the version it replaced.
	if status, done, err := l.succeeded(ctx, loadID); err != nil {
		return Result{}, fmt.Errorf("bigquery %s: %w", c.Entity, err)
	} else if done {
		return l.result(ctx, table, loadID, status, file)
	}
	md, err := table.Metadata(ctx)
	kept := false
	var reclustered []string
	lay := layoutOf(c)
	switch {
	case isNotFound(err):
		err = table.Create(ctx, &bigquery.TableMetadata{Schema: want, Description: c.Description, Labels: l.Labels,
			TimePartitioning: lay.time, RangePartitioning: lay.ranges, Clustering: lay.cluster})
		if err != nil && !isDuplicate(err) {
			return Result{}, fmt.Errorf("bigquery %s: create table: %w", c.Entity, classify(err))
		}
	case err != nil:
		return Result{}, fmt.Errorf("bigquery %s: %w", c.Entity, classify(err))
	default:
		if _, err := diffSchema(l.Dataset+"."+c.Entity, md.Schema, want); err != nil {
			return Result{}, pipeline.MarkPermanent(err)
		}
		// Partitioning and clustering as the contract says (layout.go).
		if reclustered, err = l.conformLayout(ctx, ds, md); err != nil {
			return Result{}, err
		}
		if err := l.keepPrevious(ctx, ds, table); err != nil {
			return Result{}, fmt.Errorf("bigquery %s: keep previous version: %w", c.Entity, err)
		}
		kept = true
	}

	// WRITE_TRUNCATE replaces the rows and the schema together, in one
	// atomic step; the schema sent is the contract's, with its descriptions.
	status, jobID, err := l.runOnce(ctx, loadID, l.loadFrom(file, table, func(loader *bigquery.Loader) {
		// The table's spec, stated: a load whose spec differs from the
		// table's fails instead of loading into a layout nobody chose.
		loader.TimePartitioning, loader.RangePartitioning, loader.Clustering = lay.time, lay.ranges, lay.cluster
	}))
	if err != nil {
		return Result{}, fmt.Errorf("bigquery %s: load: %w", c.Entity, err)
	}
	res, err := l.result(ctx, table, jobID, status, file)
	res.KeptPrevious, res.Reclustered = kept, reclustered
	return res, err
}

// result checks what a load job wrote against the file it loaded: the
// job's statistics, or, when BigQuery sent none, the table's row count.
func (l *Load) result(ctx context.Context, table *bigquery.Table, jobID string, status *bigquery.JobStatus, file upload) (Result, error) {
	rows, err := verifyRows(ctx, jobID, status, file.Rows, tableRows(table))
	if err != nil {
		return Result{}, fmt.Errorf("bigquery %s: %w", l.Contract.Entity, err)
	}
	return Result{Rows: rows, Bytes: file.Bytes, JobID: jobID}, nil
}

// keepPrevious copies the table to __previous, replacing the copy before,
// once per run: the copy job's id is the run's, so a retry that finds it
// done does not copy again.
func (l *Load) keepPrevious(ctx context.Context, ds *bigquery.Dataset, table *bigquery.Table) error {
	previous := ds.Table(PreviousTable(l.Contract.Entity))
	_, jobID, err := l.runOnce(ctx, JobID(l.RunID, l.Contract.Entity, "keep_previous"), l.copyTo(previous, table))
	if err != nil {
		return err
	}
	return verifyCopy(ctx, jobID, previous, table)
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
