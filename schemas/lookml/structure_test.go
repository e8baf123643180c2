package lookml_test

import (
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/schemas/lookml"
)

var (
	// ${view.field} in a model, ${field} in a view, ${TABLE}.column.
	qualifiedRef = regexp.MustCompile(`\$\{([a-z0-9_]+)\.([a-z0-9_]+)\}`)
	localRef     = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)
	tableColumn  = regexp.MustCompile(`\$\{TABLE\}\.([a-z0-9_]+)`)
)

// Everything the model names exists, under both PII policies: each
// explore's view, each join's view and name, and every field a join's
// sql_on or an explore's filter refers to, in the view of the join it
// names. Each join hangs off the explore already built (its sql_on names
// itself and a join before it), and every view is in some explore.
func TestEveryFieldTheModelRefersToExistsInAView(t *testing.T) {
	t.Parallel()
	for _, p := range policies {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			proj := parseProject(t, generate(t, p))
			m := proj.model
			require.NotEmpty(t, m.get("connection"))
			include := m.get("include")
			for name := range proj.files {
				if strings.HasSuffix(name, ".view.lkml") {
					ok, err := path.Match(include, name)
					require.NoError(t, err)
					require.True(t, ok, "the model does not include %s", name)
				}
			}
			datagroups := map[string]bool{}
			for _, d := range m.all("datagroup") {
				datagroups[d.name] = true
				require.NotEmpty(t, d.get("sql_trigger"), d.name)
			}
			if persist, ok := m.child("persist_with"); ok {
				require.True(t, datagroups[persist.value], "persist_with %s names no datagroup", persist.value)
			}

			explored := map[string]bool{}
			names := map[string]bool{}
			for _, e := range m.all("explore") {
				require.False(t, names[e.name], "two explores are called %s", e.name)
				names[e.name] = true
				require.NotEmpty(t, e.get("description"), e.name)
				base := e.name
				if from := e.get("from"); from != "" {
					base = from
				}
				require.Contains(t, proj.views, base, "explore %s", e.name)
				explored[base] = true
				aliases := map[string]string{e.name: base}
				for _, j := range e.all("join") {
					view := j.name
					if from := j.get("from"); from != "" {
						view = from
					}
					require.Contains(t, proj.views, view, "explore %s, join %s", e.name, j.name)
					require.NotContains(t, aliases, j.name, "explore %s joins %s twice", e.name, j.name)
					require.Contains(t, []string{"many_to_one", "one_to_many", "one_to_one"}, j.get("relationship"), "explore %s, join %s", e.name, j.name)
					require.Equal(t, "left_outer", j.get("type"), "explore %s, join %s", e.name, j.name)
					refs := qualifiedRef.FindAllStringSubmatch(j.get("sql_on"), -1)
					require.NotEmpty(t, refs, "explore %s, join %s has no sql_on", e.name, j.name)
					var self, before bool
					for _, r := range refs {
						switch alias, field := r[1], r[2]; alias {
						case j.name:
							self = true
							require.True(t, proj.views[view].has(field), "explore %s, join %s: %s has no field %s", e.name, j.name, view, field)
						default:
							v, ok := aliases[alias]
							require.True(t, ok, "explore %s, join %s refers to %s, which is not joined before it", e.name, j.name, alias)
							require.True(t, proj.views[v].has(field), "explore %s, join %s: %s (%s) has no field %s", e.name, j.name, alias, v, field)
							before = true
						}
					}
					require.True(t, self && before, "explore %s, join %s must join itself to the explore: %s", e.name, j.name, j.get("sql_on"))
					aliases[j.name] = view
					explored[view] = true
				}
				if af, ok := e.child("always_filter"); ok {
					filters, ok := af.child("filters")
					require.True(t, ok, "explore %s", e.name)
					for _, item := range filters.list {
						ref, _, found := strings.Cut(item, ":")
						require.True(t, found, item)
						alias, field, _ := strings.Cut(strings.TrimSpace(ref), ".")
						v, ok := aliases[alias]
						require.True(t, ok, "explore %s filters %s", e.name, ref)
						require.True(t, proj.views[v].has(field), "explore %s filters %s, which %s does not have", e.name, ref, v)
					}
				}
			}
			for name := range proj.views {
				require.True(t, explored[name], "view %s is in no explore", name)
			}
		})
	}
}

// Each view is well formed: named after its file and table, every field
// name once, one primary key, every field typed, with SQL and a
// description, and every field a view's own SQL, drill or filter names is
// one of its fields.
func TestEveryViewIsWellFormed(t *testing.T) {
	t.Parallel()
	for _, p := range policies {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			proj := parseProject(t, generate(t, p))
			for name, v := range proj.views {
				require.Equal(t, viewStem(v.file), name)
				require.Equal(t, "`analytics.teacher_training."+name+"`", v.node.get("sql_table_name"))
				require.Empty(t, v.dupes, "%s names fields twice", name)
				var keys []string
				for _, f := range v.node.children {
					if f.key == "sql_table_name" {
						continue
					}
					require.Contains(t, []string{"dimension", "dimension_group", "measure"}, f.key, "%s.%s", name, f.name)
					require.NotEmpty(t, f.get("type"), "%s.%s", name, f.name)
					require.NotEmpty(t, f.get("description"), "%s.%s", name, f.name)
					if f.get("primary_key") == "yes" {
						keys = append(keys, f.name)
					}
					if f.key != "measure" {
						require.Regexp(t, tableColumn, f.get("sql"), "%s.%s reads no column", name, f.name)
					}
					require.NotRegexp(t, qualifiedRef, f.get("sql"), "%s.%s reaches into another view", name, f.name)
					for _, r := range localRef.FindAllStringSubmatch(f.get("sql"), -1) {
						if r[1] != "TABLE" {
							require.True(t, v.has(r[1]), "%s.%s refers to ${%s}, not a field of the view", name, f.name, r[1])
						}
					}
					if d, ok := f.child("drill_fields"); ok {
						for _, item := range d.list {
							require.True(t, v.has(item), "%s.%s drills into %s", name, f.name, item)
						}
					}
					for _, flt := range f.all("filters") {
						for _, item := range flt.list {
							field, _, _ := strings.Cut(item, ":")
							require.True(t, v.has(strings.TrimSpace(field)), "%s.%s filters %s", name, f.name, field)
						}
					}
				}
				require.Len(t, keys, 1, "%s needs exactly one primary key", name)
			}
		})
	}
}

// The model's joins are the contracts' references: a many-to-one join
// follows a key to the one column it references, and the other way round.
func TestJoinsFollowTheContractsReferences(t *testing.T) {
	t.Parallel()
	proj := parseProject(t, generate(t, lookml.Hash))
	var trainees *node
	for _, e := range proj.model.all("explore") {
		if e.name == "trainees" {
			trainees = e
		}
	}
	require.NotNil(t, trainees)
	joins := map[string]string{}
	for _, j := range trainees.all("join") {
		joins[j.name] = j.get("relationship") + " " + j.get("sql_on")
	}
	require.Equal(t, "many_to_one ${trainees.provider_id} = ${providers.id}", joins["providers"])
	require.Equal(t, "many_to_one ${trainees.start_academic_cycle_id} = ${start_academic_cycle.id}", joins["start_academic_cycle"])
	require.Equal(t, "one_to_many ${trainee_withdrawals.trainee_id} = ${trainees.id}", joins["trainee_withdrawals"])
	require.Equal(t, "one_to_one ${trainee_status.entity_type} = 'trainee' AND ${trainee_status.entity_id} = ${trainees.id}", joins["trainee_status"])
	var names []string
	for _, e := range proj.model.all("explore") {
		names = append(names, e.name)
	}
	require.Subset(t, names, []string{"trainees", "teachers", "declarations", "statements", "contracts",
		"register_statuses_daily", "rect_statuses_daily", "nightshift_runs"})
}
