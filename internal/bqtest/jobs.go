package bqtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"time"

	bq "google.golang.org/api/bigquery/v2"
)

// jobError is a failure that belongs in the job's status, not in HTTP.
type jobError struct{ reason, msg string }

func (e *jobError) Error() string { return e.reason + ": " + e.msg }

func invalid(format string, args ...any) error {
	return &jobError{reason: "invalid", msg: fmt.Sprintf(format, args...)}
}

// jobRun is a job the fake has accepted. job is what jobs.insert and
// jobs.get answer; once handed out it is never changed, only replaced, so a
// caller holding one (Jobs) does not race with a later poll.
type jobRun struct {
	project string
	job     *bq.Job
	data    []byte           // the uploaded file, kept until the job runs
	polls   int              // jobs.get answers still RUNNING, the last of them finishing the job
	fail    *bq.ErrorProto   // the job ends DONE with this error, touching no table
	noStats bool             // the job's resource never has a statistics field
	runs    int              // times the job ran to DONE; 1 at most unless the fake is wrong
	until   time.Time        // DelayJobFor: RUNNING, whatever the polls, until then
	omit    []string         // OmitStatistics with fields: statistics fields never answered
	errs    []*bq.ErrorProto // JobErrors: status.errors as given (details, or a success's warnings)
}

// jobRule is a one-shot injection for the next job whose id starts with
// prefix.
type jobRule struct {
	prefix string
	n      int              // DelayJob: polls
	d      time.Duration    // DelayJobFor
	fields []string         // OmitStatistics: the fields left out; none for all
	result *bq.ErrorProto   // FailJob, JobErrors: status.errorResult
	errs   []*bq.ErrorProto // JobErrors: status.errors
}

// takeRule removes and returns the first rule matching id.
func takeRule(rules *[]jobRule, id string) (jobRule, bool) {
	for i, r := range *rules {
		if strings.HasPrefix(id, r.prefix) {
			*rules = slices.Delete(*rules, i, i+1)
			return r, true
		}
	}
	return jobRule{}, false
}

// insertJob is jobs.insert: it records a job under its id, unique in the
// project, and answers with it, DONE unless delayed. It returns the job's
// key, or "" when no job was created.
func (s *Server) insertJob(w http.ResponseWriter, project string, job *bq.Job, data []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if job.Configuration == nil {
		writeError(w, http.StatusBadRequest, "invalid", "Required parameter is missing: configuration")
		return ""
	}
	if job.JobReference == nil {
		job.JobReference = &bq.JobReference{}
	}
	if job.JobReference.JobId == "" {
		s.nextID++
		job.JobReference.JobId = fmt.Sprintf("bqtest_job_%d", s.nextID)
	}
	id := job.JobReference.JobId
	job.JobReference.ProjectId = project
	key := project + "." + id
	if data != nil {
		// The bytes reached BigQuery whatever becomes of the job, even
		// when its id is refused below.
		s.uploads = append(s.uploads, Upload{JobID: id, Table: loadDestination(job), Data: data})
	}
	if _, dup := s.jobs[key]; dup {
		// BigQuery refuses a second job with an id, however the first one
		// went, and runs nothing.
		name := project + ":" + id
		if loc := job.JobReference.Location; loc != "" {
			name = project + ":" + loc + "." + id
		}
		writeError(w, http.StatusConflict, "duplicate", "Already Exists: Job "+name)
		return ""
	}
	rec := &jobRun{project: project, job: job, data: data, polls: s.delay}
	// What happens to the job is settled now, in the order jobs arrive,
	// even if it runs later.
	if r, ok := takeRule(&s.delays, id); ok {
		rec.polls = r.n
		if r.d > 0 {
			rec.polls, rec.until = 0, time.Now().Add(r.d)
		}
	}
	if r, ok := takeRule(&s.fails, id); ok {
		rec.fail, rec.errs = r.result, r.errs
	} else if job.Configuration.Load != nil && len(s.loadFail) > 0 {
		rec.fail = s.loadFail[0]
		s.loadFail = s.loadFail[1:]
	}
	if r, ok := takeRule(&s.noStats, id); ok {
		rec.noStats, rec.omit = len(r.fields) == 0, r.fields
	}
	start := now()
	job.Status = &bq.JobStatus{State: "RUNNING"}
	if !rec.noStats {
		job.Statistics = omitStatistics(&bq.JobStatistics{CreationTime: start, StartTime: start}, rec.omit)
	} else {
		job.Statistics = nil
	}
	s.jobs[key] = rec
	s.order = append(s.order, key)
	if rec.polls <= 0 && rec.until.IsZero() {
		s.finish(rec)
	}
	if len(s.lost) > 0 {
		f := &s.lost[0]
		if f.n--; f.n <= 0 {
			s.lost = s.lost[1:]
		}
		writeError(w, f.status, f.reason, f.msg)
		return key
	}
	writeJSON(w, rec.job)
	return key
}

// finish runs a job, changing tables only now, and makes it DONE. Called
// with mu.
func (s *Server) finish(rec *jobRun) {
	cfg := rec.job.Configuration
	stats := &bq.JobStatistics{}
	if rec.job.Statistics != nil {
		stats.CreationTime, stats.StartTime = rec.job.Statistics.CreationTime, rec.job.Statistics.StartTime
	}
	var err error
	switch {
	case rec.fail != nil:
		err = &jobError{reason: rec.fail.Reason, msg: rec.fail.Message}
	case cfg.Load != nil:
		stats.Load, err = s.load(rec.project, cfg.Load, rec.data)
	case cfg.Copy != nil:
		stats.Copy, err = s.copy(rec.project, cfg.Copy)
	case cfg.Query != nil && cfg.Query.DestinationTable != nil:
		stats.Query, err = s.queryInto(rec.project, cfg.Query) // partition.go
	case cfg.Query != nil:
		stats.Query, err = s.query(rec.project, cfg.Query)
	default:
		err = invalid("bqtest runs load, copy and query jobs only")
	}
	rec.runs++
	rec.data = nil
	rec.polls, rec.until = 0, time.Time{}
	status := &bq.JobStatus{State: "DONE"}
	if err != nil {
		var je *jobError
		if !errors.As(err, &je) {
			je = &jobError{reason: "backendError", msg: err.Error()}
		}
		status.ErrorResult = &bq.ErrorProto{Reason: je.reason, Message: je.msg}
		status.Errors = []*bq.ErrorProto{status.ErrorResult}
		stats.Load, stats.Copy, stats.Query = nil, nil, nil
	}
	if rec.fail != nil {
		status.ErrorResult = rec.fail // as injected, its location included
	}
	if rec.errs != nil {
		// BigQuery's errors[]: a failure's details, or a success's warnings.
		status.Errors = rec.errs
	}
	stats.EndTime = now()
	done := *rec.job
	done.Status, done.Statistics = status, omitStatistics(stats, rec.omit)
	if rec.noStats {
		done.Statistics = nil
	}
	rec.job = &done
}

func readMultipart(r *http.Request) (*bq.Job, []byte, error) {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, nil, err
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	part, err := mr.NextPart()
	if err != nil {
		return nil, nil, fmt.Errorf("multipart job: %w", err)
	}
	var job bq.Job
	if err := json.NewDecoder(part).Decode(&job); err != nil {
		return nil, nil, fmt.Errorf("multipart job: %w", err)
	}
	part, err = mr.NextPart()
	if err != nil {
		return nil, nil, fmt.Errorf("multipart media: %w", err)
	}
	data, err := io.ReadAll(part)
	return &job, data, err
}

// load runs a load job: all or nothing. Called with mu.
func (s *Server) load(project string, cfg *bq.JobConfigurationLoad, data []byte) (*bq.JobStatistics3, error) {
	if cfg.SourceFormat != "PARQUET" {
		return nil, invalid("bqtest loads PARQUET only, not %q", cfg.SourceFormat)
	}
	dst := cfg.DestinationTable
	tableID, decorator, _ := strings.Cut(dst.TableId, "$")
	key := project + "." + dst.DatasetId + "." + tableID
	if _, ok := s.datasets[project+"."+dst.DatasetId]; !ok {
		return nil, &jobError{reason: "notFound", msg: "Not found: Dataset " + project + ":" + dst.DatasetId}
	}
	t, exists := s.tables[key]
	if !exists && cfg.CreateDisposition == "CREATE_NEVER" {
		return nil, &jobError{reason: "notFound", msg: "Not found: Table " + key}
	}
	schema := cfg.Schema
	if schema == nil {
		if !exists {
			return nil, invalid("bqtest needs a schema in the job to create a table")
		}
		schema = t.Meta.Schema
	}
	normalize(schema)
	if err := validSchema(schema); err != nil {
		return nil, err
	}
	rows, err := decodeParquet(data, schema, cfg.DecimalTargetTypes)
	if err != nil {
		return nil, err
	}
	if exists && decorator == "" && cfg.WriteDisposition != "WRITE_TRUNCATE" {
		if err := sameColumns(t.Meta.Schema, schema, slices.Contains(cfg.SchemaUpdateOptions, "ALLOW_FIELD_ADDITION")); err != nil {
			return nil, err
		}
	}
	if !exists {
		t = &Table{Meta: &bq.Table{TableReference: &bq.TableReference{ProjectId: project, DatasetId: dst.DatasetId, TableId: tableID},
			Schema: schema, TimePartitioning: cfg.TimePartitioning, RangePartitioning: cfg.RangePartitioning, Clustering: cfg.Clustering, Type: "TABLE"}}
	}
	// The job's spec, the decorator and the rows' partitions (partition.go).
	if err := checkPartitions(t.Meta, exists, cfg.TimePartitioning, cfg.RangePartitioning, cfg.Clustering, decorator, rows); err != nil {
		return nil, err
	}
	var kept []map[string]any
	switch {
	case decorator != "":
		part := partitionerOf(t.Meta)
		if err := sameColumns(t.Meta.Schema, schema, slices.Contains(cfg.SchemaUpdateOptions, "ALLOW_FIELD_ADDITION")); err != nil {
			return nil, err
		}
		for _, row := range t.Rows {
			if cfg.WriteDisposition != "WRITE_TRUNCATE" || part.id(row) != decorator {
				kept = append(kept, row)
			}
		}
		t.Meta.Schema = mergeSchema(t.Meta.Schema, schema)
	case cfg.WriteDisposition == "WRITE_TRUNCATE":
		t.Meta.Schema = schema // WRITE_TRUNCATE takes the job's schema
	case cfg.WriteDisposition == "WRITE_EMPTY" && len(t.Rows) > 0:
		return nil, &jobError{reason: "duplicate", msg: "Table " + key + " is not empty"}
	default: // WRITE_APPEND
		kept = t.Rows
		t.Meta.Schema = mergeSchema(t.Meta.Schema, schema)
	}
	kept = append(kept, rows...)
	t.Rows = kept
	s.tables[key] = t
	return &bq.JobStatistics3{OutputRows: int64(len(rows)), InputFiles: 1, InputFileBytes: int64(len(data))}, nil
}

// sameColumns refuses a load whose schema drops or retypes a column, or
// adds one without ALLOW_FIELD_ADDITION.
func sameColumns(have, want *bq.TableSchema, allowAddition bool) error {
	types := map[string]string{}
	for _, f := range have.Fields {
		types[f.Name] = f.Type
	}
	for _, f := range want.Fields {
		t, ok := types[f.Name]
		switch {
		case !ok && !allowAddition:
			return invalid("Provided Schema does not match Table. Field %s has been added", f.Name)
		case ok && t != f.Type:
			return invalid("Provided Schema does not match Table. Field %s has changed type from %s to %s", f.Name, t, f.Type)
		}
	}
	return nil
}

func mergeSchema(have, want *bq.TableSchema) *bq.TableSchema {
	out := &bq.TableSchema{Fields: slices.Clone(have.Fields)}
	for _, f := range want.Fields {
		if !slices.ContainsFunc(out.Fields, func(h *bq.TableFieldSchema) bool { return h.Name == f.Name }) {
			out.Fields = append(out.Fields, f)
		}
	}
	return out
}

// copy runs a copy job. Called with mu.
func (s *Server) copy(project string, cfg *bq.JobConfigurationTableCopy) (*bq.JobStatistics5, error) {
	srcs := cfg.SourceTables
	if cfg.SourceTable != nil {
		srcs = append(srcs, cfg.SourceTable)
	}
	if len(srcs) != 1 {
		return nil, invalid("bqtest copies one table at a time")
	}
	src, ok := s.tables[project+"."+srcs[0].DatasetId+"."+srcs[0].TableId]
	if !ok {
		return nil, &jobError{reason: "notFound", msg: "Not found: Table " + srcs[0].TableId}
	}
	dst := cfg.DestinationTable
	key := project + "." + dst.DatasetId + "." + dst.TableId
	cur, exists := s.tables[key]
	switch {
	case !exists && cfg.CreateDisposition == "CREATE_NEVER":
		return nil, &jobError{reason: "notFound", msg: "Not found: Table " + key}
	case exists && (cfg.WriteDisposition == "WRITE_APPEND" || cfg.WriteDisposition == "WRITE_TRUNCATE") && specOf(cur.Meta) != specOf(src.Meta):
		// partition.go; BigQuery's words.
		return nil, invalid("Incompatible table partitioning specification when copying to the column partitioned table: "+
			"destination %s has %s, source has %s", key, specOf(cur.Meta), specOf(src.Meta))
	case exists && cfg.WriteDisposition == "WRITE_APPEND":
		cur.Rows = append(cur.Rows, src.Rows...)
		return &bq.JobStatistics5{CopiedRows: int64(len(src.Rows))}, nil
	case exists && cfg.WriteDisposition != "WRITE_TRUNCATE" && len(cur.Rows) > 0:
		return nil, &jobError{reason: "duplicate", msg: "Table " + key + " already exists and is not empty"}
	}
	meta := *src.Meta
	meta.TableReference = &bq.TableReference{ProjectId: project, DatasetId: dst.DatasetId, TableId: dst.TableId}
	if cfg.OperationType == "SNAPSHOT" {
		meta.Type = "SNAPSHOT"
	}
	s.tables[key] = &Table{Meta: &meta, Rows: slices.Clone(src.Rows)}
	return &bq.JobStatistics5{CopiedRows: int64(len(src.Rows))}, nil
}

// normalize fills in what BigQuery defaults: a field without a mode is
// NULLABLE.
func normalize(schema *bq.TableSchema) {
	if schema == nil {
		return
	}
	for _, f := range schema.Fields {
		if f.Mode == "" {
			f.Mode = "NULLABLE"
		}
	}
}
