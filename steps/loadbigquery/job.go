package loadbigquery

import (
	"context"
	"errors"
	"fmt"
	"os"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"

	"github.com/dfe-nightshift/nightshift/pipeline"
)

// maxGenerations caps how many times a job of one run is started again
// after failing: it bounds a publish that BigQuery keeps refusing, on top
// of the runner's own attempts.
const maxGenerations = 5

// JobID is the id of a job of a run: derived from the run whose data it
// moves, never from the attempt, so that every attempt of that run — in
// this process or a later `nightshift retry` — finds the job an earlier one
// started instead of running it again.
func JobID(runID int64, entity, kind string) string {
	return fmt.Sprintf("nightshift_run%d_%s_%s", runID, entity, kind)
}

// generation is the id of the gen-th job for id: the first is id itself.
func generation(id string, gen int) string {
	if gen == 1 {
		return id
	}
	return fmt.Sprintf("%s_r%d", id, gen)
}

// starter starts a job under the given id.
type starter func(ctx context.Context, id string) (*bigquery.Job, error)

// errJobFailed marks a job that ran to its end and failed: the next
// generation may be started.
var errJobFailed = errors.New("job failed")

// wait awaits a job to its end and returns its status, or why it failed:
// Wait succeeds when the job ran to its end even if the job failed, so the
// status's own error is checked too.
func wait(ctx context.Context, job *bigquery.Job, id string) (*bigquery.JobStatus, error) {
	status, err := job.Wait(ctx)
	if err != nil {
		return nil, classify(err)
	}
	if err := status.Err(); err != nil {
		return status, fmt.Errorf("%w: job %s: %w", errJobFailed, id, classify(err))
	}
	return status, nil
}

// current walks the generations of id (id, id_r2, …) past those that
// failed, to the one that counts: a job that exists — awaited if it is
// still running, its attempt having given up before it finished — or,
// when found is false, the id under which the next job is to be started.
func (t Target) current(ctx context.Context, id string) (status *bigquery.JobStatus, jid string, found bool, err error) {
	for gen := 1; gen <= maxGenerations; gen++ {
		jid = generation(id, gen)
		job, err := t.Client.JobFromIDLocation(ctx, jid, t.Location)
		if isNotFound(err) {
			return nil, jid, false, nil
		}
		if err != nil {
			return nil, jid, true, classify(err)
		}
		status, err = wait(ctx, job, jid)
		if errors.Is(err, errJobFailed) {
			continue
		}
		return status, jid, true, err
	}
	return nil, id, true, pipeline.MarkPermanent(fmt.Errorf("job %s failed %d times; see the jobs in the BigQuery console", id, maxGenerations))
}

// succeeded returns the status of the job of id that succeeded, if one
// did.
func (t Target) succeeded(ctx context.Context, id string) (*bigquery.JobStatus, bool, error) {
	status, _, found, err := t.current(ctx, id)
	if !found || errors.Is(err, errJobFailed) {
		return nil, false, nil
	}
	return status, err == nil, err
}

// runOnce is the one way nightshift runs a BigQuery job: at most one job
// of id succeeds, however often it is called. A job of id that exists is
// awaited, not started again; one that failed is followed by a new
// generation (id_r2, …); a job this call starts is awaited, and its
// failure returned, classified, for the runner to retry.
func (t Target) runOnce(ctx context.Context, id string, start starter) (*bigquery.JobStatus, string, error) {
	status, jid, found, err := t.current(ctx, id)
	if found {
		return status, jid, err
	}
	job, err := start(ctx, jid)
	if isDuplicate(err) {
		// The insert reached BigQuery but its answer did not reach us.
		job, err = t.Client.JobFromIDLocation(ctx, jid, t.Location)
	}
	if err != nil {
		return nil, jid, classify(err)
	}
	status, err = wait(ctx, job, jid)
	return status, jid, err
}

// outputRows is the rows a load job wrote, from its statistics. A job
// resource without them (BigQuery does not promise them) is reported, not
// trusted: ok is false.
func outputRows(status *bigquery.JobStatus) (int64, bool) {
	if status == nil || status.Statistics == nil {
		return 0, false
	}
	stats, ok := status.Statistics.Details.(*bigquery.LoadStatistics)
	if !ok || stats == nil {
		return 0, false
	}
	return stats.OutputRows, true
}

// loadFrom starts a WRITE_TRUNCATE load of the Parquet file at path into
// table (which must exist), declaring schema; set adjusts the loader.
func (t Target) loadFrom(path string, table *bigquery.Table, schema bigquery.Schema, set func(*bigquery.Loader)) starter {
	return func(ctx context.Context, id string) (*bigquery.Job, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, pipeline.MarkPermanent(err)
		}
		defer f.Close()
		src := bigquery.NewReaderSource(f)
		src.SourceFormat = bigquery.Parquet
		src.Schema = schema
		src.ParquetOptions = &bigquery.ParquetOptions{EnableListInference: true}
		loader := table.LoaderFrom(src)
		loader.WriteDisposition = bigquery.WriteTruncate
		loader.CreateDisposition = bigquery.CreateNever
		loader.JobID, loader.Location, loader.Labels = id, t.Location, t.Labels
		if t.ChunkSize > 0 {
			loader.MediaOptions = []googleapi.MediaOption{googleapi.ChunkSize(t.ChunkSize)}
		}
		set(loader)
		return loader.Run(ctx)
	}
}

// copyTo starts a copy job replacing dst with src, creating dst if needed.
func (t Target) copyTo(dst, src *bigquery.Table) starter {
	return func(ctx context.Context, id string) (*bigquery.Job, error) {
		copier := dst.CopierFrom(src)
		copier.WriteDisposition = bigquery.WriteTruncate
		copier.CreateDisposition = bigquery.CreateIfNeeded
		copier.JobID, copier.Location, copier.Labels = id, t.Location, t.Labels
		return copier.Run(ctx)
	}
}
