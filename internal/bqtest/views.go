package bqtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"

	bq "google.golang.org/api/bigquery/v2"
)

// Views: tables.insert with a view definition creates a table of type VIEW
// holding its query; tables.get returns it; tables.patch and tables.update
// change its query or description. The fake runs no SQL, but it checks a
// view's query as far as it can without a SQL engine (sqlProblems), and
// refuses, as BigQuery does at creation, a view in legacy SQL (the REST
// API's default when useLegacySql is left out) or one that names a table
// the dataset does not hold.

// insertTableOrView is tables.insert: a view is created here, any other
// table by insertTable.
func (s *Server) insertTableOrView(w http.ResponseWriter, r *http.Request, project, dataset string) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, 400, "invalid", err.Error())
		return
	}
	var probe struct {
		View json.RawMessage `json:"view"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		writeError(w, 400, "invalid", err.Error())
		return
	}
	if len(probe.View) == 0 || string(probe.View) == "null" {
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.insertTable(w, r, project, dataset)
		return
	}
	var t bq.Table
	if err := json.Unmarshal(body, &t); err != nil {
		writeError(w, 400, "invalid", err.Error())
		return
	}
	legacy, err := legacySQL(probe.View)
	if err != nil {
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
	if status, reason, msg := s.checkView(project, dataset, t.View.Query, legacy); status != 0 {
		writeError(w, status, reason, msg)
		return
	}
	t.TableReference.ProjectId, t.TableReference.DatasetId = project, dataset
	t.Type = "VIEW"
	t.View.UseLegacySql = false
	t.CreationTime, t.LastModifiedTime = now(), modifiedNow()
	s.tables[key] = &Table{Meta: &t}
	writeJSON(w, s.tableResource(s.tables[key]))
}

// legacySQL reads useLegacySql from a view definition: true unless the
// request says false, as BigQuery's REST API defaults it.
func legacySQL(view json.RawMessage) (bool, error) {
	var v struct {
		UseLegacySQL *bool `json:"useLegacySql"`
	}
	if err := json.Unmarshal(view, &v); err != nil {
		return false, err
	}
	return v.UseLegacySQL == nil || *v.UseLegacySQL, nil
}

// isView says whether a table is a view.
func (s *Server) isView(project, dataset, table string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tables[project+"."+dataset+"."+table]
	return ok && t.Meta.View != nil
}

// patchView is tables.patch (PATCH) and tables.update (PUT) of a view:
// its query, description, labels and friendly name. A query sent without
// useLegacySql: false is taken as legacy SQL and refused, as for an insert.
func (s *Server) patchView(w http.ResponseWriter, r *http.Request, project, dataset, table string) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, 400, "invalid", err.Error())
		return
	}
	var fields map[string]json.RawMessage
	var patch bq.Table
	if err := json.Unmarshal(body, &fields); err != nil {
		writeError(w, 400, "invalid", err.Error())
		return
	}
	if err := json.Unmarshal(body, &patch); err != nil {
		writeError(w, 400, "invalid", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tables[project+"."+dataset+"."+table]
	if !ok {
		writeError(w, http.StatusNotFound, "notFound", "Not found: Table "+project+":"+dataset+"."+table)
		return
	}
	if etag := r.Header.Get("If-Match"); etag != "" && etag != s.tableResource(t).Etag {
		writeError(w, http.StatusPreconditionFailed, "conditionNotMet", "Precondition check failed.")
		return
	}
	meta := *t.Meta
	for name := range fields {
		switch name {
		case "description":
			meta.Description = patch.Description
		case "labels":
			meta.Labels = patch.Labels
		case "friendlyName":
			meta.FriendlyName = patch.FriendlyName
		case "tableReference", "etag", "kind", "id", "type":
		case "view":
			legacy, err := legacySQL(fields["view"])
			if err != nil {
				writeError(w, 400, "invalid", err.Error())
				return
			}
			if status, reason, msg := s.checkView(project, dataset, patch.View.Query, legacy); status != 0 {
				writeError(w, status, reason, msg)
				return
			}
			meta.View = &bq.ViewDefinition{Query: patch.View.Query}
		default:
			writeError(w, 400, "invalid", "bqtest: tables.patch of a view's "+name+" is not supported")
			return
		}
	}
	meta.LastModifiedTime = max(modifiedNow(), t.Meta.LastModifiedTime+1)
	t.Meta = &meta
	writeJSON(w, s.tableResource(t))
}

// checkView is what BigQuery refuses when a view is created or changed:
// legacy SQL, and a query that does not resolve. It answers the HTTP
// status, reason and message, or 0. Called with mu.
func (s *Server) checkView(project, dataset, query string, legacy bool) (int, string, string) {
	if legacy {
		return http.StatusBadRequest, "invalid", "bqtest: the view is in legacy SQL (useLegacySql is true, or left out and so true): nightshift's views are GoogleSQL"
	}
	return refusal(s.sqlProblems(project, dataset, query, nil))
}

// refusal is BigQuery's answer to a query with problems: notFound for a
// missing table, invalidQuery for the rest; 0 for none.
func refusal(problems []sqlProblem) (int, string, string) {
	for _, p := range problems {
		if p.missing != "" {
			return http.StatusNotFound, "notFound", "Not found: Table " + p.missing + " was not found"
		}
	}
	if len(problems) > 0 {
		return http.StatusBadRequest, "invalidQuery", problems[0].msg
	}
	return 0, "", ""
}

// modifiedNow is now as a lastModifiedTime, which the API types unsigned.
func modifiedNow() uint64 {
	ms := now()
	if ms < 0 {
		return 0
	}
	return uint64(ms)
}

// ViewProblems checks every view and table function of a dataset as far
// as the fake can without running SQL: each table a query reads is named
// `project.dataset.table` (BigQuery resolves no default dataset in a view)
// and exists in the dataset, each column named through a table's alias is
// one of its columns, and no view is in legacy SQL. It returns one line per
// problem, prefixed with the view or routine; none means the dataset's
// views would be created and would resolve.
func (s *Server) ViewProblems(project, dataset string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	prefix := project + "." + dataset + "."
	for _, key := range slices.Sorted(maps.Keys(s.tables)) {
		t := s.tables[key]
		if !strings.HasPrefix(key, prefix) || t.Meta.View == nil {
			continue
		}
		if t.Meta.View.UseLegacySql {
			out = append(out, t.Meta.TableReference.TableId+": legacy SQL")
		}
		for _, p := range s.sqlProblems(project, dataset, t.Meta.View.Query, nil) {
			out = append(out, t.Meta.TableReference.TableId+": "+p.msg)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(s.routines)) {
		if !strings.HasPrefix(key, prefix) {
			continue
		}
		rt := s.routines[key]
		var args []string
		for _, a := range rt.Arguments {
			args = append(args, a.Name)
		}
		for _, p := range s.sqlProblems(project, dataset, rt.DefinitionBody, args) {
			out = append(out, rt.RoutineReference.RoutineId+": "+p.msg)
		}
	}
	return out
}

// sqlProblem is one thing wrong in a query; missing names the table that
// is not there, when that is the problem.
type sqlProblem struct {
	msg, missing string
}

var (
	sqlCTE      = regexp.MustCompile(`(?i)(?:\bWITH|,)\s*([A-Za-z_]\w*)\s+AS\s*\(`)
	sqlTableRef = regexp.MustCompile("(?i)\\b(?:FROM|JOIN)\\s+(`[^`]*`|[A-Za-z_][\\w.]*)(\\s*\\()?(?:\\s+(?:AS\\s+)?([A-Za-z_]\\w*))?")
	sqlKeywords = map[string]bool{
		"WHERE": true, "JOIN": true, "LEFT": true, "RIGHT": true, "INNER": true, "FULL": true, "CROSS": true, "OUTER": true,
		"ON": true, "USING": true, "GROUP": true, "ORDER": true, "HAVING": true, "UNION": true, "LIMIT": true, "WINDOW": true,
		"QUALIFY": true, "EXCEPT": true, "INTERSECT": true, "FOR": true, "TABLESAMPLE": true, "UNNEST": true,
	}
)

// sqlProblems checks a GoogleSQL query's table and column references
// against the dataset. It knows the shapes nightshift's templates use
// (FROM/JOIN a table with an alias, CTEs, subqueries), not all of SQL;
// params are a routine's argument names. Called with mu.
func (s *Server) sqlProblems(project, dataset, query string, params []string) []sqlProblem {
	text := blankLiterals(query)
	ctes := map[string]bool{}
	for _, m := range sqlCTE.FindAllStringSubmatch(text, -1) {
		ctes[strings.ToLower(m[1])] = true
	}
	var out []sqlProblem
	// aliases maps an alias to the tables it stands for (nil for a CTE
	// or anything the fake cannot see into).
	aliases := map[string][]*Table{}
	opaque := map[string]bool{}
	for _, m := range sqlTableRef.FindAllStringSubmatch(text, -1) {
		if m[2] != "" {
			// A function in FROM, UNNEST(…): it reads no table, and its
			// alias names a value, not a table's columns.
			continue
		}
		ref, alias := m[1], m[3]
		if sqlKeywords[strings.ToUpper(alias)] {
			alias = ""
		}
		if !strings.HasPrefix(ref, "`") {
			if ctes[strings.ToLower(ref)] {
				if alias != "" {
					opaque[alias] = true
				}
				continue
			}
			out = append(out, sqlProblem{msg: fmt.Sprintf("table %s is not qualified as `project.dataset.table`: a view resolves no default dataset", ref)})
			continue
		}
		parts := strings.Split(strings.Trim(ref, "`"), ".")
		if len(parts) != 3 {
			out = append(out, sqlProblem{msg: fmt.Sprintf("table %s is not named `project.dataset.table`", ref)})
			continue
		}
		t, ok := s.tables[strings.Join(parts, ".")]
		if !ok {
			out = append(out, sqlProblem{msg: fmt.Sprintf("table %s does not exist", ref), missing: parts[0] + ":" + parts[1] + "." + parts[2]})
			continue
		}
		if parts[0] != project || parts[1] != dataset {
			out = append(out, sqlProblem{msg: fmt.Sprintf("table %s is outside the dataset %s.%s", ref, project, dataset)})
		}
		if alias == "" {
			alias = parts[2]
		}
		aliases[alias] = append(aliases[alias], t)
	}
	for alias, tables := range aliases {
		if opaque[alias] {
			continue
		}
		cols := regexp.MustCompile(`\b` + regexp.QuoteMeta(alias) + `\.([A-Za-z_]\w*)\b`)
		for _, m := range cols.FindAllStringSubmatch(text, -1) {
			if slices.Contains(params, m[1]) {
				continue
			}
			if !slices.ContainsFunc(tables, func(t *Table) bool { return t.Meta.Schema == nil || hasField(t.Meta.Schema, m[1]) }) {
				out = append(out, sqlProblem{msg: fmt.Sprintf("Name %s not found inside %s", m[1], alias)})
			}
		}
	}
	slices.SortFunc(out, func(a, b sqlProblem) int { return strings.Compare(a.msg, b.msg) })
	return slices.CompactFunc(out, func(a, b sqlProblem) bool { return a.msg == b.msg })
}

func hasField(schema *bq.TableSchema, name string) bool {
	return slices.ContainsFunc(schema.Fields, func(f *bq.TableFieldSchema) bool { return strings.EqualFold(f.Name, name) })
}

// blankLiterals removes a query's comments and empties its string
// literals, so that neither is read as SQL.
func blankLiterals(query string) string {
	var b strings.Builder
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			for i < len(query) && query[i] != '\n' {
				i++
			}
			b.WriteByte('\n')
		case c == '\'':
			b.WriteString("''")
			for i++; i < len(query); i++ {
				if query[i] == '\\' {
					i++
				} else if query[i] == '\'' {
					if i+1 < len(query) && query[i+1] == '\'' {
						i++
						continue
					}
					break
				}
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
