package sql

import (
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "write the golden renderings in testdata/")

// tableRefs lists what the query's FROM and JOIN clauses read, less its
// CTEs, subqueries and table functions.
func tableRefs(query string) []string {
	ctes := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?i)(?:\bWITH|,)\s*(\w+)\s+AS\s*\(`).FindAllStringSubmatch(query, -1) {
		ctes[m[1]] = true
	}
	var out []string
	// A function in FROM (jsonb_object_keys(…), UNNEST(…)) reads no table.
	for _, m := range regexp.MustCompile("(?i)\\b(?:FROM|JOIN)\\s+(`[^`]+`|[\\w.]+)(\\s*\\()?").FindAllStringSubmatch(withoutComments(query), -1) {
		if m[2] == "" && !ctes[m[1]] && !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return out
}

func withoutComments(query string) string {
	return regexp.MustCompile(`--[^\n]*`).ReplaceAllString(query, "")
}

// withoutLiterals empties the query's string literals ('; reasons: ' is
// no statement's end).
func withoutLiterals(query string) string {
	return regexp.MustCompile(`'[^']*'`).ReplaceAllString(query, "''")
}

func normalize(s string) string { return strings.Join(strings.Fields(s), " ") }

// Every view renders in both dialects from its one template; each
// rendering is golden-tested in testdata/, and held to what its dialect
// needs: BigQuery's names every table `project.dataset.table` and uses
// none of PostgreSQL's own syntax, PostgreSQL's names them bare (the
// publish runs them with the reporting schema on the search_path); both
// read exactly the tables the view says it depends on.
func TestViewsRenderInBothDialects(t *testing.T) {
	t.Parallel()
	views, err := Views()
	require.NoError(t, err)
	var names []string
	for _, v := range views {
		names = append(names, v.Name)
	}
	require.Equal(t, []string{"data_quality_issues", "teacher_timeline", "trainee_timeline", "trainees_current"}, names)
	dialects := []struct {
		dialect Dialect
		// table is how the dialect names a table the view depends on.
		table func(string) string
		// forbidden is what must not appear outside comments.
		forbidden []string
	}{
		{Postgres(""), func(n string) string { return n },
			[]string{"`", "INT64", "AS STRING)", "{{"}},
		{BigQuery("proj", "ds"), func(n string) string { return "`proj.ds." + n + "`" },
			[]string{"::", "&&", "daterange", "CONCAT(", "AS bigint)", "AS text)", "{{", ";"}},
	}
	for _, v := range views {
		for _, d := range dialects {
			t.Run(v.Name+"/"+d.dialect.Name, func(t *testing.T) {
				t.Parallel()
				got, err := v.Render(d.dialect)
				require.NoError(t, err)
				code := withoutLiterals(withoutComments(got))
				for _, f := range d.forbidden {
					require.NotContains(t, strings.ToUpper(code), strings.ToUpper(f))
				}
				var want []string
				for _, dep := range v.DependsOn {
					want = append(want, d.table(dep))
				}
				slices.Sort(want)
				require.Equal(t, want, tableRefs(got), "the view reads exactly the tables it depends on, named as the dialect needs")
				golden := filepath.Join("testdata", d.dialect.Name, v.Name+".sql")
				if *update {
					require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o750))
					require.NoError(t, os.WriteFile(golden, []byte(got+"\n"), 0o600))
				}
				body, err := os.ReadFile(golden)
				require.NoError(t, err, "go test ./sql/ -run TestViewsRenderInBothDialects -update writes it")
				require.Equal(t, string(body), got+"\n", "the rendering changed: check it, then -update")
			})
		}
	}
}

// What the publish runs is the PostgreSQL rendering, with the description
// as the view's COMMENT; the data dictionary's catalog reads it from there.
func TestViewsSQLIsThePostgreSQLRenderingWithItsComment(t *testing.T) {
	t.Parallel()
	views, err := Views()
	require.NoError(t, err)
	catalog, err := Catalog()
	require.NoError(t, err)
	for _, v := range views {
		pg, err := v.Render(Postgres(""))
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(v.SQL, "CREATE VIEW "+v.Name+" AS\n"+pg+";"), v.Name)
		require.NotEmpty(t, v.Description, v.Name)
		i := slices.IndexFunc(catalog, func(d Described) bool { return d.Name == "reporting."+v.Name })
		require.GreaterOrEqual(t, i, 0, v.Name)
		require.Equal(t, "VIEW", catalog[i].Kind)
		require.Equal(t, v.Description, catalog[i].Description, "the COMMENT is the description, quotes and all")
	}
	i := slices.IndexFunc(views, func(v View) bool { return v.Name == "trainees_current" })
	require.Contains(t, views[i].SQL, "provider''s name", "a quote in a description is escaped for PostgreSQL")
}

// The warehouse's statuses_as_of was created by migration 000005; the
// BigQuery table function is rendered from the template. The migration must
// hold exactly the PostgreSQL rendering of that template — arguments,
// returned columns, body and comment — so that the two cannot drift: a
// change to the template needs a migration that creates the function again.
func TestStatusesAsOfIsTheMigrationsFunction(t *testing.T) {
	t.Parallel()
	functions, err := Functions()
	require.NoError(t, err)
	require.Len(t, functions, 1)
	f := functions[0]
	require.Equal(t, "statuses_as_of", f.Name)
	require.Equal(t, []Param{{"at", "timestamptz"}}, f.Arguments)
	ddl, err := f.PostgresDDL("reporting")
	require.NoError(t, err)
	migration, err := fs.ReadFile(Warehouse, "warehouse/000005_status_history.up.sql")
	require.NoError(t, err)
	require.Contains(t, normalize(string(migration)), normalize(ddl))

	bq, err := f.Render(BigQuery("proj", "ds"))
	require.NoError(t, err)
	require.Equal(t, []string{"`proj.ds.status_history`"}, tableRefs(bq))
	require.Contains(t, bq, "<= `at`", "AT is reserved in GoogleSQL: the argument is quoted")
	pg, err := f.Render(Postgres("reporting"))
	require.NoError(t, err)
	require.Equal(t, strings.ReplaceAll(strings.ReplaceAll(pg, "reporting.status_history", "`proj.ds.status_history`"), " at", " `at`"), bq,
		"the two renderings differ only in how they name the table and the argument")
	for _, p := range append(f.Arguments, f.Returns...) {
		typ, err := BigQuery("p", "d").Type(p.Type)
		require.NoError(t, err)
		require.NotEmpty(t, typ)
	}
}

func TestTemplatesRefuseWhatTheyCannotRender(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct{ text, want string }{
		"no description":  {"-- depends on: a\nSELECT 1 FROM {{table \"a\"}}", `"-- description: …"`},
		"unknown type":    {"-- depends on: a\n-- description: d\nSELECT CAST(1 AS {{type \"int4\"}})", `type "int4" is not in the templates' vocabulary`},
		"bad template":    {"-- depends on: a\n-- description: d\nSELECT {{table}}", "wrong number of args"},
		"trailing ;":      {"-- depends on: a\n-- description: d\nSELECT 1;", "ends with ';'"},
		"repeated header": {"-- depends on: a\n-- description: d\n-- description: e\nSELECT 1", "twice"},
	} {
		_, err := parseView("views/x.sql", "x", c.text)
		require.ErrorContains(t, err, c.want, name)
	}
	_, err := View{Name: "x", Query: "SELECT 1 FROM {{table \"a\"}}"}.Render(BigQuery("proj`; DROP", "ds"))
	require.ErrorContains(t, err, "is not a name")
	_, err = View{Name: "warehouse_only", SQL: "CREATE VIEW warehouse_only AS SELECT 1"}.Render(BigQuery("p", "d"))
	require.ErrorContains(t, err, "no template")
}

// The helpers for JSON, dates and labels say the same in both dialects:
// PostgreSQL's jsonb operators and a cast that ignores the session's time
// zone, GoogleSQL's JSON functions; labels are the contract's, in code
// order, with the same name for an unknown code as <column>_name.
func TestTemplateHelpersRenderInBothDialects(t *testing.T) {
	t.Parallel()
	const text = `SELECT {{jsonText "a.j" "state" 1}}, k, {{utcMidnight "a.d"}}, {{label "trainees.study_mode" "a.c"}} FROM {{jsonKeys "a.j"}} AS k`
	pg, err := View{Name: "x", Query: text}.Render(Postgres(""))
	require.NoError(t, err)
	require.Equal(t, `SELECT (a.j #>> '{state,1}'), k, (CAST(a.d AS timestamp) AT TIME ZONE 'UTC'), `+
		`CASE a.c WHEN '0' THEN 'part_time' WHEN '1' THEN 'full_time' ELSE 'unknown_' || a.c END `+
		`FROM jsonb_object_keys(CASE WHEN jsonb_typeof(a.j) = 'object' THEN a.j END) AS k`, pg)
	bq, err := View{Name: "x", Query: text}.Render(BigQuery("p", "d"))
	require.NoError(t, err)
	require.Equal(t, `SELECT JSON_VALUE(a.j, '$.state[1]'), k, TIMESTAMP(a.d, 'UTC'), `+
		`CASE a.c WHEN '0' THEN 'part_time' WHEN '1' THEN 'full_time' ELSE 'unknown_' || a.c END `+
		`FROM UNNEST(JSON_KEYS(a.j, 1)) AS k`, bq)
	for text, want := range map[string]string{
		`{{jsonText "a.j"}}`:                      "no path",
		`{{jsonText "a.j" "x'y"}}`:                "not a plain name",
		`{{jsonText "a.j" "x" -1}}`:               "index -1",
		`{{label "state" "a.c"}}`:                 "entity.column",
		`{{label "nowhere.state" "a.c"}}`:         "unknown entity",
		`{{label "trainees.itt_end_date" "a.c"}}`: "with labels",
	} {
		_, err := View{Name: "x", Query: "SELECT " + text}.Render(Postgres(""))
		require.ErrorContains(t, err, want, text)
	}
}
