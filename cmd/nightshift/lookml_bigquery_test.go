package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/bqtest"
)

// viewField is what a view says of one column of its table.
type viewField struct {
	kind, typ, sql string
	hidden, pseudo bool
}

var (
	fieldBlock = regexp.MustCompile(`(?m)^  (dimension|dimension_group): (\w+) \{\n((?:    .*\n)*?)  \}`)
	tableCol   = regexp.MustCompile(`\$\{TABLE\}\.(\w+)`)
)

// viewColumns reads, from a generated view, the field that shows each
// column of the table.
func viewColumns(t *testing.T, text string) map[string]viewField {
	t.Helper()
	out := map[string]viewField{}
	for _, m := range fieldBlock.FindAllStringSubmatch(text, -1) {
		if m[2] == "compound_primary_key" {
			continue
		}
		body := m[3]
		attr := func(key string) string {
			_, v, _ := strings.Cut(body, "    "+key+": ")
			v, _, _ = strings.Cut(v, "\n")
			return strings.TrimSuffix(v, " ;;")
		}
		cols := tableCol.FindAllStringSubmatch(attr("sql"), -1)
		require.NotEmpty(t, cols, m[2])
		col := cols[0][1]
		require.NotContains(t, out, col, "two fields show %s", col)
		out[col] = viewField{
			kind: m[1], typ: attr("type"), sql: attr("sql"), hidden: attr("hidden") == "yes",
			pseudo: strings.Contains(attr("label"), "(pseudonymised)"),
		}
	}
	return out
}

// The LookML describes the tables a run creates, as the run creates them:
// under each policy, every table's view shows exactly its columns, each as
// its BigQuery type wants, hashed ones hidden and labelled. The generator
// knows the PII rule and the history and ledger tables only by their
// descriptions; this holds it to what steps/loadbigquery really does.
func TestLookMLMatchesWhatARunLoadsIntoBigQuery(t *testing.T) {
	t.Parallel()
	for _, pii := range []string{"hash", "drop"} {
		t.Run(pii, func(t *testing.T) {
			t.Parallel()
			p := newProject(t, 0.05)
			fake := bqtest.New(t)
			config := withBigQueryConfig(t, p, fake, pii)
			r := cli(t, []string{"NIGHTSHIFT_PII_HMAC_KEY=" + piiKey}, "--config", config, "run")
			require.Equal(t, exitOK, r.code, r.stderr)
			dir := t.TempDir()
			r = cli(t, nil, "--config", config, "lookml", "--out", dir)
			require.Equal(t, exitOK, r.code, r.stderr)
			require.Contains(t, r.stdout, "PII "+pii)

			files, err := filepath.Glob(filepath.Join(dir, "*.view.lkml"))
			require.NoError(t, err)
			for _, file := range files {
				name := strings.TrimSuffix(filepath.Base(file), ".view.lkml")
				table, ok := fake.Table("analytics", "teacher_training", name)
				require.True(t, ok, "the LookML has a view of %s, which the run did not create", name)
				text, err := os.ReadFile(file)
				require.NoError(t, err)
				require.Contains(t, string(text), "sql_table_name: `analytics.teacher_training."+name+"` ;;")
				shown := viewColumns(t, string(text))
				require.Len(t, shown, len(table.Meta.Schema.Fields), "%s: the view and the table have other columns", name)
				for _, f := range table.Meta.Schema.Fields {
					v, ok := shown[f.Name]
					require.True(t, ok, "%s.%s is in BigQuery but not in the view", name, f.Name)
					hashed := strings.Contains(f.Description, "pseudonymised")
					require.Equal(t, hashed, v.hidden && v.pseudo, "%s.%s", name, f.Name)
					switch {
					case f.Mode == "REPEATED":
						require.Contains(t, v.sql, "ARRAY_TO_STRING(", "%s.%s", name, f.Name)
					case f.Type == "DATE" || f.Type == "TIMESTAMP":
						require.Equal(t, "dimension_group", v.kind, "%s.%s", name, f.Name)
					case f.Type == "INTEGER" || f.Type == "FLOAT" || f.Type == "NUMERIC" || f.Type == "BIGNUMERIC":
						require.Equal(t, "number", v.typ, "%s.%s", name, f.Name)
					case f.Type == "BOOLEAN" && f.Mode == "REQUIRED":
						require.Equal(t, "yesno", v.typ, "%s.%s", name, f.Name)
					case f.Type == "BOOLEAN":
						require.Equal(t, "string", v.typ, "%s.%s: NULL stays unknown", name, f.Name)
					case f.Type == "JSON":
						require.Contains(t, v.sql, "TO_JSON_STRING(", "%s.%s", name, f.Name)
					default:
						require.Equal(t, "STRING", f.Type, "%s.%s", name, f.Name)
						require.Equal(t, "string", v.typ, "%s.%s", name, f.Name)
					}
				}
			}
		})
	}
}
