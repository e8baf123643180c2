// Package bqtest is a wire-level fake of the BigQuery REST API for tests:
// the real cloud.google.com/go/bigquery client talks to it over HTTP. It
// keeps datasets, tables and their rows in memory, runs load jobs by
// decoding the uploaded Parquet with Arrow and applying the job's write and
// create dispositions, partition decorator and schema update options, runs
// copy jobs, and can inject the faults BigQuery produces: HTTP errors on any
// call (FailNext), jobs that finish only after some polls (DelayJobs,
// DelayJob, DelayJobFor), jobs that end DONE with an error (FailJob,
// FailNextLoad, JobErrors, which also gives errors[] as BigQuery sends
// them) or without statistics, all or some (OmitStatistics), and job
// inserts whose answer is lost after the job was created (FailAfterInsert).
// Uploads keeps every file sent to a load job, for tests of what left, and
// jobs.query answers the COUNT(*) nightshift checks a load with (count.go).
// Job ids are unique per project, as in BigQuery: a second insert of an id
// is refused with 409 duplicate and runs nothing, which Executions lets a
// test check.
package bqtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	bq "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/option"
)

// Server is the fake.
type Server struct {
	srv *httptest.Server

	mu       sync.Mutex
	datasets map[string]*bq.Dataset // project.dataset
	tables   map[string]*Table      // project.dataset.table
	jobs     map[string]*jobRun     // project.jobID
	order    []string
	sessions map[string]*upload
	failures []failure
	loadFail []*bq.ErrorProto
	nextID   int

	delay   int       // DelayJobs
	delays  []jobRule // DelayJob
	fails   []jobRule // FailJob
	noStats []jobRule // OmitStatistics
	lost    []failure // FailAfterInsert
	uploads []Upload  // Uploads

	routines map[string]*bq.Routine // project.dataset.routine (routines.go)
}

// Table is a table's metadata and rows.
type Table struct {
	Meta *bq.Table
	Rows []map[string]any
}

type failure struct {
	method, path string
	n            int
	status       int
	reason, msg  string
}

type upload struct {
	project string
	job     *bq.Job
	data    []byte
	key     string // the job the session created, once it has
}

// New starts a fake, closed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		datasets: map[string]*bq.Dataset{}, tables: map[string]*Table{}, jobs: map[string]*jobRun{},
		sessions: map[string]*upload{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the endpoint to give the client.
func (s *Server) URL() string { return s.srv.URL + "/bigquery/v2/" }

// ClientOptions point a client at the fake.
func (s *Server) ClientOptions() []option.ClientOption {
	return []option.ClientOption{option.WithEndpoint(s.URL()), option.WithoutAuthentication(), option.WithHTTPClient(s.srv.Client())}
}

// Client returns a real client for project talking to the fake.
func (s *Server) Client(t testing.TB, project string) *bigquery.Client {
	t.Helper()
	c, err := bigquery.NewClient(context.Background(), project, s.ClientOptions()...)
	if err != nil {
		t.Fatalf("bqtest: client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// FailNext makes the next n requests whose method matches and whose path
// contains path fail with an HTTP error carrying reason. The path is the
// URL's, without the query (so a location parameter does not matter), e.g.
// /bigquery/v2/projects/p/jobs/ID for jobs.get, /upload/bigquery/v2/... for
// a load's upload, /session/ for the chunks of a resumable upload.
//
// FailNext("GET", "/jobs/"+id, n, 503, "backendError", msg) fails the next
// n polls of a job (and of any job whose id starts with id; "/jobs/" fails
// any job's), as BigQuery does now and then: the cloud.google.com/go client
// retries a 5xx or backendError on jobs.get with backoff (up to 1s, 2s,
// 4s... with full jitter), so keep n small. A failed poll does not count
// towards DelayJobs: the job does not advance.
func (s *Server) FailNext(method, path string, n, status int, reason, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, failure{method, path, n, status, reason, msg})
}

// FailNextLoad makes the next load job end DONE with this error result.
// Like FailJob, it is bound to the job when the job is inserted.
func (s *Server) FailNextLoad(reason, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loadFail = append(s.loadFail, &bq.ErrorProto{Reason: reason, Message: msg})
}

// DelayJobs makes every job inserted from now on finish later than its
// insert, as real load and copy jobs do: jobs.insert answers status.state
// RUNNING, with statistics that have creationTime and startTime but no
// endTime and no load or copy figures yet, and the job stays RUNNING
// through n-1 jobs.get polls; the n-th poll runs it and answers DONE. The
// job changes tables only then, so a test can see that a client which
// stopped polling before DONE has not changed anything yet. Polls failed by
// FailNext do not count. n <= 0 restores the default, DONE at insert.
//
// The cloud.google.com/go client's Job.Wait polls at once, then backs off
// with full jitter (up to 1s, 2s, 4s...) between polls, so keep n at 1 to 3.
func (s *Server) DelayJobs(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = n
}

// DelayJob is DelayJobs for one job: the next job inserted whose id starts
// with idPrefix ("" for any) becomes DONE at its n-th jobs.get. Each call
// delays one job, and takes precedence over DelayJobs.
func (s *Server) DelayJob(idPrefix string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays = append(s.delays, jobRule{prefix: idPrefix, n: n})
}

// FailJob makes the next job inserted whose id starts with idPrefix ("" for
// any) be accepted and then end DONE with status.errorResult and
// status.errors carrying reason (e.g. "backendError", "invalid") and msg,
// changing no table: BigQuery reports most job failures in the job, not in
// HTTP. Each call fails one job (a job id is unique, so a whole id names
// one job); with DelayJobs the failure shows when the job becomes DONE.
func (s *Server) FailJob(idPrefix, reason, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails = append(s.fails, jobRule{prefix: idPrefix, result: &bq.ErrorProto{Reason: reason, Message: msg}})
}

// OmitStatistics makes the next job inserted whose id starts with idPrefix
// ("" for any) run as usual but answer, on insert and on every jobs.get,
// without a statistics field, even when DONE: real responses can lack it,
// and then the Go client's JobStatus.Statistics is nil.
//
// With fields, only those are left out, named as in the REST resource's
// statistics: "load" (then Details is nil), "load.outputRows" (the Go
// client then reads 0 rows, as if none were written, while inputFiles and
// the rest are there), "copy", "query", "query.totalBytesProcessed",
// "endTime"... A field that JobStatistics does not have panics, so that a
// typo cannot make a test pass vacuously.
func (s *Server) OmitStatistics(idPrefix string, fields ...string) {
	for _, f := range fields {
		mustBeStatistic(f)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noStats = append(s.noStats, jobRule{prefix: idPrefix, fields: fields})
}

// FailAfterInsert makes the next n jobs.insert calls that create a job
// answer with an HTTP error (e.g. 503 backendError) although the job was
// created, and runs as usual: the answer lost on the way back, as when
// BigQuery's front end times out. A client that retries the insert with
// the same job id meets 409 duplicate; one that retries under a new id
// runs the work twice. The cloud.google.com/go client retries a copy job's
// insert itself (it always sends a job id) and does not retry a multipart
// load's; a resumable upload retries its last chunk, which the session
// answers with the job it created.
func (s *Server) FailAfterInsert(n, status int, reason, msg string) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lost = append(s.lost, failure{n: n, status: status, reason: reason, msg: msg})
}

// Executions reports how many times jobs with this id (in any project) ran
// to DONE, successfully or not: 0 while a job is still RUNNING or if no
// such job was created, and never more than 1 per project, since an insert
// of an existing id is refused. It lets a test prove a job ran once.
func (s *Server) Executions(jobID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, rec := range s.jobs {
		if rec.job.JobReference.JobId == jobID {
			n += rec.runs
		}
	}
	return n
}

// Table returns a copy of a table, if it exists: later jobs do not change
// it.
func (s *Server) Table(project, dataset, table string) (*Table, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tables[project+"."+dataset+"."+table]
	if !ok {
		return nil, false
	}
	meta := *t.Meta
	return &Table{Meta: &meta, Rows: slices.Clone(t.Rows)}, true
}

// Jobs returns every job created, in order, as jobs.get would answer now
// (without counting as a poll).
func (s *Server) Jobs() []*bq.Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*bq.Job, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, s.jobs[k].job)
	}
	return out
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/bigquery/v2")
	if f, ok := s.injected(r.Method, r.URL.Path); ok {
		writeError(w, f.status, f.reason, f.msg)
		return
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case strings.HasPrefix(path, "/upload/"):
		s.serveUpload(w, r)
	case strings.HasPrefix(path, "/session/"):
		s.serveChunk(w, r, strings.TrimPrefix(path, "/session/"))
	case len(parts) == 3 && parts[2] == "datasets" && r.Method == http.MethodPost:
		s.insertDataset(w, r, parts[1])
	case len(parts) == 4 && parts[2] == "datasets" && r.Method == http.MethodGet:
		s.getDataset(w, parts[1], parts[3])
	case len(parts) == 5 && parts[4] == "tables" && r.Method == http.MethodPost:
		s.insertTableOrView(w, r, parts[1], parts[3]) // views.go
	case len(parts) == 6 && parts[4] == "tables" && (r.Method == http.MethodPatch || r.Method == http.MethodPut) && s.isView(parts[1], parts[3], parts[5]):
		s.patchView(w, r, parts[1], parts[3], parts[5]) // views.go
	case len(parts) == 5 && parts[4] == "routines" && r.Method == http.MethodPost:
		s.insertRoutine(w, r, parts[1], parts[3]) // routines.go
	case len(parts) == 6 && parts[4] == "routines":
		s.serveRoutine(w, r, parts[1], parts[3], parts[5])
	case len(parts) == 6 && parts[4] == "tables":
		s.serveTable(w, r, parts[1], parts[3], parts[5])
	case len(parts) == 3 && parts[2] == "jobs" && r.Method == http.MethodPost:
		var job bq.Job
		if err := json.NewDecoder(r.Body).Decode(&job); err != nil {
			writeError(w, 400, "invalid", err.Error())
			return
		}
		s.insertJob(w, parts[1], &job, nil)
	case len(parts) == 4 && parts[2] == "jobs" && r.Method == http.MethodGet:
		s.getJob(w, parts[1], parts[3])
	case len(parts) == 3 && parts[2] == "queries" && r.Method == http.MethodPost:
		s.serveCount(w, r, parts[1])
	case len(parts) == 4 && parts[2] == "queries" && r.Method == http.MethodGet:
		s.getQueryResults(w, parts[1], parts[3])
	default:
		writeError(w, http.StatusNotFound, "notFound", "bqtest: no route for "+r.Method+" "+r.URL.Path)
	}
}

func (s *Server) injected(method, path string) (failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.failures {
		f := &s.failures[i]
		if f.n > 0 && f.method == method && strings.Contains(path, f.path) {
			f.n--
			return *f, true
		}
	}
	return failure{}, false
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers in BigQuery's error shape.
func writeError(w http.ResponseWriter, status int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": status, "message": msg,
		"errors": []map[string]any{{"domain": "global", "reason": reason, "message": msg}},
	}})
}

func (s *Server) insertDataset(w http.ResponseWriter, r *http.Request, project string) {
	var ds bq.Dataset
	if err := json.NewDecoder(r.Body).Decode(&ds); err != nil {
		writeError(w, 400, "invalid", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := project + "." + ds.DatasetReference.DatasetId
	if _, ok := s.datasets[key]; ok {
		writeError(w, http.StatusConflict, "duplicate", "Already Exists: Dataset "+key)
		return
	}
	ds.DatasetReference.ProjectId = project
	ds.Id = project + ":" + ds.DatasetReference.DatasetId
	s.datasets[key] = &ds
	writeJSON(w, &ds)
}

func (s *Server) getDataset(w http.ResponseWriter, project, dataset string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ds, ok := s.datasets[project+"."+dataset]
	if !ok {
		writeError(w, http.StatusNotFound, "notFound", "Not found: Dataset "+project+":"+dataset)
		return
	}
	writeJSON(w, ds)
}

// hasDataset answers 404, as BigQuery does, for a dataset that does not
// exist. Called with mu.
func (s *Server) hasDataset(w http.ResponseWriter, project, dataset string) bool {
	if _, ok := s.datasets[project+"."+dataset]; !ok {
		writeError(w, http.StatusNotFound, "notFound", "Not found: Dataset "+project+":"+dataset)
		return false
	}
	return true
}

func (s *Server) insertTable(w http.ResponseWriter, r *http.Request, project, dataset string) {
	var t bq.Table
	if err := json.NewDecoder(r.Body).Decode(&t); err != nil {
		writeError(w, 400, "invalid", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasDataset(w, project, dataset) {
		return
	}
	key := project + "." + dataset + "." + t.TableReference.TableId
	if _, ok := s.tables[key]; ok {
		writeError(w, http.StatusConflict, "duplicate", "Already Exists: Table "+key)
		return
	}
	t.TableReference.ProjectId, t.TableReference.DatasetId = project, dataset
	normalize(t.Schema)
	if err := validSchema(t.Schema); err != nil {
		writeError(w, http.StatusBadRequest, err.reason, err.msg)
		return
	}
	if err := validLayout(&t); err != nil { // partition.go
		writeError(w, http.StatusBadRequest, err.reason, err.msg)
		return
	}
	if t.Type == "" {
		t.Type = "TABLE"
	}
	s.tables[key] = &Table{Meta: &t}
	writeJSON(w, s.tableResource(s.tables[key]))
}

func (s *Server) serveTable(w http.ResponseWriter, r *http.Request, project, dataset, table string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := project + "." + dataset + "." + table
	t, ok := s.tables[key]
	if !ok {
		writeError(w, http.StatusNotFound, "notFound", "Not found: Table "+project+":"+dataset+"."+table)
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, s.tableResource(t))
	case http.MethodDelete:
		delete(s.tables, key)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPatch:
		s.patchLayout(w, r, t) // partition.go
	default:
		writeError(w, http.StatusMethodNotAllowed, "invalid", "bqtest: "+r.Method+" on a table is not supported")
	}
}

// tableResource is the table as tables.get returns it. Called with mu.
func (s *Server) tableResource(t *Table) *bq.Table {
	out := *t.Meta
	out.NumRows = uint64(len(t.Rows))
	out.Etag = fmt.Sprintf("etag-%d", len(t.Rows))
	return &out
}

// getJob is jobs.get: each call is a poll that may finish a delayed job.
func (s *Server) getJob(w http.ResponseWriter, project, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.jobs[project+"."+id]
	if !ok {
		writeError(w, http.StatusNotFound, "notFound", "Not found: Job "+project+":"+id)
		return
	}
	s.poll(rec)
	writeJSON(w, rec.job)
}

// serveUpload starts a job with media: multipart in one request, or a
// resumable session whose chunks come later.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	project := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/upload/bigquery/v2"), "/"), "/")[1]
	switch r.URL.Query().Get("uploadType") {
	case "multipart":
		job, data, err := readMultipart(r)
		if err != nil {
			writeError(w, 400, "invalid", err.Error())
			return
		}
		s.insertJob(w, project, job, data)
	case "resumable":
		var job bq.Job
		if err := json.NewDecoder(r.Body).Decode(&job); err != nil {
			writeError(w, 400, "invalid", err.Error())
			return
		}
		s.mu.Lock()
		s.nextID++
		id := fmt.Sprintf("%s-%d", project, s.nextID)
		s.sessions[id] = &upload{project: project, job: &job}
		s.mu.Unlock()
		w.Header().Set("Location", s.srv.URL+"/session/"+id)
		w.WriteHeader(http.StatusOK)
	default:
		writeError(w, 400, "invalid", "bqtest: unknown uploadType")
	}
}

// serveChunk takes one chunk of a resumable upload; the last one (whose
// Content-Range states the total) inserts the job. A chunk sent again (the
// client retries one that failed) replaces what the session had from its
// offset on, and a session that has created its job answers with that job,
// as a finished upload session does.
func (s *Server) serveChunk(w http.ResponseWriter, r *http.Request, id string) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, 400, "invalid", err.Error())
		return
	}
	s.mu.Lock()
	up, ok := s.sessions[id]
	if ok && up.key != "" {
		job := s.jobs[up.key].job
		s.mu.Unlock()
		writeJSON(w, job)
		return
	}
	if ok {
		if off, ok := chunkOffset(r.Header.Get("Content-Range")); ok && off <= len(up.data) {
			up.data = up.data[:off]
		}
		up.data = append(up.data, data...)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "notFound", "bqtest: no upload session "+id)
		return
	}
	if strings.HasSuffix(r.Header.Get("Content-Range"), "/*") {
		// More to come: the client reads this as 308 Resume Incomplete.
		w.Header().Set("X-Http-Status-Code-Override", "308")
		w.WriteHeader(http.StatusOK)
		return
	}
	if key := s.insertJob(w, up.project, up.job, up.data); key != "" {
		s.mu.Lock()
		up.key = key
		s.mu.Unlock()
	}
}

// chunkOffset reads the first byte's offset from "bytes 0-99/*".
func chunkOffset(contentRange string) (int, bool) {
	rest, ok := strings.CutPrefix(contentRange, "bytes ")
	if !ok {
		return 0, false
	}
	first, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(first)
	return n, err == nil
}

func now() int64 { return time.Now().UnixMilli() }
