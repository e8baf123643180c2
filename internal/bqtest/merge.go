package bqtest

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	bq "google.golang.org/api/bigquery/v2"
)

// The fake runs no SQL, but it applies the one DML statement nightshift
// sends, a backfill's MERGE, in the canonical form steps/loadbigquery
// writes (see mergeStatement):
//
//	MERGE `p.d.target` AS T USING `p.d.staging` AS S ON T.`k` = S.`k`
//	WHEN MATCHED THEN UPDATE SET `a` = S.`a`, …
//	WHEN NOT MATCHED BY TARGET THEN INSERT ROW
//	WHEN NOT MATCHED BY SOURCE [AND T.`c` >= @from AND T.`c` < @to] THEN DELETE
//
// Anything else is refused as BigQuery would refuse a statement it cannot
// parse, so a test fails instead of passing on a statement nobody checked.
var mergeStatement = regexp.MustCompile(`(?s)^\s*MERGE\s+` + "`([^`]+)`" + `\s+AS\s+T\s+USING\s+` + "`([^`]+)`" + `\s+AS\s+S\s+` +
	`ON\s+T\.` + "`(\\w+)`" + `\s*=\s*S\.` + "`(\\w+)`" + `\s+` +
	`WHEN\s+MATCHED\s+THEN\s+UPDATE\s+SET\s+(.+?)\s+` +
	`WHEN\s+NOT\s+MATCHED\s+BY\s+TARGET\s+THEN\s+INSERT\s+ROW\s+` +
	`WHEN\s+NOT\s+MATCHED\s+BY\s+SOURCE(?:\s+AND\s+T\.` + "`(\\w+)`" + `\s*>=\s*@from\s+AND\s+T\.` + "`(\\w+)`" + `\s*<\s*@to)?\s+THEN\s+DELETE\s*;?\s*$`)

var setItem = regexp.MustCompile("^`(\\w+)`\\s*=\\s*S\\.`(\\w+)`$")

// query runs a query job: only the MERGE above. Called with mu.
func (s *Server) query(project string, cfg *bq.JobConfigurationQuery) (*bq.JobStatistics2, error) {
	if cfg.UseLegacySql == nil || *cfg.UseLegacySql {
		return nil, invalid("bqtest runs standard SQL only: set useLegacySql false")
	}
	m := mergeStatement.FindStringSubmatch(cfg.Query)
	if m == nil {
		return nil, invalid("bqtest runs only nightshift's MERGE statement, not: %.200s", cfg.Query)
	}
	target, staging, key, skey, set, from, to := m[1], m[2], m[3], m[4], m[5], m[6], m[7]
	if key != skey || from != to {
		return nil, invalid("bqtest: MERGE joins on %s = %s and windows on %s and %s: want one column each", key, skey, from, to)
	}
	tkey, err := tableKey(project, target)
	if err != nil {
		return nil, err
	}
	skeyT, err := tableKey(project, staging)
	if err != nil {
		return nil, err
	}
	t, ok := s.tables[tkey]
	if !ok {
		return nil, &jobError{reason: "notFound", msg: "Not found: Table " + target}
	}
	src, ok := s.tables[skeyT]
	if !ok {
		return nil, &jobError{reason: "notFound", msg: "Not found: Table " + staging}
	}
	if err := sameColumns(t.Meta.Schema, src.Meta.Schema, false); err != nil {
		return nil, err
	}
	for _, item := range strings.Split(set, ",") {
		im := setItem.FindStringSubmatch(strings.TrimSpace(item))
		if im == nil || im[1] != im[2] {
			return nil, invalid("bqtest: MERGE sets %q: want `c` = S.`c`", strings.TrimSpace(item))
		}
	}
	var lo, hi time.Time
	if from != "" {
		if lo, err = timestampParam(cfg, "from"); err != nil {
			return nil, err
		}
		if hi, err = timestampParam(cfg, "to"); err != nil {
			return nil, err
		}
	}
	incoming := map[string]map[string]any{}
	for _, row := range src.Rows {
		k := fmt.Sprint(row[key])
		if _, dup := incoming[k]; dup {
			// BigQuery: a target row may match at most one source row.
			return nil, invalid("UPDATE/MERGE must match at most one source row for each target row (%s %s)", key, k)
		}
		incoming[k] = row
	}
	var affected int64
	out := make([]map[string]any, 0, len(t.Rows)+len(src.Rows))
	seen := map[string]bool{}
	for _, row := range t.Rows {
		k := fmt.Sprint(row[key])
		if in, ok := incoming[k]; ok {
			out = append(out, in) // WHEN MATCHED: every column set from S
			seen[k] = true
			affected++
			continue
		}
		if from == "" || inWindow(row[from], lo, hi) {
			affected++ // WHEN NOT MATCHED BY SOURCE … THEN DELETE
			continue
		}
		out = append(out, row)
	}
	for _, row := range src.Rows {
		if !seen[fmt.Sprint(row[key])] {
			out = append(out, row) // WHEN NOT MATCHED BY TARGET: INSERT ROW
			affected++
		}
	}
	t.Rows = out
	return &bq.JobStatistics2{StatementType: "MERGE", NumDmlAffectedRows: affected, TotalBytesProcessed: int64(len(t.Rows)+len(src.Rows)) * 100}, nil
}

// tableKey turns `project.dataset.table` into the fake's key.
func tableKey(project, name string) (string, error) {
	parts := strings.Split(name, ".")
	if len(parts) != 3 || parts[0] != project {
		return "", invalid("bqtest wants tables as `%s.dataset.table`, not %q", project, name)
	}
	return name, nil
}

func timestampParam(cfg *bq.JobConfigurationQuery, name string) (time.Time, error) {
	i := slices.IndexFunc(cfg.QueryParameters, func(p *bq.QueryParameter) bool { return p.Name == name })
	if i < 0 {
		return time.Time{}, invalid("Query parameter '%s' not found", name)
	}
	p := cfg.QueryParameters[i]
	if p.ParameterType == nil || p.ParameterType.Type != "TIMESTAMP" || p.ParameterValue == nil {
		return time.Time{}, invalid("query parameter %s: want a TIMESTAMP", name)
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999-07:00", "2006-01-02 15:04:05.999999Z07:00", time.RFC3339Nano} {
		if t, err := time.Parse(layout, p.ParameterValue.Value); err == nil {
			return t, nil
		}
	}
	return time.Time{}, invalid("query parameter %s: bad TIMESTAMP %q", name, p.ParameterValue.Value)
}

// inWindow is BigQuery's T.c >= @from AND T.c < @to: NULL is in no window.
func inWindow(v any, lo, hi time.Time) bool {
	t, ok := v.(time.Time)
	return ok && !t.Before(lo) && t.Before(hi)
}

// getQueryResults is jobs.getQueryResults, which the client's Wait polls
// for a query job: complete once the job is DONE, with no rows (a DML
// statement returns none).
func (s *Server) getQueryResults(w http.ResponseWriter, project, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.jobs[project+"."+id]
	if !ok {
		writeError(w, http.StatusNotFound, "notFound", "Not found: Job "+project+":"+id)
		return
	}
	s.poll(rec)
	done := rec.job.Status != nil && rec.job.Status.State == "DONE"
	res := &bq.GetQueryResultsResponse{JobReference: rec.job.JobReference, JobComplete: done, Schema: &bq.TableSchema{}}
	if done {
		if e := rec.job.Status.ErrorResult; e != nil {
			// As BigQuery does: the job's own error, with its reason.
			status := http.StatusBadRequest
			if e.Reason == "backendError" {
				status = http.StatusInternalServerError
			}
			writeError(w, status, e.Reason, e.Message)
			return
		}
		if st := rec.job.Statistics; st != nil && st.Query != nil {
			res.NumDmlAffectedRows = st.Query.NumDmlAffectedRows
		}
	}
	writeJSON(w, res)
}
