package schemas

import (
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// sourceCast is the type every source value is cast to in the extract query.
// Casting pins the wire format: citext, varchar and enums all arrive as text,
// whose binary form the extractor decodes, and whatever width the source
// uses, an Int32 arrives as four bytes.
func (t Type) sourceCast() string {
	switch t {
	case Bool:
		return "boolean"
	case Int16:
		return "int2"
	case Int32:
		return "int4"
	case Int64:
		return "int8"
	case Float64:
		return "float8"
	case Text:
		return "text"
	case Date:
		return "date"
	case Timestamp:
		return "timestamp"
	case UUID:
		return "uuid"
	case JSON:
		return "jsonb"
	case Numeric:
		// No typmod: numeric(p,s) would round silently. The extractor
		// checks digits and decimal places and quarantines what does not fit.
		return "numeric"
	}
	panic(fmt.Sprintf("schemas: no source cast for %v", t))
}

// WarehouseType is the PostgreSQL type of the column in the reporting
// warehouse.
func (c Column) WarehouseType() string {
	switch c.Type {
	case Timestamp:
		return "timestamptz"
	case Numeric:
		return fmt.Sprintf("numeric(%d,%d)", c.Precision, c.Scale)
	default:
		return c.Type.sourceCast()
	}
}

// BigQueryType is the BigQuery type of the column (before any PII
// policy). Decimals take NUMERIC when they fit it (at most 29 integer and 9
// fractional digits), BIGNUMERIC otherwise.
func (c Column) BigQueryType() string {
	switch c.Type {
	case Bool:
		return "BOOLEAN"
	case Int16, Int32, Int64:
		return "INTEGER"
	case Float64:
		return "FLOAT"
	case Text, UUID:
		return "STRING"
	case JSON:
		return "JSON"
	case Date:
		return "DATE"
	case Timestamp:
		return "TIMESTAMP"
	case Numeric:
		if c.Precision-c.Scale <= 29 && c.Scale <= 9 {
			return "NUMERIC"
		}
		return "BIGNUMERIC"
	}
	panic(fmt.Sprintf("schemas: no BigQuery type for %v", c.Type))
}

// quote makes an identifier safe to splice into SQL.
func quote(parts ...string) string { return pgx.Identifier(parts).Sanitize() }

// SelectSQL is the extract query: every contract column, cast to its
// logical type and named as in the warehouse. Rows come in the source's
// physical order; every target compares as a set, so an ORDER BY would only
// add a sort to the source's work.
func (c *Contract) SelectSQL() string {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, col := range c.Fields() {
		if i > 0 {
			b.WriteString(", ")
		}
		if col.Derived() {
			fmt.Fprintf(&b, "%s AS %s", labelSQL(*col.labelled), quote(col.Name))
			continue
		}
		fmt.Fprintf(&b, "%s::%s AS %s", quote(col.SourceColumn()), col.Type.sourceCast(), quote(col.Name))
	}
	if c.Query != "" {
		fmt.Fprintf(&b, " FROM (%s) q", c.Query)
	} else {
		fmt.Fprintf(&b, " FROM %s", quote("public", c.Table))
	}
	return b.String()
}

// WarehouseSelectSQL reads the entity back out of its warehouse table
// (schema.table), every field in the extract's order and wire types, so
// that the extractor can stream a published table as it streams a source:
// the warehouse's timestamptz comes back as the UTC timestamp it was.
func (c *Contract) WarehouseSelectSQL(schema, table string) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, col := range c.Fields() {
		if i > 0 {
			b.WriteString(", ")
		}
		if col.Type == Timestamp {
			fmt.Fprintf(&b, "(%s AT TIME ZONE 'UTC') AS %s", quote(col.Name), quote(col.Name))
			continue
		}
		fmt.Fprintf(&b, "%s::%s AS %s", quote(col.Name), col.Type.sourceCast(), quote(col.Name))
	}
	fmt.Fprintf(&b, " FROM %s", quote(schema, table))
	return b.String()
}

// labelSQL maps an integer enum to its labels, in code order so that the
// query text is the same on every run.
func labelSQL(col Column) string {
	codes := make([]int, 0, len(col.Labels))
	for code := range col.Labels {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	var b strings.Builder
	fmt.Fprintf(&b, "CASE %s", quote(col.SourceColumn()))
	for _, code := range codes {
		fmt.Fprintf(&b, " WHEN %d THEN %s", code, literal(col.Labels[code]))
	}
	fmt.Fprintf(&b, " ELSE 'unknown_' || %s END::text", quote(col.SourceColumn()))
	return b.String()
}

// ChecksumSQL counts the rows of relation (a table, or a parenthesised
// query aliased t) and sums a 64-bit hash of each row's canonical text. The
// sum does not depend on row order and needs no memory, so the same query
// checks a source snapshot and a warehouse table of millions of rows. The
// canonical text is the same on both sides: timestamps are compared as
// epoch microseconds, whether stored with or without a time zone.
func (c *Contract) ChecksumSQL(relation string) string {
	fields := c.Fields()
	parts := make([]string, len(fields))
	for i, col := range fields {
		ref := quote(col.Name)
		switch col.Type {
		case Text, JSON:
			parts[i] = fmt.Sprintf("coalesce(quote_literal(%s::text), 'NULL')", ref)
		case Timestamp:
			parts[i] = fmt.Sprintf("coalesce(extract(epoch from %s)::text, 'NULL')", ref)
		case Numeric:
			// The source keeps each value's own scale (1.50), the warehouse
			// the column's (1.500000000): compare without trailing zeros.
			parts[i] = fmt.Sprintf("coalesce(trim_scale(%s)::text, 'NULL')", ref)
		default:
			parts[i] = fmt.Sprintf("coalesce(%s::text, 'NULL')", ref)
		}
	}
	return fmt.Sprintf(
		"SELECT count(*), coalesce(sum(('x' || left(md5(concat_ws(',', %s)), 16))::bit(64)::bigint::numeric), 0)::text FROM %s",
		strings.Join(parts, ", "), relation)
}

// ChecksumExcludingSQL checksums the rows of query (the extract query, or
// one derived from it) except those whose primary key, as text, is in the
// text[] parameter $keysParam: the rows the extract quarantined.
func (c *Contract) ChecksumExcludingSQL(query string, keysParam int) string {
	return c.ChecksumSQL(fmt.Sprintf("(%s) t WHERE t.%s::text <> ALL($%d::text[])", query, quote(c.PrimaryKey[0]), keysParam))
}

// SourceChecksumSQL checksums what the extract query returns.
func (c *Contract) SourceChecksumSQL() string {
	return c.ChecksumSQL("(" + c.SelectSQL() + ") t")
}

// SourceChecksumExcludingSQL checksums what the extract query returns
// except the rows whose primary key, as text, is in the text[] parameter
// $1: the rows the extract quarantined.
func (c *Contract) SourceChecksumExcludingSQL() string {
	return c.ChecksumExcludingSQL(c.SelectSQL(), 1)
}

// CreateTableSQL creates the entity's table, with its comments, as
// schema.table, without its primary key (AddPrimaryKeySQL): a bulk load
// followed by one index build is much faster than a load into an index.
func (c *Contract) CreateTableSQL(schema, table string) []string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE %s (", quote(schema, table))
	for i, col := range c.Fields() {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s", quote(col.Name), col.WarehouseType())
		if !col.Nullable {
			b.WriteString(" NOT NULL")
		}
	}
	b.WriteString(")")

	stmts := []string{b.String(), fmt.Sprintf("COMMENT ON TABLE %s IS %s", quote(schema, table), literal(c.Description))}
	for _, col := range c.Fields() {
		comment := col.Description
		if col.PII != PIINone {
			comment += " [PII: " + col.PII.String() + "]"
		}
		stmts = append(stmts, fmt.Sprintf("COMMENT ON COLUMN %s.%s IS %s", quote(schema, table), quote(col.Name), literal(comment)))
	}
	return stmts
}

// AddPrimaryKeySQL adds the primary key to schema.table, as the constraint
// <table>_pkey.
func (c *Contract) AddPrimaryKeySQL(schema, table string) string {
	keys := make([]string, len(c.PrimaryKey))
	for i, k := range c.PrimaryKey {
		keys[i] = quote(k)
	}
	return fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s PRIMARY KEY (%s)", quote(schema, table), quote(table+"_pkey"), strings.Join(keys, ", "))
}

// CopyColumns is the column list of a COPY into the entity's table.
func (c *Contract) CopyColumns() string {
	fields := c.Fields()
	names := make([]string, len(fields))
	for i, col := range fields {
		names[i] = quote(col.Name)
	}
	return strings.Join(names, ", ")
}

// literal quotes a string as an SQL literal. COMMENT takes no parameters,
// and descriptions come from contracts in this package, never from input.
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
