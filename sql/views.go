package sql

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

//go:embed views/*.sql
var viewFiles embed.FS

// View is an analyst view over the reporting tables. Its SQL names tables
// and itself without a schema: it is run with search_path set to the
// reporting schema.
type View struct {
	Name string
	// DependsOn lists the entities whose tables the view reads. The view is
	// created again, in the swap's transaction, each time one of them is
	// swapped in, because a PostgreSQL view follows the table it was created
	// on even when that table is renamed to <entity>__previous.
	DependsOn []string
	SQL       string
	// Description is the view's COMMENT in the warehouse and its
	// description in BigQuery.
	Description string
	// Query is the view's SELECT as a template (see Dialect), that SQL is
	// rendered from for PostgreSQL and BigQuery's view from (Render). A
	// view without one is the warehouse's only.
	Query string
}

const dependsPrefix = "-- depends on:"

// Views returns the analyst views, sorted by name. Each file
// views/<name>.sql starts with a "-- depends on: a, b" line and a
// "-- description: …" line, then the view's SELECT as a template
// (parseView).
func Views() ([]View, error) {
	entries, err := fs.Glob(viewFiles, "views/*.sql")
	if err != nil {
		return nil, err
	}
	var out []View
	for _, path := range entries {
		body, err := fs.ReadFile(viewFiles, path)
		if err != nil {
			return nil, err
		}
		first, _, _ := strings.Cut(string(body), "\n")
		if !strings.HasPrefix(first, dependsPrefix) {
			return nil, fmt.Errorf("%s: the first line must be %q followed by the entities it reads", path, dependsPrefix)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(path, "views/"), ".sql")
		v, err := parseView(path, name, string(body))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b View) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
