package bqtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	bq "google.golang.org/api/bigquery/v2"
)

// Partitioned and clustered tables, as BigQuery keeps them:
//
//   - tables.insert records timePartitioning (on a DATE, TIMESTAMP or
//     DATETIME field), rangePartitioning (on an INTEGER field) and
//     clustering (at most 4 top-level fields, not FLOAT or JSON), refusing
//     a spec BigQuery refuses, and tables.get returns them;
//   - a load, or a query with a destination table, whose configuration
//     states a partitioning or clustering that differs from the existing
//     table's fails "Incompatible table partitioning specification"; one
//     that states none keeps the table's; a copy into an existing table
//     of another spec fails likewise;
//   - a load into a partition decorator (table$20240101 by DAY, $202401 by
//     MONTH, $2024 by YEAR, $2024010115 by HOUR, $<range start> for
//     integer ranges) writes that partition only, WRITE_TRUNCATE replacing
//     its rows and no other's, and refuses a file with a row of another
//     partition ("the partition ID specified in the decorator must match
//     the data being written");
//   - a row whose partitioning value is NULL is in __NULL__, one with a
//     date before 1960-01-01 or after 2159-12-31, or an integer outside the
//     range, in __UNPARTITIONED__;
//   - one job may modify at most 4,000 partitions.
//
// Partitions lets a test read a table partition by partition.

// maxPartitionsPerJob is BigQuery's limit on the partitions one job
// modifies.
const maxPartitionsPerJob = 4000

// Partitions returns a table's rows by partition id (20240101, 202401,
// 2024, a range start, __NULL__, __UNPARTITIONED__), or false when the
// table does not exist or is not partitioned on a column.
func (s *Server) Partitions(project, dataset, table string) (map[string][]map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tables[project+"."+dataset+"."+table]
	if !ok {
		return nil, false
	}
	p := partitionerOf(t.Meta)
	if p == nil {
		return nil, false
	}
	out := map[string][]map[string]any{}
	for _, row := range t.Rows {
		id := p.id(row)
		out[id] = append(out[id], row)
	}
	return out, true
}

// SetLayout changes a table's partitioning and clustering and keeps its
// rows, which BigQuery itself cannot do: it lets a test hold a table as an
// earlier contract, or a person with the bq tool, laid it out. It reports
// whether the table exists.
func (s *Server) SetLayout(project, dataset, table string, tp *bq.TimePartitioning, rp *bq.RangePartitioning, cl *bq.Clustering) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tables[project+"."+dataset+"."+table]
	if !ok {
		return false
	}
	meta := *t.Meta
	meta.TimePartitioning, meta.RangePartitioning, meta.Clustering = tp, rp, cl
	t.Meta = &meta
	return true
}

// partitioner says which partition of a table a row is in.
type partitioner struct {
	field string
	typ   string // DAY, HOUR, MONTH, YEAR or RANGE
	rng   *bq.RangePartitioningRange
}

// partitionerOf is the table's partitioner, nil when it is not
// partitioned on a column.
func partitionerOf(t *bq.Table) *partitioner {
	switch {
	case t.TimePartitioning != nil && t.TimePartitioning.Field != "":
		return &partitioner{field: t.TimePartitioning.Field, typ: t.TimePartitioning.Type}
	case t.RangePartitioning != nil && t.RangePartitioning.Range != nil:
		return &partitioner{field: t.RangePartitioning.Field, typ: "RANGE", rng: t.RangePartitioning.Range}
	}
	return nil
}

var timeDecorator = map[string]string{"HOUR": "2006010215", "DAY": "20060102", "MONTH": "200601", "YEAR": "2006"}

// id is the partition the row is in.
func (p *partitioner) id(row map[string]any) string {
	v := row[p.field]
	if v == nil {
		return "__NULL__"
	}
	if p.typ == "RANGE" {
		n, ok := v.(int64)
		if !ok || n < p.rng.Start || n >= p.rng.End {
			return "__UNPARTITIONED__"
		}
		return strconv.FormatInt(p.rng.Start+(n-p.rng.Start)/p.rng.Interval*p.rng.Interval, 10)
	}
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x.UTC()
	case Date:
		d, err := time.Parse(time.DateOnly, string(x))
		if err != nil {
			return "__UNPARTITIONED__"
		}
		t = d
	default:
		return "__UNPARTITIONED__"
	}
	if t.Year() < 1960 || t.Year() > 2159 {
		return "__UNPARTITIONED__"
	}
	return t.Format(timeDecorator[p.typ])
}

// validDecorator refuses a decorator that names no partition of the table.
func (p *partitioner) validDecorator(d string) error {
	if p.typ == "RANGE" {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil || n < p.rng.Start || n >= p.rng.End || (n-p.rng.Start)%p.rng.Interval != 0 {
			return invalid("Invalid partition decorator $%s: the table is partitioned by ranges of %s from %d to %d in steps of %d",
				d, p.field, p.rng.Start, p.rng.End, p.rng.Interval)
		}
		return nil
	}
	layout := timeDecorator[p.typ]
	if t, err := time.Parse(layout, d); err != nil || t.Format(layout) != d {
		return invalid("Invalid partition decorator $%s for a table partitioned by %s of %s", d, p.typ, p.field)
	}
	return nil
}

// spec is a table's partitioning and clustering as BigQuery's messages
// write it: none, interval(type:day,field:d) or range(...), then
// clustering(a,b).
func spec(tp *bq.TimePartitioning, rp *bq.RangePartitioning, cl *bq.Clustering) string {
	s := "none"
	switch {
	case tp != nil:
		s = fmt.Sprintf("interval(type:%s,field:%s)", strings.ToLower(tp.Type), tp.Field)
	case rp != nil && rp.Range != nil:
		s = fmt.Sprintf("range(field:%s,start:%d,end:%d,interval:%d)", rp.Field, rp.Range.Start, rp.Range.End, rp.Range.Interval)
	}
	if cl != nil && len(cl.Fields) > 0 {
		s += " clustering(" + strings.Join(cl.Fields, ",") + ")"
	}
	return s
}

func specOf(t *bq.Table) string { return spec(t.TimePartitioning, t.RangePartitioning, t.Clustering) }

// compatibleSpec refuses a job whose configuration states a partitioning
// or clustering other than the existing table's. A configuration that
// states neither keeps the table's.
func compatibleSpec(t *bq.Table, tp *bq.TimePartitioning, rp *bq.RangePartitioning, cl *bq.Clustering) error {
	if tp == nil && rp == nil && cl == nil {
		return nil
	}
	if want, have := spec(tp, rp, cl), specOf(t); want != have {
		return invalid("Incompatible table partitioning specification. Expects partitioning specification %s, but input partitioning specification is %s", have, want)
	}
	return nil
}

// validLayout refuses the partitioning and clustering BigQuery refuses
// for the table's schema.
func validLayout(t *bq.Table) *jobError {
	types := map[string]*bq.TableFieldSchema{}
	if t.Schema != nil {
		for _, f := range t.Schema.Fields {
			types[f.Name] = f
		}
	}
	bad := func(format string, args ...any) *jobError {
		return &jobError{reason: "invalid", msg: fmt.Sprintf(format, args...)}
	}
	if t.TimePartitioning != nil && t.RangePartitioning != nil {
		return bad("Cannot specify both time and range partitioning")
	}
	if tp := t.TimePartitioning; tp != nil {
		if timeDecorator[tp.Type] == "" {
			return bad("Invalid time partitioning type %q", tp.Type)
		}
		if tp.Field != "" {
			f, ok := types[tp.Field]
			switch {
			case !ok:
				return bad("The field specified for time partitioning can only be found in the schema if it is a top-level field: %s", tp.Field)
			case f.Mode == "REPEATED" || (f.Type != "DATE" && f.Type != "TIMESTAMP" && f.Type != "DATETIME"):
				return bad("Partitioning field %s has type %s; it must be a DATE, TIMESTAMP or DATETIME", tp.Field, f.Type)
			case f.Type == "DATE" && tp.Type == "HOUR":
				return bad("HOUR partitioning is not supported on DATE field %s", tp.Field)
			}
		}
	}
	if rp := t.RangePartitioning; rp != nil {
		f, ok := types[rp.Field]
		switch {
		case !ok:
			return bad("The field specified for range partitioning cannot be found in the schema: %s", rp.Field)
		case f.Type != "INTEGER" && f.Type != "INT64" || f.Mode == "REPEATED":
			return bad("Range partitioning field %s has type %s; it must be an INTEGER", rp.Field, f.Type)
		case rp.Range == nil || rp.Range.Interval <= 0 || rp.Range.End <= rp.Range.Start:
			return bad("Invalid range partitioning of %s: the range is empty", rp.Field)
		case (rp.Range.End-rp.Range.Start+rp.Range.Interval-1)/rp.Range.Interval > 10000:
			return bad("Too many partitions in the range partitioning of %s: at most 10000", rp.Field)
		}
	}
	if cl := t.Clustering; cl != nil {
		if len(cl.Fields) > 4 {
			return bad("Too many clustering fields: %d, only 4 are allowed", len(cl.Fields))
		}
		for i, name := range cl.Fields {
			f, ok := types[name]
			switch {
			case !ok:
				return bad("The field specified for clustering cannot be found in the schema: %s", name)
			case slices.Contains(cl.Fields[:i], name):
				return bad("Duplicate clustering field %s", name)
			case f.Mode == "REPEATED" || f.Type == "FLOAT" || f.Type == "FLOAT64" || f.Type == "JSON" || f.Type == "RECORD" || f.Type == "BYTES":
				return bad("Field %s of type %s is not supported for clustering", name, f.Type)
			}
		}
	}
	return nil
}

// checkPartitions checks what a load or query job writes into table t
// (already existing, or about to be created with the job's spec) against
// its partitioning: the job's spec, the decorator, the rows' partitions.
func checkPartitions(t *bq.Table, exists bool, tp *bq.TimePartitioning, rp *bq.RangePartitioning, cl *bq.Clustering, decorator string, rows []map[string]any) error {
	if exists {
		if err := compatibleSpec(t, tp, rp, cl); err != nil {
			return err
		}
	} else if err := validLayout(t); err != nil {
		return err
	}
	p := partitionerOf(t)
	if decorator != "" {
		if p == nil {
			return invalid("Partition decorator $%s on table %s, which is not partitioned on a column", decorator, t.TableReference.TableId)
		}
		if err := p.validDecorator(decorator); err != nil {
			return err
		}
		for _, row := range rows {
			if id := p.id(row); id != decorator {
				return invalid("The partition ID specified in the decorator must match the data being written: row with %s %v is not in partition %s but in %s",
					p.field, row[p.field], decorator, id)
			}
		}
	}
	if p != nil {
		seen := map[string]bool{}
		for _, row := range rows {
			seen[p.id(row)] = true
		}
		if len(seen) > maxPartitionsPerJob {
			return invalid("Too many partitions produced by the job, allowed %d, the job produces at least %d partitions", maxPartitionsPerJob, len(seen))
		}
	}
	return nil
}

// selectAll is the one query the fake runs into a destination table:
// every row of a table, which is how a table is rebuilt with another
// partitioning (CREATE TABLE … PARTITION BY … AS SELECT * FROM …, or the
// same as a query job with a destination table).
var selectAll = regexp.MustCompile("(?is)^\\s*SELECT\\s+\\*\\s+FROM\\s+`([^`]+)`\\s*;?\\s*$")

// queryInto runs a query job with a destination table: only SELECT * FROM
// a table. The destination takes the query's schema, as BigQuery's does:
// the source's columns and types, every one NULLABLE, without
// descriptions. Called with mu.
func (s *Server) queryInto(project string, cfg *bq.JobConfigurationQuery) (*bq.JobStatistics2, error) {
	if cfg.UseLegacySql == nil || *cfg.UseLegacySql {
		return nil, invalid("bqtest runs standard SQL only: set useLegacySql false")
	}
	m := selectAll.FindStringSubmatch(cfg.Query)
	if m == nil {
		return nil, invalid("bqtest writes only SELECT * FROM `table` into a destination table, not: %.200s", cfg.Query)
	}
	srcKey, err := tableKey(project, m[1])
	if err != nil {
		return nil, err
	}
	src, ok := s.tables[srcKey]
	if !ok {
		return nil, &jobError{reason: "notFound", msg: "Not found: Table " + m[1]}
	}
	dst := cfg.DestinationTable
	if strings.Contains(dst.TableId, "$") {
		return nil, invalid("bqtest does not write query results into a partition decorator")
	}
	if _, ok := s.datasets[project+"."+dst.DatasetId]; !ok {
		return nil, &jobError{reason: "notFound", msg: "Not found: Dataset " + project + ":" + dst.DatasetId}
	}
	key := project + "." + dst.DatasetId + "." + dst.TableId
	cur, exists := s.tables[key]
	switch {
	case !exists && cfg.CreateDisposition == "CREATE_NEVER":
		return nil, &jobError{reason: "notFound", msg: "Not found: Table " + key}
	case exists && cfg.WriteDisposition == "WRITE_APPEND":
		return nil, invalid("bqtest does not append query results")
	case exists && cfg.WriteDisposition != "WRITE_TRUNCATE" && len(cur.Rows) > 0:
		return nil, &jobError{reason: "duplicate", msg: "Already Exists: Table " + key}
	}
	schema := &bq.TableSchema{}
	for _, f := range src.Meta.Schema.Fields {
		out := &bq.TableFieldSchema{Name: f.Name, Type: f.Type, Mode: f.Mode, Precision: f.Precision, Scale: f.Scale, Fields: f.Fields}
		if out.Mode != "REPEATED" {
			out.Mode = "NULLABLE"
		}
		schema.Fields = append(schema.Fields, out)
	}
	meta := &bq.Table{TableReference: &bq.TableReference{ProjectId: project, DatasetId: dst.DatasetId, TableId: dst.TableId},
		Schema: schema, TimePartitioning: cfg.TimePartitioning, RangePartitioning: cfg.RangePartitioning, Clustering: cfg.Clustering, Type: "TABLE"}
	if exists {
		// WRITE_TRUNCATE keeps the table, its metadata and spec; the
		// rows and the schema are the query's.
		m := *cur.Meta
		m.Schema = schema
		meta = &m
	}
	if err := checkPartitions(meta, exists, cfg.TimePartitioning, cfg.RangePartitioning, cfg.Clustering, "", src.Rows); err != nil {
		return nil, err
	}
	s.tables[key] = &Table{Meta: meta, Rows: slices.Clone(src.Rows)}
	return &bq.JobStatistics2{StatementType: "SELECT", TotalBytesProcessed: int64(len(src.Rows)) * 100}, nil
}

// patchLayout is tables.patch of a table (views.go patches views): its
// description, labels and friendly name, its schema (descriptions, modes
// relaxed to NULLABLE, columns added) and its clustering, which BigQuery
// changes in place (it applies to data written from then on). Partitioning
// cannot be patched. Called with mu.
func (s *Server) patchLayout(w http.ResponseWriter, r *http.Request, t *Table) {
	var patch map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&patch); err != nil {
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	if m := r.Header.Get("If-Match"); m != "" && m != s.tableResource(t).Etag {
		writeError(w, http.StatusPreconditionFailed, "conditionNotMet", "Precondition check failed.")
		return
	}
	meta := *t.Meta
	for field, raw := range patch {
		null := string(raw) == "null"
		var err error
		switch field {
		case "tableReference", "etag", "kind", "id", "type":
		case "description":
			meta.Description = ""
			if !null {
				err = json.Unmarshal(raw, &meta.Description)
			}
		case "friendlyName":
			meta.FriendlyName = ""
			if !null {
				err = json.Unmarshal(raw, &meta.FriendlyName)
			}
		case "labels":
			meta.Labels = nil
			if !null {
				err = json.Unmarshal(raw, &meta.Labels)
			}
		case "clustering":
			meta.Clustering = nil
			if !null {
				err = json.Unmarshal(raw, &meta.Clustering)
			}
		case "schema":
			var schema bq.TableSchema
			if err = json.Unmarshal(raw, &schema); err == nil {
				normalize(&schema)
				err = patchableSchema(t.Meta.Schema, &schema)
				meta.Schema = &schema
			}
		case "timePartitioning", "rangePartitioning":
			if string(raw) != mustJSON(field, t.Meta) {
				writeError(w, http.StatusBadRequest, "invalid", "Cannot change the partitioning of table "+t.Meta.TableReference.TableId+
					" in place: create a new table")
				return
			}
		default:
			writeError(w, http.StatusBadRequest, "invalid", "bqtest: tables.patch of "+field+" is not supported")
			return
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid", err.Error())
			return
		}
	}
	if err := validLayout(&meta); err != nil {
		writeError(w, http.StatusBadRequest, err.reason, err.msg)
		return
	}
	meta.LastModifiedTime = max(uint64(now()), t.Meta.LastModifiedTime+1) //nolint:gosec // a time in ms
	t.Meta = &meta
	writeJSON(w, s.tableResource(t))
}

// patchableSchema refuses what tables.patch cannot do to a schema: drop
// or retype a column, or make a NULLABLE one REQUIRED.
func patchableSchema(have, want *bq.TableSchema) error {
	byName := map[string]*bq.TableFieldSchema{}
	for _, f := range want.Fields {
		byName[f.Name] = f
	}
	for _, h := range have.Fields {
		f, ok := byName[h.Name]
		switch {
		case !ok:
			return fmt.Errorf("Provided Schema does not match Table. Field %s is missing in new schema", h.Name) //nolint:staticcheck // BigQuery's words
		case f.Type != h.Type:
			return fmt.Errorf("Provided Schema does not match Table. Field %s has changed type from %s to %s", h.Name, h.Type, f.Type) //nolint:staticcheck // BigQuery's words
		case f.Mode != h.Mode && f.Mode != "NULLABLE":
			return fmt.Errorf("Provided Schema does not match Table. Field %s has changed mode from %s to %s", h.Name, h.Mode, f.Mode) //nolint:staticcheck // BigQuery's words
		}
	}
	return nil
}

func mustJSON(field string, t *bq.Table) string {
	var v any = t.TimePartitioning
	if field == "rangePartitioning" {
		v = t.RangePartitioning
	}
	b, _ := json.Marshal(v)
	return string(b)
}
