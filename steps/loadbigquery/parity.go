package loadbigquery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"cloud.google.com/go/bigquery"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"google.golang.org/api/googleapi"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	nssql "github.com/dfe-nightshift/nightshift/sql"
)

// The tables BigQuery holds beside the entities', each a mirror of the
// warehouse's, replaced whole by every run's Parity.
const (
	// HistoryTable is reporting.status_history.
	HistoryTable = "status_history"
	// QuarantineTable counts nightshift.quarantine per run, entity, column
	// and reason (the keys and values stay in the warehouse).
	QuarantineTable = "nightshift_quarantine"
	// FreshnessTable says, per entity, which run's data BigQuery's table
	// holds and when that run read its source.
	FreshnessTable = "nightshift_freshness"
)

// Parity brings BigQuery level with the warehouse in what analysts read
// beside the entity tables: the status history and its as-of table
// function, the views, what each run set aside and how fresh each table
// is. The views and functions are rendered from the very templates the
// warehouse's are (package sql), for GoogleSQL. It runs once every entity
// of a run has reached BigQuery, and is idempotent per run: the tables are
// replaced by load jobs whose ids derive from the run (a re-run finds them
// done and loads nothing), and a view or function that is already as it
// should be is left alone.
type Parity struct {
	Target
	// RunID is the run whose data BigQuery now holds: the jobs' ids derive
	// from it.
	RunID int64
	// Schema is the warehouse schema of status_history.
	Schema    string
	Views     []nssql.View
	Functions []nssql.Function
	// Dir is where the files loaded are written, and removed from.
	Dir       string
	BatchSize int
	Mem       memory.Allocator
}

// ParityResult is what Parity did: the rows of each table it loaded, and
// what became of each view and function (created, updated, unchanged, or
// why it was left out).
type ParityResult struct {
	Tables    map[string]int64  `json:"tables"`
	Views     map[string]string `json:"views"`
	Functions map[string]string `json:"functions"`
}

// Run brings BigQuery level, reading the warehouse through wh.
func (p *Parity) Run(ctx context.Context, wh Querier) (ParityResult, error) {
	res := ParityResult{Tables: map[string]int64{}, Views: map[string]string{}, Functions: map[string]string{}}
	if p.Mem == nil {
		p.Mem = memory.DefaultAllocator
	}
	ds := p.Client.Dataset(p.Dataset)
	if err := (&Load{Target: p.Target}).ensureDataset(ctx, ds); err != nil {
		return res, fmt.Errorf("bigquery: dataset %s: %w", p.Dataset, classify(err))
	}
	ms, err := mirrors(p.Schema)
	if err != nil {
		return res, pipeline.MarkPermanent(err)
	}
	for _, m := range ms {
		n, err := p.mirror(ctx, ds, wh, m)
		if err != nil {
			return res, fmt.Errorf("bigquery %s: %w", m.table, err)
		}
		res.Tables[m.table] = n
	}
	dialect := nssql.BigQuery(p.Client.Project(), p.Dataset)
	// The functions read status_history, loaded above.
	for _, f := range p.Functions {
		state, err := p.function(ctx, ds, f, dialect)
		if err != nil {
			return res, fmt.Errorf("bigquery function %s: %w", f.Name, err)
		}
		res.Functions[f.Name] = state
	}
	exists := map[string]bool{}
	for _, v := range p.Views {
		state, err := p.view(ctx, ds, v, dialect, exists)
		if err != nil {
			return res, fmt.Errorf("bigquery view %s: %w", v.Name, err)
		}
		res.Views[v.Name] = state
	}
	return res, nil
}

// mirror is a warehouse table (or a summary of one) BigQuery holds a copy
// of, replaced whole at each run.
type mirror struct {
	table, description string
	schema             bigquery.Schema
	clustering         []string
	// query reads the rows, one column per field of schema, in order.
	query string
}

// historyFields are status_history's columns and their BigQuery types; the
// descriptions are the migration's COMMENTs (nssql.Catalog), and a column
// the migration has that is not here fails the run, loudly.
var historyFields = []struct {
	name     string
	typ      bigquery.FieldType
	required bool
}{
	{"entity_type", bigquery.StringFieldType, true}, {"entity_id", bigquery.IntegerFieldType, true},
	{"status", bigquery.StringFieldType, false}, {"valid_from", bigquery.TimestampFieldType, true},
	{"valid_to", bigquery.TimestampFieldType, false}, {"is_current", bigquery.BooleanFieldType, true},
	{"origin", bigquery.StringFieldType, true}, {"run_id", bigquery.IntegerFieldType, true},
	{"closed_by_run_id", bigquery.IntegerFieldType, false}, {"valid_from_source", bigquery.StringFieldType, true},
}

// mirrors are the tables Parity loads, status_history (in the warehouse
// schema) first: the table functions read it.
func mirrors(schema string) ([]mirror, error) {
	catalog, err := nssql.Catalog()
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(catalog, func(d nssql.Described) bool { return d.Name == "reporting."+HistoryTable })
	if i < 0 {
		return nil, errors.New("the warehouse migrations describe no reporting.status_history")
	}
	described := catalog[i]
	history := mirror{table: HistoryTable, description: described.Description, clustering: []string{"entity_type", "entity_id"}}
	var names []string
	for j, f := range historyFields {
		if j >= len(described.Columns) || described.Columns[j].Name != f.name {
			return nil, fmt.Errorf("reporting.status_history's columns (%v) are not those BigQuery's copy is made of", described.Columns)
		}
		history.schema = append(history.schema, &bigquery.FieldSchema{Name: f.name, Type: f.typ, Required: f.required, Description: described.Columns[j].Description})
		names = append(names, pgx.Identifier{f.name}.Sanitize())
	}
	if len(described.Columns) != len(historyFields) {
		return nil, fmt.Errorf("reporting.status_history has columns (%v) that BigQuery's copy does not", described.Columns)
	}
	history.query = "SELECT " + strings.Join(names, ", ") + " FROM " + pgx.Identifier{schema, HistoryTable}.Sanitize() +
		" ORDER BY entity_type, entity_id, valid_from"

	quarantine := mirror{
		table: QuarantineTable,
		description: "What each nightshift run set aside (nightshift.quarantine in the warehouse), counted per entity, column and reason; " +
			"the rows' keys and values stay in the warehouse. Source rows = loaded rows + these.",
		schema: bigquery.Schema{
			{Name: "run_id", Type: bigquery.IntegerFieldType, Required: true, Description: "The run that set the rows aside (nightshift_runs.id)."},
			{Name: "entity", Type: bigquery.StringFieldType, Required: true, Description: "The entity they were set aside from. A statuses entity's are the statuses of rows set aside from the entity they describe, left out so that no table holds a row another leaves out."},
			{Name: "column_name", Type: bigquery.StringFieldType, Required: true, Description: "The column whose value no target could hold exactly."},
			{Name: "reason", Type: bigquery.StringFieldType, Required: true, Description: "Why."},
			{Name: "rows", Type: bigquery.IntegerFieldType, Required: true, Description: "How many rows."},
		},
		query: `SELECT run_id, entity, column_name, reason, count(*)::int8 FROM nightshift.quarantine
			GROUP BY run_id, entity, column_name, reason ORDER BY run_id, entity, column_name, reason`,
	}

	freshness := mirror{
		table:       FreshnessTable,
		description: "How fresh each table of this dataset is: which nightshift run's data it holds, and when that run read the source.",
		schema: bigquery.Schema{
			{Name: "entity", Type: bigquery.StringFieldType, Required: true, Description: "The entity, and table of this dataset."},
			{Name: "run_id", Type: bigquery.IntegerFieldType, Required: true, Description: "The run whose data the table holds (nightshift_runs.id)."},
			{Name: "snapshot_at", Type: bigquery.TimestampFieldType, Description: "When that run read the entity from its source (its snapshot, UTC): the data is as it was then. NULL for a backfill."},
			{Name: "rows", Type: bigquery.IntegerFieldType, Description: "Rows the table held when it got that version."},
			{Name: "loaded_at", Type: bigquery.TimestampFieldType, Required: true, Description: "When BigQuery's table got that version (a load, or a restore)."},
			{Name: "warehouse_run_id", Type: bigquery.IntegerFieldType, Description: "The run whose data the warehouse's table holds: another run while BigQuery is behind it."},
		},
		query: `SELECT v.entity, v.run_id,
			(SELECT max((s.detail->>'snapshot_at')::timestamptz) FROM nightshift.step_runs s
			 WHERE s.run_id = v.run_id AND s.entity = v.entity AND s.step = 'extract' AND s.status = 'succeeded'),
			v.rows, v.placed_at, w.run_id
			FROM nightshift.table_versions v
			LEFT JOIN nightshift.table_versions w ON w.target = 'warehouse' AND w.slot = 'current' AND w.entity = v.entity
			WHERE v.target = 'bigquery' AND v.slot = 'current'
			ORDER BY v.entity`,
	}
	return []mirror{history, quarantine, freshness}, nil
}

// shape is what of a mirror leaves for BigQuery: its columns, under the
// PII policy like any upload; none is personal (a mirror holds ids,
// statuses, counts, reasons and times), so all are kept as they are.
func (m mirror) shape(pii PIIPolicy) uploadShape {
	fields := make([]classified, len(m.schema))
	for i, f := range m.schema {
		fields[i] = classified{field: f, pii: schemas.PIINone}
	}
	return classifiedShape(fields, pii)
}

// mirror replaces BigQuery's copy of m with what the warehouse holds now,
// and returns its rows. A load of this run that already succeeded is the
// result: nothing is read or loaded again.
func (p *Parity) mirror(ctx context.Context, ds *bigquery.Dataset, wh Querier, m mirror) (int64, error) {
	table := ds.Table(m.table)
	id := JobID(p.RunID, m.table, "load")
	if _, done, err := p.succeeded(ctx, id); err != nil {
		return 0, err
	} else if done {
		return tableRows(table)(ctx)
	}
	schema, err := arrowSchema(m.schema)
	if err != nil {
		return 0, pipeline.MarkPermanent(err)
	}
	rows, err := wh.Query(ctx, m.query)
	if err != nil {
		return 0, fmt.Errorf("read the warehouse: %w", err)
	}
	reader := newRowsReader(rows, schema, p.BatchSize, p.Mem)
	defer reader.Release()
	u, err := prepare(reader, filepath.Join(p.Dir, "bigquery-"+m.table+".parquet"), m.shape(p.PII), p.Key, p.Mem)
	if err != nil {
		return 0, fmt.Errorf("read the warehouse: %w", err)
	}
	defer os.Remove(u.Path)

	if _, err := table.Metadata(ctx); isNotFound(err) {
		md := &bigquery.TableMetadata{Schema: u.schema, Description: m.description, Labels: p.Labels}
		if len(m.clustering) > 0 {
			md.Clustering = &bigquery.Clustering{Fields: m.clustering}
		}
		if err := table.Create(ctx, md); err != nil && !isDuplicate(err) {
			return 0, fmt.Errorf("create table: %w", classify(err))
		}
	} else if err != nil {
		return 0, classify(err)
	}
	status, jobID, err := p.runOnce(ctx, id, p.loadFrom(u, table, func(l *bigquery.Loader) {
		if len(m.clustering) > 0 {
			l.Clustering = &bigquery.Clustering{Fields: m.clustering}
		}
	}))
	if err != nil {
		return 0, fmt.Errorf("load: %w", err)
	}
	return verifyRows(ctx, jobID, status, u.Rows, tableRows(table))
}

// function creates or updates the table function f: a routine of type
// TABLE_VALUED_FUNCTION whose body is f's template in GoogleSQL.
func (p *Parity) function(ctx context.Context, ds *bigquery.Dataset, f nssql.Function, d nssql.Dialect) (string, error) {
	want, err := routineOf(f, d)
	if err != nil {
		return "", pipeline.MarkPermanent(err)
	}
	r := ds.Routine(f.Name)
	md, err := r.Metadata(ctx)
	switch {
	case isNotFound(err):
		err = r.Create(ctx, want)
		if err == nil {
			return "created", nil
		}
		if !isDuplicate(err) {
			return "", classify(err)
		}
		// Created by an attempt whose answer was lost.
		if md, err = r.Metadata(ctx); err != nil {
			return "", classify(err)
		}
	case err != nil:
		return "", classify(err)
	}
	if sameRoutine(md, want) {
		return "unchanged", nil
	}
	// routines.update replaces the whole routine: every field is sent.
	_, err = r.Update(ctx, &bigquery.RoutineMetadataToUpdate{
		Type: want.Type, Language: want.Language, Body: want.Body, Description: want.Description,
		Arguments: want.Arguments, ReturnTableType: want.ReturnTableType,
	}, md.ETag)
	if err != nil {
		return "", classifyChange(err)
	}
	return "updated", nil
}

// routineOf is the BigQuery routine of a table function, in dialect d.
func routineOf(f nssql.Function, d nssql.Dialect) (*bigquery.RoutineMetadata, error) {
	body, err := f.Render(d)
	if err != nil {
		return nil, err
	}
	md := &bigquery.RoutineMetadata{
		Type: bigquery.TableValuedFunctionRoutine, Language: "SQL", Body: body, Description: f.Description,
		ReturnTableType: &bigquery.StandardSQLTableType{},
	}
	for _, a := range f.Arguments {
		t, err := d.Type(a.Type)
		if err != nil {
			return nil, err
		}
		md.Arguments = append(md.Arguments, &bigquery.RoutineArgument{Name: a.Name, Kind: "FIXED_TYPE", DataType: &bigquery.StandardSQLDataType{TypeKind: t}})
	}
	for _, c := range f.Returns {
		t, err := d.Type(c.Type)
		if err != nil {
			return nil, err
		}
		md.ReturnTableType.Columns = append(md.ReturnTableType.Columns, &bigquery.StandardSQLField{Name: c.Name, Type: &bigquery.StandardSQLDataType{TypeKind: t}})
	}
	return md, nil
}

// sameRoutine says whether a routine is as wanted: type, language, body,
// description, arguments and returned columns.
func sameRoutine(have, want *bigquery.RoutineMetadata) bool {
	if have.Type != want.Type || have.Language != want.Language || have.Body != want.Body || have.Description != want.Description {
		return false
	}
	typeKind := func(t *bigquery.StandardSQLDataType) string {
		if t == nil {
			return ""
		}
		return t.TypeKind
	}
	if !slices.EqualFunc(have.Arguments, want.Arguments, func(a, b *bigquery.RoutineArgument) bool {
		return a.Name == b.Name && typeKind(a.DataType) == typeKind(b.DataType)
	}) {
		return false
	}
	if have.ReturnTableType == nil {
		return false
	}
	return slices.EqualFunc(have.ReturnTableType.Columns, want.ReturnTableType.Columns, func(a, b *bigquery.StandardSQLField) bool {
		return a.Name == b.Name && typeKind(a.Type) == typeKind(b.Type)
	})
}

// view creates or updates the view v, when every table it reads is in
// BigQuery; one that is not there yet leaves the view out, as the
// warehouse does, until a run loads it. exists caches what was found.
// BigQuery's views read tables by name, so unlike PostgreSQL's they need
// not be made again when a table is replaced.
func (p *Parity) view(ctx context.Context, ds *bigquery.Dataset, v nssql.View, d nssql.Dialect, exists map[string]bool) (string, error) {
	if v.Query == "" {
		return "left out: the warehouse's only (no template)", nil
	}
	for _, dep := range v.DependsOn {
		found, seen := exists[dep]
		if !seen {
			_, err := ds.Table(dep).Metadata(ctx)
			if err != nil && !isNotFound(err) {
				return "", classify(err)
			}
			found = err == nil
			exists[dep] = found
		}
		if !found {
			return "left out: " + dep + " is not in BigQuery yet", nil
		}
	}
	query, err := v.Render(d)
	if err != nil {
		return "", pipeline.MarkPermanent(err)
	}
	table := ds.Table(v.Name)
	md, err := table.Metadata(ctx)
	switch {
	case isNotFound(err):
		err = table.Create(ctx, &bigquery.TableMetadata{ViewQuery: query, Description: v.Description, Labels: p.Labels})
		if err == nil {
			return "created", nil
		}
		if !isDuplicate(err) {
			return "", classify(err)
		}
		if md, err = table.Metadata(ctx); err != nil {
			return "", classify(err)
		}
	case err != nil:
		return "", classify(err)
	}
	if md.Type != bigquery.ViewTable {
		return "", pipeline.MarkPermanent(fmt.Errorf("%s.%s is a %s, not a view: drop it, and the next run creates the view", p.Dataset, v.Name, md.Type))
	}
	if md.ViewQuery == query && md.Description == v.Description && !md.UseLegacySQL {
		return "unchanged", nil
	}
	_, err = table.Update(ctx, bigquery.TableMetadataToUpdate{ViewQuery: query, UseLegacySQL: false, Description: v.Description}, md.ETag)
	if err != nil {
		return "", classifyChange(err)
	}
	return "updated", nil
}

// classifyChange is classify for an update made on an etag: one that
// changed meanwhile is read again by the next attempt.
func classifyChange(err error) error {
	var gerr *googleapi.Error
	if errors.As(err, &gerr) && gerr.Code == http.StatusPreconditionFailed {
		return pipeline.MarkTransient(err)
	}
	return classify(err)
}
