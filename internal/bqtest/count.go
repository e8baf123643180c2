package bqtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	bq "google.golang.org/api/bigquery/v2"
)

// countStatement is the one query jobs.query answers: the count nightshift
// runs to check what a load job wrote when the job's statistics do not say,
// of a whole table or of one partition,
//
//	SELECT COUNT(*) FROM `p.d.t` [WHERE `c` >= @from AND `c` < @to]
//
// with @from and @to DATE or TIMESTAMP parameters. Anything else is
// refused as invalidQuery, so that a test fails instead of passing on a
// query nobody checked.
var countStatement = regexp.MustCompile("(?s)^\\s*SELECT\\s+COUNT\\(\\*\\)\\s+FROM\\s+`([^`]+)`" +
	"(?:\\s+WHERE\\s+`(\\w+)`\\s*>=\\s*@from\\s+AND\\s+`(\\w+)`\\s*<\\s*@to)?\\s*;?\\s*$")

// serveCount is jobs.query, the Go client's path for Query.Read without a
// job id. The job it creates is DONE at once (jobComplete, rows in the
// answer: no getQueryResults), and takes the FailJob, JobErrors and
// OmitStatistics rules of any job, not the delays; a failed one is answered
// with an HTTP error, as jobs.query answers a query that fails.
func (s *Server) serveCount(w http.ResponseWriter, r *http.Request, project string) {
	var req bq.QueryRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	id := fmt.Sprintf("bqtest_query_%d", s.nextID)
	ref := &bq.JobReference{ProjectId: project, JobId: id, Location: req.Location}
	rec := &jobRun{project: project, runs: 1}
	if rule, ok := takeRule(&s.fails, id); ok {
		rec.fail, rec.errs = rule.result, rule.errs
	}
	if rule, ok := takeRule(&s.noStats, id); ok {
		rec.noStats, rec.omit = len(rule.fields) == 0, rule.fields
	}
	n, err := s.count(project, &req)
	status := &bq.JobStatus{State: "DONE"}
	switch {
	case rec.fail != nil:
		status.ErrorResult = rec.fail
	case err != nil:
		status.ErrorResult = &bq.ErrorProto{Reason: err.reason, Message: err.msg}
	}
	status.Errors = rec.errs
	if status.ErrorResult != nil && rec.errs == nil {
		status.Errors = []*bq.ErrorProto{status.ErrorResult}
	}
	start := now()
	var stats *bq.JobStatistics
	if !rec.noStats {
		stats = omitStatistics(&bq.JobStatistics{CreationTime: start, StartTime: start, EndTime: start,
			Query: &bq.JobStatistics2{StatementType: "SELECT"}}, rec.omit)
	}
	rec.job = &bq.Job{JobReference: ref, Status: status, Statistics: stats, Configuration: &bq.JobConfiguration{
		Query: &bq.JobConfigurationQuery{Query: req.Query, UseLegacySql: req.UseLegacySql, QueryParameters: req.QueryParameters},
	}}
	s.jobs[project+"."+id] = rec
	s.order = append(s.order, project+"."+id)
	if e := status.ErrorResult; e != nil {
		writeError(w, httpStatus(e.Reason), e.Reason, e.Message)
		return
	}
	writeJSON(w, &bq.QueryResponse{
		Kind: "bigquery#queryResponse", JobReference: ref, JobComplete: true,
		Schema:    &bq.TableSchema{Fields: []*bq.TableFieldSchema{{Name: "f0_", Type: "INTEGER", Mode: "NULLABLE"}}},
		Rows:      []*bq.TableRow{{F: []*bq.TableCell{{V: strconv.FormatInt(n, 10)}}}},
		TotalRows: 1,
	})
}

// count evaluates a countStatement. Called with mu.
func (s *Server) count(project string, req *bq.QueryRequest) (int64, *jobError) {
	if req.UseLegacySql == nil || *req.UseLegacySql {
		// jobs.query defaults to legacy SQL, which has no backquoted names.
		return 0, &jobError{reason: "invalidQuery", msg: "bqtest runs standard SQL only: set useLegacySql false"}
	}
	m := countStatement.FindStringSubmatch(req.Query)
	if m == nil {
		return 0, &jobError{reason: "invalidQuery", msg: fmt.Sprintf("bqtest answers only SELECT COUNT(*) FROM `p.d.t` [WHERE `c` >= @from AND `c` < @to], not: %.200s", req.Query)}
	}
	name, col := m[1], m[2]
	if col != m[3] {
		return 0, &jobError{reason: "invalidQuery", msg: fmt.Sprintf("bqtest: the window is on %s and %s: want one column", col, m[3])}
	}
	t, ok := s.tables[name]
	if !ok {
		return 0, &jobError{reason: "notFound", msg: "Not found: Table " + name + " was not found"}
	}
	if col == "" {
		return int64(len(t.Rows)), nil
	}
	from, err := countParam(req, "from")
	if err != nil {
		return 0, err
	}
	to, err := countParam(req, "to")
	if err != nil {
		return 0, err
	}
	var n int64
	for _, row := range t.Rows {
		if v, ok := instantOf(row[col]); ok && v.Compare(from) >= 0 && v.Compare(to) < 0 {
			n++
		}
	}
	return n, nil
}

// countParam reads a DATE or TIMESTAMP parameter as an instant (a date at
// its midnight, UTC).
func countParam(req *bq.QueryRequest, name string) (time.Time, *jobError) {
	i := slices.IndexFunc(req.QueryParameters, func(p *bq.QueryParameter) bool { return p.Name == name })
	if i < 0 {
		return time.Time{}, &jobError{reason: "invalidQuery", msg: "Query parameter '" + name + "' not found"}
	}
	p := req.QueryParameters[i]
	if p.ParameterType == nil || p.ParameterValue == nil {
		return time.Time{}, &jobError{reason: "invalidQuery", msg: "query parameter " + name + " has no type or value"}
	}
	layouts := []string{"2006-01-02 15:04:05.999999-07:00", "2006-01-02 15:04:05.999999Z07:00", time.RFC3339Nano}
	if p.ParameterType.Type == "DATE" {
		layouts = []string{time.DateOnly}
	} else if p.ParameterType.Type != "TIMESTAMP" {
		return time.Time{}, &jobError{reason: "invalidQuery", msg: "query parameter " + name + ": want DATE or TIMESTAMP, not " + p.ParameterType.Type}
	}
	for _, layout := range layouts {
		if t, err := time.Parse(layout, p.ParameterValue.Value); err == nil {
			return t, nil
		}
	}
	return time.Time{}, &jobError{reason: "invalidQuery", msg: fmt.Sprintf("query parameter %s: bad %s %q", name, p.ParameterType.Type, p.ParameterValue.Value)}
}

// instantOf is a DATE or TIMESTAMP value as an instant; NULL and other
// types are in no window.
func instantOf(v any) (time.Time, bool) {
	switch v := v.(type) {
	case time.Time:
		return v, true
	case Date:
		t, err := time.Parse(time.DateOnly, string(v))
		return t, err == nil
	}
	return time.Time{}, false
}

// httpStatus is the HTTP status BigQuery answers a failed query with.
func httpStatus(reason string) int {
	switch reason {
	case "notFound":
		return http.StatusNotFound
	case "accessDenied", "rateLimitExceeded", "quotaExceeded":
		return http.StatusForbidden
	case "duplicate":
		return http.StatusConflict
	case "backendError", "internalError":
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}
