package bqtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	bq "google.golang.org/api/bigquery/v2"
)

// Routines: routines.insert, get, update (PUT, which replaces the whole
// resource, as BigQuery's does) and delete, for the table functions
// nightshift creates. A routine's body is checked like a view's query
// when it is created or replaced (sqlProblems), its arguments counting as
// names it may use.

// insertRoutine is routines.insert.
func (s *Server) insertRoutine(w http.ResponseWriter, r *http.Request, project, dataset string) {
	var rt bq.Routine
	if err := json.NewDecoder(r.Body).Decode(&rt); err != nil {
		writeError(w, 400, "invalid", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasDataset(w, project, dataset) {
		return
	}
	if rt.RoutineReference == nil || rt.RoutineReference.RoutineId == "" {
		writeError(w, 400, "invalid", "Required parameter is missing: routineReference.routineId")
		return
	}
	key := project + "." + dataset + "." + rt.RoutineReference.RoutineId
	if _, ok := s.routines[key]; ok {
		writeError(w, http.StatusConflict, "duplicate", "Already Exists: Routine "+key)
		return
	}
	if status, reason, msg := s.checkRoutine(project, dataset, &rt); status != 0 {
		writeError(w, status, reason, msg)
		return
	}
	rt.RoutineReference.ProjectId, rt.RoutineReference.DatasetId = project, dataset
	rt.CreationTime, rt.LastModifiedTime = now(), now()
	s.nextID++
	rt.Etag = fmt.Sprintf("routine-etag-%d", s.nextID)
	if s.routines == nil {
		s.routines = map[string]*bq.Routine{}
	}
	s.routines[key] = &rt
	writeJSON(w, &rt)
}

// serveRoutine is routines.get, update and delete.
func (s *Server) serveRoutine(w http.ResponseWriter, r *http.Request, project, dataset, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := project + "." + dataset + "." + id
	cur, ok := s.routines[key]
	if !ok {
		writeError(w, http.StatusNotFound, "notFound", "Not found: Routine "+project+":"+dataset+"."+id)
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, cur)
	case http.MethodDelete:
		delete(s.routines, key)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPut:
		if etag := r.Header.Get("If-Match"); etag != "" && etag != cur.Etag {
			writeError(w, http.StatusPreconditionFailed, "conditionNotMet", "Precondition check failed.")
			return
		}
		var rt bq.Routine
		if err := json.NewDecoder(r.Body).Decode(&rt); err != nil {
			writeError(w, 400, "invalid", err.Error())
			return
		}
		if status, reason, msg := s.checkRoutine(project, dataset, &rt); status != 0 {
			writeError(w, status, reason, msg)
			return
		}
		rt.RoutineReference = cur.RoutineReference
		rt.CreationTime, rt.LastModifiedTime = cur.CreationTime, max(now(), cur.LastModifiedTime+1)
		s.nextID++
		rt.Etag = fmt.Sprintf("routine-etag-%d", s.nextID)
		s.routines[key] = &rt
		writeJSON(w, &rt)
	default:
		writeError(w, http.StatusMethodNotAllowed, "invalid", "bqtest: "+r.Method+" on a routine is not supported")
	}
}

// checkRoutine is what BigQuery refuses in a routine: an unknown type or
// language, no body, and a SQL body that does not resolve. Called with mu.
func (s *Server) checkRoutine(project, dataset string, rt *bq.Routine) (int, string, string) {
	switch {
	case !slices.Contains([]string{"SCALAR_FUNCTION", "TABLE_VALUED_FUNCTION", "PROCEDURE"}, rt.RoutineType):
		return http.StatusBadRequest, "invalid", fmt.Sprintf("Invalid routine type %q", rt.RoutineType)
	case rt.DefinitionBody == "":
		return http.StatusBadRequest, "invalid", "Required parameter is missing: definitionBody"
	case rt.Language != "" && rt.Language != "SQL":
		return 0, "", ""
	}
	var args []string
	for _, a := range rt.Arguments {
		if a.DataType == nil && a.ArgumentKind != "ANY_TYPE" {
			return http.StatusBadRequest, "invalid", "Argument " + a.Name + " has no data type"
		}
		args = append(args, a.Name)
	}
	return refusal(s.sqlProblems(project, dataset, rt.DefinitionBody, args))
}

// Routine returns a copy of a routine, if it exists.
func (s *Server) Routine(project, dataset, routine string) (*bq.Routine, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.routines[project+"."+dataset+"."+routine]
	if !ok {
		return nil, false
	}
	out := *rt
	return &out, true
}
