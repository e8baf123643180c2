package lookml_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/schemas/lookml"
)

var policies = []lookml.Policy{lookml.Hash, lookml.Drop}

// options are those `nightshift lookml` uses for a dataset
// analytics.teacher_training: the command's test compares its output with
// the golden files generated from them.
func options(p lookml.Policy) lookml.Options {
	return lookml.Options{
		Connection: "nightshift_bigquery",
		Dataset:    "analytics.teacher_training",
		PII:        p,
		Tables: []lookml.Table{
			lookml.HistoryTable("register_statuses_daily", &schemas.RegisterStatuses),
			lookml.HistoryTable("rect_statuses_daily", &schemas.RECTStatuses),
			lookml.StatusHistoryTable("status_history"),
			lookml.RunsTable("nightshift_runs"),
		},
	}
}

func generate(t *testing.T, p lookml.Policy) []lookml.File {
	t.Helper()
	files, err := lookml.Generate(schemas.All(), options(p))
	require.NoError(t, err)
	return files
}

// project is a generated project, parsed.
type project struct {
	model *node // the model file's parameters, as the children of one node
	views map[string]*parsedView
	files map[string]string
}

type parsedView struct {
	file string
	node *node
	// fields maps every field name, each timeframe of a group included, to
	// the dimension, dimension group or measure that makes it.
	fields map[string]*node
	// dupes lists the names made twice.
	dupes []string
}

func parseProject(t *testing.T, files []lookml.File) *project {
	t.Helper()
	p := &project{views: map[string]*parsedView{}, files: map[string]string{}}
	for _, f := range files {
		p.files[f.Name] = string(f.Data)
		nodes, err := parseLookML(string(f.Data))
		require.NoError(t, err, f.Name)
		if f.Name == lookml.ModelFile {
			p.model = &node{children: nodes}
			continue
		}
		require.Len(t, nodes, 1, "%s holds one view", f.Name)
		require.Equal(t, "view", nodes[0].key, f.Name)
		v := &parsedView{file: f.Name, node: nodes[0], fields: map[string]*node{}}
		for _, fld := range nodes[0].children {
			var names []string
			switch fld.key {
			case "dimension", "measure":
				names = []string{fld.name}
			case "dimension_group":
				names = []string{fld.name}
				tf, ok := fld.child("timeframes")
				require.True(t, ok, "%s: %s has no timeframes", f.Name, fld.name)
				for _, frame := range tf.list {
					names = append(names, fld.name+"_"+frame)
				}
			default:
				continue
			}
			for _, n := range names {
				if _, dup := v.fields[n]; dup {
					v.dupes = append(v.dupes, n)
				}
				v.fields[n] = fld
			}
		}
		p.views[nodes[0].name] = v
	}
	require.NotNil(t, p.model, "no %s", lookml.ModelFile)
	return p
}

// isGroup says whether a field name is a dimension group itself, which
// ${} cannot name: only its timeframes.
func (v *parsedView) isGroup(name string) bool {
	f, ok := v.fields[name]
	return ok && f.key == "dimension_group" && f.name == name
}

func (v *parsedView) has(name string) bool {
	_, ok := v.fields[name]
	return ok && !v.isGroup(name)
}

// viewStem is the view a file name says it holds.
func viewStem(file string) string { return strings.TrimSuffix(file, ".view.lkml") }
