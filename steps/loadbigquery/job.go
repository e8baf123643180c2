package loadbigquery

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"

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
// status's own error is checked too, and errors[] is added to it, since
// BigQuery's errorResult often says only that reading the file failed and
// errors[] says where.
func wait(ctx context.Context, job *bigquery.Job, id string) (*bigquery.JobStatus, error) {
	status, err := awaitJob(ctx, job)
	if err != nil {
		return nil, fmt.Errorf("job %s: %w", id, classify(err))
	}
	if status == nil {
		// The client returns the status it last read; a job resource
		// without one leaves nothing to judge the job by. Reading the job
		// again may find it.
		return nil, pipeline.MarkTransient(fmt.Errorf("job %s: BigQuery answered without the job's status", id))
	}
	if err := status.Err(); err != nil {
		return status, fmt.Errorf("%w: job %s: %w%s", errJobFailed, id, classify(err), details(err, status.Errors))
	}
	return status, nil
}

// awaitJob is job.Wait, except for a query job, which is polled through
// jobs.get as load and copy jobs are: the client's Wait reads a query job
// through getQueryResults, which answers a failed job with the job's error
// — retried by the client for as long as its reason looks transient —
// where the DONE status lets runOnce start the job's next generation.
func awaitJob(ctx context.Context, job *bigquery.Job) (*bigquery.JobStatus, error) {
	cfg, err := job.Config()
	if _, isQuery := cfg.(*bigquery.QueryConfig); err != nil || !isQuery {
		return job.Wait(ctx)
	}
	pause := 100 * time.Millisecond
	for {
		status, err := job.Status(ctx)
		if err != nil || status == nil || status.Done() { // no status: wait reports it
			return status, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// details is what errors[] adds to a job's errorResult, at most three of
// them: BigQuery can list one per bad row.
func details(result error, errs []*bigquery.Error) string {
	var out []string
	for _, e := range errs {
		if e != nil && e.Error() != result.Error() && !slices.Contains(out, e.Error()) {
			out = append(out, e.Error())
		}
	}
	if len(out) == 0 {
		return ""
	}
	if len(out) > 3 {
		out = append(out[:3], fmt.Sprintf("and %d more", len(out)-3))
	}
	return " (also: " + strings.Join(out, "; ") + ")"
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
			return nil, jid, true, fmt.Errorf("look up job %s: %w", jid, classify(err))
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
		return nil, jid, fmt.Errorf("start job %s: %w", jid, classify(err))
	}
	status, err = wait(ctx, job, jid)
	return status, jid, err
}

// outputRows is the rows a load job wrote, from its statistics. A job
// resource without them (BigQuery does not promise them) is reported, not
// trusted: ok is false. Without outputRows alone the client reads 0, which
// verifyRows does not trust either unless the file was empty.
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

// counter counts the rows a load's destination holds: a table's, or one
// partition's.
type counter func(ctx context.Context) (int64, error)

// verifyRows checks that the load job jobID wrote want rows: by its
// statistics, or, when they do not say so — none, or none for outputRows,
// which reads as 0, or a number that is not the file's — by counting its
// destination, which decides. A count that differs is permanent: the job
// is done, and counting again will find the same. A count that could not
// be made keeps its own class, since another attempt counts again.
func verifyRows(ctx context.Context, jobID string, status *bigquery.JobStatus, want int64, count counter) (int64, error) {
	stated, ok := outputRows(status)
	if ok && stated == want {
		return want, nil
	}
	said := "reported no statistics"
	if ok {
		said = fmt.Sprintf("reported %d output rows", stated)
	}
	got, err := count(ctx)
	if err != nil {
		return 0, fmt.Errorf("load job %s %s, and its destination could not be counted: %w", jobID, said, err)
	}
	if got != want {
		return 0, pipeline.MarkPermanent(fmt.Errorf("load job %s %s, and its destination holds %d rows: the file it loaded has %d", jobID, said, got, want))
	}
	return got, nil
}

// tableRows counts a table's rows from its metadata, which a load job
// brings up to date when it ends.
func tableRows(table *bigquery.Table) counter {
	return func(ctx context.Context) (int64, error) {
		md, err := table.Metadata(ctx)
		if err != nil {
			return 0, classify(err)
		}
		if md.NumRows > math.MaxInt64 {
			return 0, pipeline.MarkPermanent(fmt.Errorf("table %s reports %d rows", table.TableID, md.NumRows))
		}
		return int64(md.NumRows), nil
	}
}

// partitionRows counts the rows of table's partition for day, the table
// being partitioned by day on field (a DATE, or a TIMESTAMP when timestamp
// is set), with a query: the API reference documents no other way to one
// partition's row count (tables.get says nothing of partition decorators),
// and a COUNT(*) filtered on the partitioning column reads that partition
// alone.
func (t Target) partitionRows(table *bigquery.Table, field string, timestamp bool, day time.Time) counter {
	return func(ctx context.Context) (int64, error) {
		name, _, _ := strings.Cut(table.TableID, "$")
		q := t.Client.Query(fmt.Sprintf("SELECT COUNT(*) FROM `%s.%s.%s` WHERE `%s` >= @from AND `%s` < @to",
			table.ProjectID, table.DatasetID, name, field, field))
		from, to := day, day.AddDate(0, 0, 1)
		q.Parameters = []bigquery.QueryParameter{{Name: "from", Value: from}, {Name: "to", Value: to}}
		if !timestamp {
			date := func(d time.Time) *bigquery.QueryParameterValue {
				return &bigquery.QueryParameterValue{Type: bigquery.StandardSQLDataType{TypeKind: "DATE"}, Value: d.Format(time.DateOnly)}
			}
			q.Parameters = []bigquery.QueryParameter{{Name: "from", Value: date(from)}, {Name: "to", Value: date(to)}}
		}
		q.Location, q.Labels = t.Location, t.Labels
		return countRows(ctx, q)
	}
}

// countRows reads the one value of a COUNT(*) query, refusing any other
// answer instead of trusting it.
func countRows(ctx context.Context, q *bigquery.Query) (int64, error) {
	it, err := q.Read(ctx)
	if err != nil {
		return 0, fmt.Errorf("count: %w", classify(err))
	}
	var row []bigquery.Value
	switch err := it.Next(&row); {
	case errors.Is(err, iterator.Done):
		return 0, pipeline.MarkPermanent(errors.New("count: the query returned no row"))
	case err != nil:
		return 0, fmt.Errorf("count: %w", classify(err))
	}
	if len(row) != 1 {
		return 0, pipeline.MarkPermanent(fmt.Errorf("count: the query returned %d values, not 1", len(row)))
	}
	n, ok := row[0].(int64)
	if !ok {
		return 0, pipeline.MarkPermanent(fmt.Errorf("count: the query returned %v (%T), not a number", row[0], row[0]))
	}
	return n, nil
}

// loadFrom starts a WRITE_TRUNCATE load of u into table (which must
// exist), declaring u's schema; set adjusts the loader's options (the
// table's partitioning, say) but may not change what is sent. A partition
// decorator on table (t$20240102) replaces that partition only, and may
// add the columns u has that the table lacks. Decimals become NUMERIC
// where they fit and BIGNUMERIC otherwise, as the schema declares them.
func (t Target) loadFrom(u upload, table *bigquery.Table, set func(*bigquery.Loader)) starter {
	return func(ctx context.Context, id string) (*bigquery.Job, error) {
		f, err := os.Open(u.Path)
		if err != nil {
			return nil, pipeline.MarkPermanent(err)
		}
		defer f.Close()
		src := bigquery.NewReaderSource(f)
		src.SourceFormat = bigquery.Parquet
		src.Schema = u.schema
		src.ParquetOptions = &bigquery.ParquetOptions{EnableListInference: true}
		loader := table.LoaderFrom(src)
		loader.WriteDisposition = bigquery.WriteTruncate
		loader.CreateDisposition = bigquery.CreateNever
		loader.DecimalTargetTypes = []bigquery.DecimalTargetType{bigquery.NumericTargetType, bigquery.BigNumericTargetType}
		if strings.Contains(table.TableID, "$") {
			loader.SchemaUpdateOptions = []string{"ALLOW_FIELD_ADDITION"}
		}
		loader.JobID, loader.Location, loader.Labels = id, t.Location, t.Labels
		if t.ChunkSize > 0 {
			loader.MediaOptions = []googleapi.MediaOption{googleapi.ChunkSize(t.ChunkSize)}
		}
		if set != nil {
			set(loader)
		}
		if loader.Src != src || !sameSchema(src.Schema, u.schema) || src.SourceFormat != bigquery.Parquet {
			return nil, pipeline.MarkPermanent(fmt.Errorf("load into %s: the loader's source was changed; only an upload, as prepared, may be sent", table.TableID))
		}
		return loader.Run(ctx)
	}
}

// sameSchema says whether a is b, field for field.
func sameSchema(a, b bigquery.Schema) bool {
	return slices.Equal(a, b)
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

// verifyCopy checks that the copy job jobID left dst with src's rows. The
// Go client reports no statistics for copy jobs at all, so the two tables
// are counted; src is the table the job copied, which nothing changes
// between the copy and this check (one run at a time, and its load comes
// after).
func verifyCopy(ctx context.Context, jobID string, dst, src *bigquery.Table) error {
	want, err := tableRows(src)(ctx)
	if err != nil {
		return fmt.Errorf("copy job %s: counting %s: %w", jobID, src.TableID, err)
	}
	got, err := tableRows(dst)(ctx)
	if err != nil {
		return fmt.Errorf("copy job %s: counting %s: %w", jobID, dst.TableID, err)
	}
	if got != want {
		return pipeline.MarkPermanent(fmt.Errorf("copy job %s left %s with %d rows; %s has %d", jobID, dst.TableID, got, src.TableID, want))
	}
	return nil
}
