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

// runJob records a job, runs it to completion and answers with it.
func (s *Server) runJob(w http.ResponseWriter, project string, job *bq.Job, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if job.JobReference == nil {
		job.JobReference = &bq.JobReference{}
	}
	if job.JobReference.JobId == "" {
		s.nextID++
		job.JobReference.JobId = fmt.Sprintf("bqtest_job_%d", s.nextID)
	}
	job.JobReference.ProjectId = project
	key := project + "." + job.JobReference.JobId
	if _, dup := s.jobs[key]; dup {
		writeError(w, http.StatusConflict, "duplicate", "Already Exists: Job "+project+":"+job.JobReference.JobId)
		return
	}
	start := now()
	job.Statistics = &bq.JobStatistics{CreationTime: start, StartTime: start}
	var err error
	switch {
	case job.Configuration.Load != nil:
		err = s.load(project, job, data)
	case job.Configuration.Copy != nil:
		err = s.copy(project, job.Configuration.Copy)
	default:
		err = invalid("bqtest runs load and copy jobs only")
	}
	job.Status = &bq.JobStatus{State: "DONE"}
	if err != nil {
		var je *jobError
		if !errors.As(err, &je) {
			je = &jobError{reason: "backendError", msg: err.Error()}
		}
		job.Status.ErrorResult = &bq.ErrorProto{Reason: je.reason, Message: je.msg}
		job.Status.Errors = []*bq.ErrorProto{job.Status.ErrorResult}
	}
	job.Statistics.EndTime = now()
	s.jobs[key] = job
	s.order = append(s.order, key)
	writeJSON(w, job)
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
func (s *Server) load(project string, job *bq.Job, data []byte) error {
	cfg := job.Configuration.Load
	if len(s.loadFail) > 0 {
		f := s.loadFail[0]
		s.loadFail = s.loadFail[1:]
		return &jobError{reason: f.Reason, msg: f.Message}
	}
	if cfg.SourceFormat != "PARQUET" {
		return invalid("bqtest loads PARQUET only, not %q", cfg.SourceFormat)
	}
	dst := cfg.DestinationTable
	tableID, decorator, _ := strings.Cut(dst.TableId, "$")
	key := project + "." + dst.DatasetId + "." + tableID
	if _, ok := s.datasets[project+"."+dst.DatasetId]; !ok {
		return &jobError{reason: "notFound", msg: "Not found: Dataset " + project + ":" + dst.DatasetId}
	}
	t, exists := s.tables[key]
	if !exists && cfg.CreateDisposition == "CREATE_NEVER" {
		return &jobError{reason: "notFound", msg: "Not found: Table " + key}
	}
	schema := cfg.Schema
	if schema == nil {
		if !exists {
			return invalid("bqtest needs a schema in the job to create a table")
		}
		schema = t.Meta.Schema
	}
	normalize(schema)
	rows, err := decodeParquet(data, schema)
	if err != nil {
		return err
	}
	if exists && decorator == "" && cfg.WriteDisposition != "WRITE_TRUNCATE" {
		if err := sameColumns(t.Meta.Schema, schema, slices.Contains(cfg.SchemaUpdateOptions, "ALLOW_FIELD_ADDITION")); err != nil {
			return err
		}
	}
	if !exists {
		t = &Table{Meta: &bq.Table{TableReference: &bq.TableReference{ProjectId: project, DatasetId: dst.DatasetId, TableId: tableID},
			Schema: schema, TimePartitioning: cfg.TimePartitioning, Clustering: cfg.Clustering, Type: "TABLE"}}
	}
	var kept []map[string]any
	switch {
	case decorator != "":
		tp := t.Meta.TimePartitioning
		if tp == nil || tp.Type != "DAY" || tp.Field == "" {
			return invalid("partition decorator $%s on a table without DAY partitioning on a field", decorator)
		}
		for _, row := range rows {
			if partitionOf(row[tp.Field]) != decorator {
				return invalid("row with %s %v is not in partition %s", tp.Field, row[tp.Field], decorator)
			}
		}
		if err := sameColumns(t.Meta.Schema, schema, slices.Contains(cfg.SchemaUpdateOptions, "ALLOW_FIELD_ADDITION")); err != nil {
			return err
		}
		for _, row := range t.Rows {
			if cfg.WriteDisposition != "WRITE_TRUNCATE" || partitionOf(row[tp.Field]) != decorator {
				kept = append(kept, row)
			}
		}
		t.Meta.Schema = mergeSchema(t.Meta.Schema, schema)
	case cfg.WriteDisposition == "WRITE_TRUNCATE":
		t.Meta.Schema = schema // WRITE_TRUNCATE takes the job's schema
	case cfg.WriteDisposition == "WRITE_EMPTY" && len(t.Rows) > 0:
		return &jobError{reason: "duplicate", msg: "Table " + key + " is not empty"}
	default: // WRITE_APPEND
		kept = t.Rows
		t.Meta.Schema = mergeSchema(t.Meta.Schema, schema)
	}
	kept = append(kept, rows...)
	t.Rows = kept
	s.tables[key] = t
	job.Statistics.Load = &bq.JobStatistics3{OutputRows: int64(len(rows)), InputFiles: 1, InputFileBytes: int64(len(data))}
	return nil
}

func partitionOf(v any) string {
	switch t := v.(type) {
	case time.Time:
		return t.UTC().Format("20060102")
	case Date:
		return strings.ReplaceAll(string(t), "-", "")
	}
	return fmt.Sprint(v)
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
func (s *Server) copy(project string, cfg *bq.JobConfigurationTableCopy) error {
	srcs := cfg.SourceTables
	if cfg.SourceTable != nil {
		srcs = append(srcs, cfg.SourceTable)
	}
	if len(srcs) != 1 {
		return invalid("bqtest copies one table at a time")
	}
	src, ok := s.tables[project+"."+srcs[0].DatasetId+"."+srcs[0].TableId]
	if !ok {
		return &jobError{reason: "notFound", msg: "Not found: Table " + srcs[0].TableId}
	}
	dst := cfg.DestinationTable
	key := project + "." + dst.DatasetId + "." + dst.TableId
	cur, exists := s.tables[key]
	switch {
	case !exists && cfg.CreateDisposition == "CREATE_NEVER":
		return &jobError{reason: "notFound", msg: "Not found: Table " + key}
	case exists && cfg.WriteDisposition == "WRITE_APPEND":
		cur.Rows = append(cur.Rows, src.Rows...)
		return nil
	case exists && cfg.WriteDisposition != "WRITE_TRUNCATE" && len(cur.Rows) > 0:
		return &jobError{reason: "duplicate", msg: "Table " + key + " already exists and is not empty"}
	}
	meta := *src.Meta
	meta.TableReference = &bq.TableReference{ProjectId: project, DatasetId: dst.DatasetId, TableId: dst.TableId}
	if cfg.OperationType == "SNAPSHOT" {
		meta.Type = "SNAPSHOT"
	}
	s.tables[key] = &Table{Meta: &meta, Rows: slices.Clone(src.Rows)}
	return nil
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
