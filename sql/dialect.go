package sql

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"text/template"
)

// Dialect is one of the two SQL dialects the analyst views and functions
// are rendered in. Each is written once, as a template in a small
// vocabulary that PostgreSQL (the warehouse) and GoogleSQL (BigQuery) are
// both generated from, so that the two targets answer the same question
// the same way and cannot drift apart:
//
//	{{table "x"}}      a reporting table or view: x (or schema.x) in PostgreSQL,
//	                   `project.dataset.x` in BigQuery, which needs every name
//	                   in a view qualified;
//	{{type "bigint"}}  a type for CAST, named as PostgreSQL names it: bigint,
//	                   integer, text, boolean, date, timestamptz; INT64, STRING,
//	                   BOOL, DATE, TIMESTAMP in BigQuery;
//	{{ident "at"}}     an identifier GoogleSQL reserves (AT): `at` in BigQuery,
//	                   bare in PostgreSQL;
//	{{jsonText "x.j" "state" 0}}
//	                   the text of a JSON value by path (a key, then keys or
//	                   array indexes): x.j #>> '{state,0}' in PostgreSQL,
//	                   JSON_VALUE(x.j, '$.state[0]') in BigQuery; NULL when
//	                   absent or JSON null;
//	{{jsonKeys "x.j"}} the keys of a JSON object, as a table of one column to
//	                   read FROM … AS k: jsonb_object_keys(x.j) in PostgreSQL,
//	                   UNNEST(JSON_KEYS(x.j, 1)) in BigQuery;
//	{{utcMidnight "x.d"}}
//	                   a date as the timestamptz of its midnight in UTC,
//	                   whatever the session's time zone (a plain CAST to
//	                   timestamptz takes PostgreSQL's);
//	{{label "trainees.state" "expr"}}
//	                   the name of an integer code given as text (a code read
//	                   from JSON), by the labels the contract's column has: the
//	                   same names as its <column>_name column, 'unknown_<code>'
//	                   for a code it does not know, NULL for NULL.
//
// Everything else is written in the SQL the two read alike: CAST(x AS
// {{type "text"}}), never x::text; || between strings only, with the
// others cast (CONCAT skips a NULL in PostgreSQL and returns NULL in
// GoogleSQL; || returns NULL in both); inclusive date comparisons with
// COALESCE(finished_on, DATE '9999-12-31') for an open end, never
// daterange and &&; DATE '…' literals.
type Dialect struct {
	// Name is postgres or bigquery.
	Name    string
	qualify func(name string) string
	quote   func(name string) string
	types   map[string]string
	err     error
}

// postgresTypes are the types the templates may name, as PostgreSQL names
// them; bigQueryTypes their GoogleSQL names.
var (
	postgresTypes = map[string]string{"bigint": "bigint", "integer": "integer", "text": "text", "boolean": "boolean", "date": "date", "timestamptz": "timestamptz"}
	bigQueryTypes = map[string]string{"bigint": "INT64", "integer": "INT64", "text": "STRING", "boolean": "BOOL", "date": "DATE", "timestamptz": "TIMESTAMP"}
)

var plainIdent = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// pgIdent quotes a PostgreSQL identifier when it must be.
func pgIdent(name string) string {
	if plainIdent.MatchString(name) {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// Postgres is the warehouse's dialect. With schema "", tables are named
// bare, for statements run with the reporting schema on the search_path
// (the views, whose schema is configurable); otherwise schema.table.
func Postgres(schema string) Dialect {
	return Dialect{
		Name: "postgres",
		qualify: func(name string) string {
			if schema == "" {
				return pgIdent(name)
			}
			return pgIdent(schema) + "." + pgIdent(name)
		},
		quote: pgIdent,
		types: postgresTypes,
	}
}

// bigQueryName is what a project or dataset name may hold: letters,
// digits, _ and -, and the domain-scoped project's . and :.
var bigQueryName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.:-]*$`)

// BigQuery is GoogleSQL with tables in project.dataset.
func BigQuery(project, dataset string) Dialect {
	var err error
	if !bigQueryName.MatchString(project) || !bigQueryName.MatchString(dataset) {
		err = fmt.Errorf("BigQuery project %q or dataset %q is not a name", project, dataset)
	}
	return Dialect{
		err:     err,
		Name:    "bigquery",
		qualify: func(name string) string { return "`" + project + "." + dataset + "." + name + "`" },
		quote:   func(name string) string { return "`" + name + "`" },
		types:   bigQueryTypes,
	}
}

// Type is the dialect's name of a type named as PostgreSQL names it.
func (d Dialect) Type(pg string) (string, error) {
	t, ok := d.types[pg]
	if !ok {
		return "", fmt.Errorf("type %q is not in the templates' vocabulary (%s)", pg, strings.Join(vocabulary(), ", "))
	}
	return t, nil
}

func vocabulary() []string { return slices.Sorted(maps.Keys(postgresTypes)) }

// render executes a template in the dialect.
func (d Dialect) render(name, text string) (string, error) {
	if d.err != nil {
		return "", fmt.Errorf("%s: %w", name, d.err)
	}
	tmpl, err := template.New(name).Option("missingkey=error").Funcs(template.FuncMap{
		"table":       d.qualify,
		"type":        d.Type,
		"ident":       d.quote,
		"jsonText":    d.jsonText,
		"jsonKeys":    d.jsonKeys,
		"utcMidnight": d.utcMidnight,
		"label":       d.label,
	}).Parse(text)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, nil); err != nil {
		return "", err
	}
	return b.String(), nil
}

// header reads the "-- key: value" lines at the top of a template file and
// returns them with the template that follows. Every key must be known.
func header(path, text string, keys ...string) (map[string]string, string, error) {
	out := map[string]string{}
	rest := text
	for {
		line, after, found := strings.Cut(rest, "\n")
		body, ok := strings.CutPrefix(line, "-- ")
		key, value, isHeader := strings.Cut(body, ":")
		if !ok || !isHeader || !slices.Contains(keys, key) {
			break
		}
		if _, dup := out[key]; dup {
			return nil, "", fmt.Errorf("%s: %q twice in the header", path, key)
		}
		out[key] = strings.TrimSpace(value)
		if !found {
			rest = ""
			break
		}
		rest = after
	}
	for _, k := range keys {
		if _, ok := out[k]; !ok {
			return nil, "", fmt.Errorf("%s: the header must have a line %q", path, "-- "+k+": …")
		}
	}
	return out, strings.TrimSpace(rest), nil
}

// splitList splits "a, b" into its trimmed items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// pgString is a PostgreSQL string literal.
func pgString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
