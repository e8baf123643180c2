package bqtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	bq "google.golang.org/api/bigquery/v2"
)

// DelayJobFor is DelayJob by time rather than by polls: the next job
// inserted whose id starts with idPrefix ("" for any) answers RUNNING to
// every jobs.get until d has passed since its insert, however often it is
// polled; the first poll after that runs it and answers DONE. Like
// DelayJob, it takes precedence over DelayJobs. The Go client's Wait backs
// off between polls (up to 1s, 2s, 4s... with full jitter), so such a job
// is seen DONE within about 2d + 1s.
func (s *Server) DelayJobFor(idPrefix string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays = append(s.delays, jobRule{prefix: idPrefix, d: d})
}

// JobErrors makes the next job inserted whose id starts with idPrefix ("" for
// any) end DONE with status.errorResult result and status.errors errs, as
// BigQuery reports a job's outcome. With a result, the job failed and
// changed no table; errors[] then holds the failure and its details (each
// bad row's location, say) and is [result] when errs is empty. With result
// nil, the job runs as usual and errs are warnings only: "Errors here do
// not necessarily mean that the job has not completed or was unsuccessful"
// (REST reference, JobStatus.errors).
func (s *Server) JobErrors(idPrefix string, result *bq.ErrorProto, errs ...*bq.ErrorProto) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails = append(s.fails, jobRule{prefix: idPrefix, result: result, errs: errs})
}

// Upload is a file sent with a jobs.insert (a load job's media), as the
// fake received it.
type Upload struct {
	JobID string
	// Table is the load's destination table id, with its partition
	// decorator if it had one.
	Table string
	Data  []byte
}

// Uploads returns every file sent with a jobs.insert, in the order they
// arrived: those of jobs that failed, and of inserts refused as
// duplicates, included, since their bytes reached BigQuery all the same.
func (s *Server) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.uploads)
}

// Decode reads every column of the upload's Parquet file, whatever schema
// its job declared (a column the schema leaves out has still left): the
// file's own column names, in order, and its rows, valued as the loaded
// tables' rows are (a list column as []any, a JSON one as its text).
func (u Upload) Decode() ([]string, []map[string]any, error) {
	pf, err := file.NewParquetReader(bytes.NewReader(u.Data))
	if err != nil {
		return nil, nil, fmt.Errorf("upload of job %s: %w", u.JobID, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 4096}, memory.DefaultAllocator)
	if err != nil {
		return nil, nil, fmt.Errorf("upload of job %s: %w", u.JobID, err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("upload of job %s: %w", u.JobID, err)
	}
	defer rr.Release()
	var names []string
	for _, f := range rr.Schema().Fields() {
		names = append(names, f.Name)
	}
	var rows []map[string]any
	for rr.Next() {
		rec := rr.RecordBatch()
		for r := range int(rec.NumRows()) {
			row := make(map[string]any, len(names))
			for i, name := range names {
				row[name] = value(rec.Column(i), r)
			}
			rows = append(rows, row)
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("upload of job %s: %w", u.JobID, err)
	}
	return names, rows, nil
}

func loadDestination(job *bq.Job) string {
	if job.Configuration == nil || job.Configuration.Load == nil || job.Configuration.Load.DestinationTable == nil {
		return ""
	}
	return job.Configuration.Load.DestinationTable.TableId
}

// poll is one look at a job by its client: a job delayed by polls comes one
// closer to DONE, one delayed by time becomes DONE once its time has come.
// Called with mu.
func (s *Server) poll(rec *jobRun) {
	switch {
	case !rec.until.IsZero():
		if !time.Now().Before(rec.until) {
			s.finish(rec)
		}
	case rec.polls > 0:
		if rec.polls--; rec.polls == 0 {
			s.finish(rec)
		}
	}
}

// omitStatistics returns stats without fields (OmitStatistics' paths), as
// a JSON answer that lacks them would decode: a missing number reads 0.
func omitStatistics(stats *bq.JobStatistics, fields []string) *bq.JobStatistics {
	if stats == nil || len(fields) == 0 {
		return stats
	}
	var m map[string]any
	mustRoundTrip(stats, &m)
	for _, f := range fields {
		parent, leaf, nested := strings.Cut(f, ".")
		if !nested {
			delete(m, f)
			continue
		}
		if sub, ok := m[parent].(map[string]any); ok {
			delete(sub, leaf)
		}
	}
	out := &bq.JobStatistics{}
	mustRoundTrip(m, out)
	return out
}

// mustRoundTrip moves in into out through JSON; the values are the fake's
// own, so a failure is the fake's bug.
func mustRoundTrip(in, out any) {
	b, err := json.Marshal(in)
	if err == nil {
		err = json.Unmarshal(b, out)
	}
	if err != nil {
		panic(fmt.Sprintf("bqtest: statistics: %v", err))
	}
}

// mustBeStatistic panics unless path ("load", "load.outputRows") names a
// field of a job's statistics, at most two levels deep.
func mustBeStatistic(path string) {
	parts := strings.Split(path, ".")
	t := reflect.TypeFor[bq.JobStatistics]()
	for _, name := range parts {
		f, ok := jsonField(t, name)
		if !ok || len(parts) > 2 {
			panic(fmt.Sprintf("bqtest: OmitStatistics: job statistics have no field %q", path))
		}
		t = f.Type
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
	}
}

func jsonField(t reflect.Type, name string) (reflect.StructField, bool) {
	if t.Kind() != reflect.Struct {
		return reflect.StructField{}, false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
