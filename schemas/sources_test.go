package schemas_test

import (
	"bufio"
	"cmp"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// The demo source databases are created from sql/source/<source>/schema.sql,
// which copies the real services' tables. These tests hold every contract to
// that DDL, so that neither can change without the other.

// sourceColumn is one column of a CREATE TABLE as the DDL declares it.
type sourceColumn struct {
	name      string
	udt       string // the type as information_schema.columns.udt_name reports it
	notNull   bool
	generated bool
	// numeric is the precision and scale of a numeric(p,s) column as
	// "p,s" ("p,0" for numeric(p)); empty for any other type and for an
	// unconstrained numeric.
	numeric string
}

// sourceSchema is what the tests need of one source's schema.sql.
type sourceSchema struct {
	tables     map[string][]sourceColumn
	migrations []string // schema_migrations versions, as inserted
}

// udtNames maps DDL type names to information_schema udt_name; any other
// type (a CREATE TYPE … AS ENUM) is reported under its own name.
var udtNames = map[string]string{
	"bigint": "int8", "bigserial": "int8", "int8": "int8",
	"integer": "int4", "int": "int4", "serial": "int4", "int4": "int4",
	"smallint": "int2", "smallserial": "int2", "int2": "int2",
	"varchar": "varchar", "character varying": "varchar",
	"text": "text", "citext": "citext",
	"boolean": "bool", "bool": "bool",
	"date": "date", "daterange": "daterange",
	"timestamp": "timestamp", "timestamp without time zone": "timestamp",
	"timestamptz": "timestamptz", "timestamp with time zone": "timestamptz",
	"uuid": "uuid", "jsonb": "jsonb", "json": "json",
	"float": "float8", "float8": "float8", "double precision": "float8",
	"real": "float4", "numeric": "numeric", "decimal": "numeric",
}

var (
	createTable = regexp.MustCompile(`^CREATE TABLE "?([a-z_0-9]+)"? \($`)
	// A column line: a name, then its type up to the first constraint
	// keyword or the end of the line; precision in parentheses is dropped.
	columnLine     = regexp.MustCompile(`^"?([a-z_][a-z0-9_]*)"?\s+(.+?)(?:\s+(?:NOT NULL|NULL|DEFAULT|PRIMARY KEY|GENERATED|REFERENCES|UNIQUE|CHECK|COLLATE)\b.*)?,?$`)
	typeModifier   = regexp.MustCompile(`\s*\([^)]*\)`)
	versionLiteral = regexp.MustCompile(`'(\d{14})'`)
	// Lines inside a CREATE TABLE block that are table constraints, not
	// columns (and the continuation lines of a named constraint).
	tableConstraint = regexp.MustCompile(`^(CONSTRAINT|PRIMARY KEY|UNIQUE|CHECK|FOREIGN KEY|EXCLUDE|LIKE)\b`)
	// numericModifier reads numeric(p,s) and numeric(p).
	numericModifier = regexp.MustCompile(`\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)`)
)

// readSourceSchema parses sql/source/<source>/schema.sql line by line: the
// column lines of each CREATE TABLE block, and the versions inserted into
// schema_migrations.
func readSourceSchema(t *testing.T, source string) sourceSchema {
	t.Helper()
	f, err := os.Open("../sql/source/" + source + "/schema.sql")
	require.NoError(t, err)
	defer f.Close()
	s := sourceSchema{tables: map[string][]sourceColumn{}}
	var table string // the CREATE TABLE block we are in
	var inMigrations bool
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "--"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		switch {
		case line == "":
		case table != "":
			if strings.HasPrefix(line, ")") {
				table = ""
				continue
			}
			col, ok := parseColumnLine(line)
			if !ok {
				continue
			}
			s.tables[table] = append(s.tables[table], col)
		case createTable.MatchString(line):
			table = createTable.FindStringSubmatch(line)[1]
			require.NotContains(t, s.tables, table, "%s: table %s is created twice", source, table)
			s.tables[table] = nil
		case strings.HasPrefix(line, "INSERT INTO schema_migrations"):
			inMigrations = true
			fallthrough
		case inMigrations:
			for _, m := range versionLiteral.FindAllStringSubmatch(line, -1) {
				s.migrations = append(s.migrations, m[1])
			}
			if strings.HasSuffix(line, ";") {
				inMigrations = false
			}
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, s.tables, "%s: no CREATE TABLE found", source)
	require.NotEmpty(t, s.migrations, "%s: no schema_migrations versions found", source)
	return s
}

// parseColumnLine reads one line of a CREATE TABLE block; ok is false for
// table constraints and their continuation lines.
func parseColumnLine(line string) (sourceColumn, bool) {
	if tableConstraint.MatchString(line) || strings.HasPrefix(line, "(") {
		return sourceColumn{}, false
	}
	m := columnLine.FindStringSubmatch(line)
	if m == nil {
		return sourceColumn{}, false
	}
	typ := strings.ToLower(strings.TrimSpace(typeModifier.ReplaceAllString(strings.TrimSuffix(m[2], ","), "")))
	udt, ok := udtNames[typ]
	if !ok {
		udt = typ // a PostgreSQL enum: udt_name is the type's name
	}
	var numeric string
	if mod := numericModifier.FindStringSubmatch(m[2]); udt == "numeric" && mod != nil {
		numeric = mod[1] + "," + cmp.Or(mod[2], "0")
	}
	upper := strings.ToUpper(line)
	return sourceColumn{
		name:      m[1],
		udt:       udt,
		notNull:   strings.Contains(upper, "NOT NULL") || strings.Contains(upper, "PRIMARY KEY"),
		generated: strings.Contains(upper, " GENERATED "),
		numeric:   numeric,
	}, true
}

func TestTheSourceSchemaParserReadsColumnLines(t *testing.T) {
	t.Parallel()
	for line, want := range map[string]sourceColumn{
		"id bigserial PRIMARY KEY,":                    {name: "id", udt: "int8", notNull: true},
		"trs_induction_status varchar(18),":            {name: "trs_induction_status", udt: "varchar"},
		"created_at timestamp(6) NOT NULL,":            {name: "created_at", udt: "timestamp", notNull: true},
		"awarded_at timestamp,":                        {name: "awarded_at", udt: "timestamp"},
		"progress jsonb DEFAULT '{}'::jsonb NOT NULL,": {name: "progress", udt: "jsonb", notNull: true},
		"number_of_terms float,":                       {name: "number_of_terms", udt: "float8"},
		"vat_rate numeric(3, 2) DEFAULT 0.2 NOT NULL,": {name: "vat_rate", udt: "numeric", notNull: true, numeric: "3,2"},
		"amount numeric NOT NULL,":                     {name: "amount", udt: "numeric", notNull: true},
		"units decimal(10),":                           {name: "units", udt: "numeric", numeric: "10,0"},
		"payment_status declaration_payment_statuses DEFAULT 'no_payment' NOT NULL,": {
			name: "payment_status", udt: "declaration_payment_statuses", notNull: true},
		"range daterange GENERATED ALWAYS AS (daterange(started_on, finished_on, '[]')) STORED,": {
			name: "range", udt: "daterange", generated: true},
		"updated_at timestamp(6) NOT NULL": {name: "updated_at", udt: "timestamp", notNull: true},
	} {
		got, ok := parseColumnLine(line)
		require.True(t, ok, line)
		require.Equal(t, want, got, line)
	}
	for _, line := range []string{
		"CONSTRAINT finished_on_not_before_started_on CHECK (finished_on >= started_on)",
		"CONSTRAINT academic_cycles_date_range",
		"EXCLUDE USING gist (tsrange(start_date::timestamp, end_date::timestamp) WITH &&)",
	} {
		_, ok := parseColumnLine(line)
		require.False(t, ok, line)
	}
}

func TestContractsMatchTheSourceSchemas(t *testing.T) {
	t.Parallel()
	sources := map[string]sourceSchema{}
	for _, c := range schemas.All() {
		if _, ok := sources[c.Source]; !ok {
			sources[c.Source] = readSourceSchema(t, c.Source)
		}
	}
	for _, c := range schemas.All() {
		t.Run(c.Entity, func(t *testing.T) {
			s := sources[c.Source]
			assert.True(t, slices.Contains(s.migrations, c.MinSchemaVersion),
				"min schema version %s is not one of the versions in %s's schema_migrations", c.MinSchemaVersion, c.Source)
			assert.LessOrEqual(t, c.MinSchemaVersion, slices.Max(s.migrations), "min schema version is newer than the source")
			if c.Query != "" {
				for table, cols := range c.Reads {
					src, ok := s.tables[table]
					require.True(t, ok, "reads table %s, which %s does not have", table, c.Source)
					for _, name := range cols {
						require.True(t, slices.ContainsFunc(src, func(sc sourceColumn) bool { return sc.name == name }),
							"reads %s.%s, which %s does not have", table, name, c.Source)
					}
				}
				return
			}
			src, ok := s.tables[c.Table]
			require.True(t, ok, "no CREATE TABLE %s in sql/source/%s/schema.sql", c.Table, c.Source)
			var problems []string
			bySource := map[string]schemas.Column{}
			for _, col := range c.Columns {
				bySource[col.SourceColumn()] = col
			}
			for _, sc := range src {
				col, read := bySource[sc.name]
				_, ignored := c.Ignored[sc.name]
				switch {
				case read && ignored:
					problems = append(problems, fmt.Sprintf("%s is both read and ignored", sc.name))
				case ignored:
				case !read:
					problems = append(problems, fmt.Sprintf("source column %s (%s) is neither read nor ignored", sc.name, sc.udt))
				case sc.generated:
					problems = append(problems, fmt.Sprintf("%s is a generated column: ignore it", sc.name))
				default:
					if col.Nullable == sc.notNull {
						ddl := "nullable"
						if sc.notNull {
							ddl = "NOT NULL"
						}
						problems = append(problems, fmt.Sprintf("%s is %s in the DDL but Nullable is %t in the contract", sc.name, ddl, col.Nullable))
					}
					if col.SourceType != sc.udt {
						problems = append(problems, fmt.Sprintf("%s: contract source type %s, DDL %s", sc.name, col.SourceType, sc.udt))
					}
					// A numeric(p,s) column is carried at the source's own
					// precision and scale: narrower would quarantine values
					// the source holds, wider would let the warehouse and
					// BigQuery promise digits the source never had. An
					// unconstrained numeric leaves the choice to the
					// contract.
					if sc.numeric != "" && (col.Type != schemas.Numeric || fmt.Sprintf("%d,%d", col.Precision, col.Scale) != sc.numeric) {
						problems = append(problems, fmt.Sprintf("%s is numeric(%s) in the DDL but %v(%d,%d) in the contract", sc.name, sc.numeric, col.Type, col.Precision, col.Scale))
					}
				}
				delete(bySource, sc.name)
			}
			for name := range bySource {
				problems = append(problems, fmt.Sprintf("contract column %s is not in the source table", name))
			}
			for name, why := range c.Ignored {
				if why == "" {
					problems = append(problems, fmt.Sprintf("ignored column %s does not say why", name))
				}
				if !slices.ContainsFunc(src, func(sc sourceColumn) bool { return sc.name == name }) {
					problems = append(problems, fmt.Sprintf("ignored column %s is not in the source table", name))
				}
			}
			slices.Sort(problems)
			require.Empty(t, problems, "%s (%s.%s) has drifted from sql/source/%s/schema.sql:\n%s",
				c.Entity, c.Source, c.Table, c.Source, strings.Join(problems, "\n"))
		})
	}
}
