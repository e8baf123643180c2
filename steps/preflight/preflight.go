// Package preflight checks, before anything is extracted, that a source
// still matches the contracts that read it: its schema_migrations version is
// at least each contract's minimum, and every column a contract reads exists
// with a type that converts losslessly to the contract's type.
//
// A source that does not match is refused with a message that names the
// source, the table, the column, the expected and found types and the
// versions: no step runs, so nothing can loop on an error that retrying
// cannot cure (seed 002). Additions — new columns, compatible type changes,
// a schema version past the upstream schema.rb the contracts were checked
// against — pass and are reported, so that the contracts can catch up.
package preflight

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// Kind is what a finding is about.
type Kind string

const (
	VersionTooOld Kind = "version too old"
	TableMissing  Kind = "table missing"
	ColumnMissing Kind = "column missing"
	TypeChanged   Kind = "incompatible type"
	// Compatible is a type that differs from the contract's but converts
	// losslessly (int4 widened to int8): it passes and is reported.
	Compatible  Kind = "compatible type change"
	ColumnAdded Kind = "column added"
	// VersionNewer is a source whose schema version is past the upstream
	// schema.rb its contracts were checked against (schemas.Upstream): it
	// passes, and is reported so that someone reads the new migrations.
	VersionNewer Kind = "newer schema version"
	// NoPrivilege is a column that exists but the connecting role may not
	// read: a revoked grant, not a schema change.
	NoPrivilege Kind = "no privilege"
	// MadeNullable is a column the contract declares NOT NULL that the
	// source allows NULL in: the warehouse would refuse its NULLs.
	MadeNullable Kind = "nullable"
)

// Finding is one difference between a source and a contract.
type Finding struct {
	Source, Entity, Table, Column string
	Kind                          Kind
	Expected, Found               string
}

// Blocking says whether the finding stops the run.
func (f Finding) Blocking() bool {
	return f.Kind == VersionTooOld || f.Kind == TableMissing || f.Kind == ColumnMissing || f.Kind == TypeChanged || f.Kind == NoPrivilege ||
		f.Kind == MadeNullable
}

func (f Finding) String() string {
	switch f.Kind {
	case VersionTooOld:
		return fmt.Sprintf("source %s: schema version %s is older than %s, which entity %s needs (deploy the source's migrations first)", f.Source, f.Found, f.Expected, f.Entity)
	case TableMissing:
		return fmt.Sprintf("source %s: table %s, read by entity %s, does not exist", f.Source, f.Table, f.Entity)
	case ColumnMissing:
		return fmt.Sprintf("source %s: table %s has no column %s (entity %s expects %s)", f.Source, f.Table, f.Column, f.Entity, f.Expected)
	case TypeChanged:
		return fmt.Sprintf("source %s: column %s.%s is %s, entity %s expects %s", f.Source, f.Table, f.Column, f.Found, f.Entity, f.Expected)
	case Compatible:
		return fmt.Sprintf("source %s: column %s.%s is %s instead of %s; it still converts losslessly", f.Source, f.Table, f.Column, f.Found, f.Expected)
	case MadeNullable:
		return fmt.Sprintf("source %s: column %s.%s allows NULL, but entity %s declares it NOT NULL: mark the contract's column Nullable (until then its NULL rows would be quarantined)", f.Source, f.Table, f.Column, f.Entity)
	case NoPrivilege:
		return fmt.Sprintf("source %s: no privilege to read column %s.%s (entity %s reads it): GRANT SELECT on it to nightshift's role", f.Source, f.Table, f.Column, f.Entity)
	case ColumnAdded:
		return fmt.Sprintf("source %s: column %s.%s (%s) is new and not in contract %s", f.Source, f.Table, f.Column, f.Found, f.Entity)
	case VersionNewer:
		return fmt.Sprintf("source %s is at schema version %s, newer than %s that the contracts were checked against", f.Source, f.Found, f.Expected)
	}
	return string(f.Kind)
}

// Result is the check of one source.
type Result struct {
	Source   string
	Version  string
	Findings []Finding
}

// Blocking returns the findings that refuse the run.
func (r Result) Blocking() []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Blocking() {
			out = append(out, f)
		}
	}
	return out
}

// RefusedError is a source that does not match its contracts.
type RefusedError struct {
	Findings []Finding
}

func (e *RefusedError) Error() string {
	lines := make([]string, len(e.Findings))
	for i, f := range e.Findings {
		lines[i] = f.String()
	}
	return "preflight refused the run: " + strings.Join(lines, "; ")
}

// Querier is what Check needs: a source transaction or pool.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Check compares one source with the contracts that read from it.
func Check(ctx context.Context, q Querier, source string, contracts []*schemas.Contract) (Result, error) {
	res := Result{Source: source}
	var version *string
	if err := q.QueryRow(ctx, "SELECT max(version) FROM public.schema_migrations").Scan(&version); err != nil {
		return res, fmt.Errorf("preflight %s: read schema_migrations: %w", source, err)
	}
	if version != nil {
		res.Version = *version
	}
	if up, ok := schemas.UpstreamOf(source); ok && up.Newer(res.Version) {
		res.Findings = append(res.Findings, Finding{Source: source, Kind: VersionNewer, Expected: up.Version, Found: res.Version})
	}

	tables := make([]string, 0, len(contracts))
	for _, c := range contracts {
		tables = append(tables, c.Table)
		for table := range c.Reads {
			tables = append(tables, table)
		}
	}
	// The catalog, not information_schema: information_schema hides the
	// columns a role may not read, which would report a revoked grant as a
	// missing table. A domain is reported as its base type, as
	// information_schema's udt_name does.
	rows, err := q.Query(ctx, `
		SELECT c.relname::text, a.attname::text,
		       (CASE WHEN t.typtype = 'd' THEN b.typname ELSE t.typname END)::text,
		       has_column_privilege(c.oid, a.attnum, 'SELECT'), NOT a.attnotnull, a.atttypmod
		FROM pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
		LEFT JOIN pg_catalog.pg_type b ON b.oid = t.typbasetype
		WHERE n.nspname = 'public' AND c.relname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
		ORDER BY c.relname, a.attnum`, tables)
	if err != nil {
		return res, fmt.Errorf("preflight %s: read the catalog: %w", source, err)
	}
	live := map[string]map[string]string{} // table → column → type name
	readable := map[string]bool{}          // table.column → SELECT granted
	nullable := map[string]bool{}          // table.column → NULL allowed
	typmod := map[string]int32{}           // table.column → the type's modifier (numeric's precision and scale)
	var order []string                     // table.column in source order, for stable reports
	for rows.Next() {
		var table, column, udt string
		var granted, null bool
		var mod int32
		if err := rows.Scan(&table, &column, &udt, &granted, &null, &mod); err != nil {
			return res, fmt.Errorf("preflight %s: %w", source, err)
		}
		if live[table] == nil {
			live[table] = map[string]string{}
		}
		live[table][column] = udt
		readable[table+"."+column] = granted
		nullable[table+"."+column] = null
		typmod[table+"."+column] = mod
		order = append(order, table+"."+column)
	}
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("preflight %s: %w", source, err)
	}

	for _, c := range contracts {
		if c.Query != "" {
			res.Findings = append(res.Findings, checkReads(source, c, live, readable)...)
		}
		if schemas.VersionBefore(res.Version, c.MinSchemaVersion) {
			found := res.Version
			if found == "" {
				found = "(none)"
			}
			res.Findings = append(res.Findings, Finding{Source: source, Entity: c.Entity, Table: c.Table, Kind: VersionTooOld, Expected: c.MinSchemaVersion, Found: found})
		}
		if c.Query != "" {
			continue
		}
		cols, ok := live[c.Table]
		if !ok {
			res.Findings = append(res.Findings, Finding{Source: source, Entity: c.Entity, Table: c.Table, Kind: TableMissing})
			continue
		}
		read := map[string]bool{}
		for _, col := range c.Columns {
			name := col.SourceColumn()
			read[name] = true
			found, ok := cols[name]
			f := Finding{Source: source, Entity: c.Entity, Table: c.Table, Column: name, Expected: col.SourceType, Found: found}
			switch {
			case !ok:
				f.Kind = ColumnMissing
			case !readable[c.Table+"."+name]:
				f.Kind = NoPrivilege
			case !col.Nullable && nullable[c.Table+"."+name]:
				f.Kind = MadeNullable
			case col.Type == schemas.Numeric && found == "numeric" && numericDiffers(typmod[c.Table+"."+name], col):
				f.Expected, f.Found = fmt.Sprintf("numeric(%d,%d)", col.Precision, col.Scale), numericType(typmod[c.Table+"."+name])
				f.Kind = TypeChanged
				if numericFits(typmod[c.Table+"."+name], col) {
					f.Kind = Compatible
				}
			case found == col.SourceType:
				continue
			case converts(found, col.Type):
				f.Kind = Compatible
			default:
				f.Kind = TypeChanged
			}
			res.Findings = append(res.Findings, f)
		}
		for _, tc := range order {
			table, column, _ := strings.Cut(tc, ".")
			if table == c.Table && !read[column] && !ignored(c, column) {
				res.Findings = append(res.Findings, Finding{Source: source, Entity: c.Entity, Table: c.Table, Column: column, Kind: ColumnAdded, Found: cols[column]})
			}
		}
	}
	return res, nil
}

// checkReads checks that the columns a query entity reads exist. Their
// types are the query's business: it casts what it returns.
func checkReads(source string, c *schemas.Contract, live map[string]map[string]string, readable map[string]bool) []Finding {
	var out []Finding
	for _, table := range slices.Sorted(maps.Keys(c.Reads)) {
		cols, ok := live[table]
		if !ok {
			out = append(out, Finding{Source: source, Entity: c.Entity, Table: table, Kind: TableMissing})
			continue
		}
		for _, col := range c.Reads[table] {
			if _, ok := cols[col]; !ok {
				out = append(out, Finding{Source: source, Entity: c.Entity, Table: table, Column: col, Kind: ColumnMissing, Expected: "a column its query reads"})
			} else if !readable[table+"."+col] {
				out = append(out, Finding{Source: source, Entity: c.Entity, Table: table, Column: col, Kind: NoPrivilege})
			}
		}
	}
	return out
}

// converts lists, for each logical type, the source types the extract's
// cast turns into it without loss.
func converts(udt string, t schemas.Type) bool {
	ok := map[schemas.Type][]string{
		schemas.Bool:      {"bool"},
		schemas.Int16:     {"int2"},
		schemas.Int32:     {"int2", "int4"},
		schemas.Int64:     {"int2", "int4", "int8"},
		schemas.Float64:   {"float4", "float8", "int2", "int4"},
		schemas.Text:      {"text", "varchar", "citext", "bpchar", "name"},
		schemas.Date:      {"date"},
		schemas.Timestamp: {"timestamp", "timestamptz"},
		schemas.UUID:      {"uuid"},
		schemas.JSON:      {"jsonb", "json"},
	}
	return slices.Contains(ok[t], udt)
}

// CheckAll checks every source the contracts read, in the order they
// first appear, each through the querier source gives for it (a snapshot's
// transaction, or a pool).
func CheckAll(ctx context.Context, contracts []*schemas.Contract, source func(name string) (Querier, error)) ([]Result, error) {
	var out []Result
	for _, name := range Sources(contracts) {
		q, err := source(name)
		if err != nil {
			return nil, err
		}
		res, err := Check(ctx, q, name, Readers(contracts, name))
		if err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	return out, nil
}

// Refusal is the error that refuses a run over these results, or nil when
// no finding blocks it.
func Refusal(results []Result) error {
	var blocking []Finding
	for _, r := range results {
		blocking = append(blocking, r.Blocking()...)
	}
	if len(blocking) == 0 {
		return nil
	}
	return &RefusedError{Findings: blocking}
}

// Sources lists the sources the contracts read, in contract order.
func Sources(contracts []*schemas.Contract) []string {
	var out []string
	for _, c := range contracts {
		if !slices.Contains(out, c.Source) {
			out = append(out, c.Source)
		}
	}
	return out
}

// Readers are the contracts that read source.
func Readers(contracts []*schemas.Contract, source string) []*schemas.Contract {
	var out []*schemas.Contract
	for _, c := range contracts {
		if c.Source == source {
			out = append(out, c)
		}
	}
	return out
}

// ignored says whether the contract decided not to read the column.
func ignored(c *schemas.Contract, column string) bool {
	_, ok := c.Ignored[column]
	return ok
}

// A numeric column's type modifier holds its precision and scale; -1 is a
// numeric without them, whose values the contract's precision and scale
// bound (the rest are quarantined).
func numericPrecisionScale(typmod int32) (precision, scale int, ok bool) {
	if typmod < 4 {
		return 0, 0, false
	}
	return int((typmod - 4) >> 16 & 0xffff), int((typmod - 4) & 0xffff), true
}

// numericDiffers says whether a constrained source numeric has another
// precision or scale than the contract's.
func numericDiffers(typmod int32, col schemas.Column) bool {
	p, s, ok := numericPrecisionScale(typmod)
	return ok && (p != col.Precision || s != col.Scale)
}

// numericFits says whether every value the source column can hold fits the
// contract's numeric: no more decimal places, no more integer digits. A
// wider source would see its new values quarantined, so it is refused.
func numericFits(typmod int32, col schemas.Column) bool {
	p, s, ok := numericPrecisionScale(typmod)
	return ok && s <= col.Scale && p-s <= col.Precision-col.Scale
}

func numericType(typmod int32) string {
	if p, s, ok := numericPrecisionScale(typmod); ok {
		return fmt.Sprintf("numeric(%d,%d)", p, s)
	}
	return "numeric"
}
