// Package bqtest is a wire-level fake of the BigQuery REST API for tests:
// the real cloud.google.com/go/bigquery client talks to it over HTTP. It
// keeps datasets, tables and their rows in memory, runs load jobs by
// decoding the uploaded Parquet with Arrow and applying the job's write and
// create dispositions, partition decorator and schema update options, runs
// copy jobs, and can inject the errors BigQuery returns.
package bqtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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
	jobs     map[string]*bq.Job     // project.jobID
	order    []string
	sessions map[string]*upload
	failures []failure
	loadFail []*bq.ErrorProto
	nextID   int
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
}

// New starts a fake, closed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		datasets: map[string]*bq.Dataset{}, tables: map[string]*Table{}, jobs: map[string]*bq.Job{},
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
// contains path fail with an HTTP error carrying reason.
func (s *Server) FailNext(method, path string, n, status int, reason, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, failure{method, path, n, status, reason, msg})
}

// FailNextLoad makes the next load job end DONE with this error result.
func (s *Server) FailNextLoad(reason, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loadFail = append(s.loadFail, &bq.ErrorProto{Reason: reason, Message: msg})
}

// Table returns a table, if it exists.
func (s *Server) Table(project, dataset, table string) (*Table, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tables[project+"."+dataset+"."+table]
	return t, ok
}

// Jobs returns every job received, in order.
func (s *Server) Jobs() []*bq.Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*bq.Job, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, s.jobs[k])
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
		s.insertTable(w, r, parts[1], parts[3])
	case len(parts) == 6 && parts[4] == "tables":
		s.serveTable(w, r, parts[1], parts[3], parts[5])
	case len(parts) == 3 && parts[2] == "jobs" && r.Method == http.MethodPost:
		var job bq.Job
		if err := json.NewDecoder(r.Body).Decode(&job); err != nil {
			writeError(w, 400, "invalid", err.Error())
			return
		}
		s.runJob(w, parts[1], &job, nil)
	case len(parts) == 4 && parts[2] == "jobs" && r.Method == http.MethodGet:
		s.getJob(w, parts[1], parts[3])
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

func (s *Server) insertTable(w http.ResponseWriter, r *http.Request, project, dataset string) {
	var t bq.Table
	if err := json.NewDecoder(r.Body).Decode(&t); err != nil {
		writeError(w, 400, "invalid", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.datasets[project+"."+dataset]; !ok {
		writeError(w, http.StatusNotFound, "notFound", "Not found: Dataset "+project+":"+dataset)
		return
	}
	key := project + "." + dataset + "." + t.TableReference.TableId
	if _, ok := s.tables[key]; ok {
		writeError(w, http.StatusConflict, "duplicate", "Already Exists: Table "+key)
		return
	}
	t.TableReference.ProjectId, t.TableReference.DatasetId = project, dataset
	normalize(t.Schema)
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

func (s *Server) getJob(w http.ResponseWriter, project, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	job, ok := s.jobs[project+"."+id]
	if !ok {
		writeError(w, http.StatusNotFound, "notFound", "Not found: Job "+project+":"+id)
		return
	}
	writeJSON(w, job)
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
		s.runJob(w, project, job, data)
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
// Content-Range states the total) runs the job.
func (s *Server) serveChunk(w http.ResponseWriter, r *http.Request, id string) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, 400, "invalid", err.Error())
		return
	}
	s.mu.Lock()
	up, ok := s.sessions[id]
	if ok {
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
	s.runJob(w, up.project, up.job, up.data)
}

func now() int64 { return time.Now().UnixMilli() }
