package sql

import (
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"slices"
	"strings"
)

// Described is one object of the warehouse beyond the entity tables — a
// ledger table, the status history, a view, a function — with the
// description its COMMENT gives it.
type Described struct {
	Kind        string // TABLE, VIEW, FUNCTION
	Name        string // schema-qualified
	Description string
	Columns     []DescribedColumn
}

// DescribedColumn is a column's COMMENT.
type DescribedColumn struct {
	Name, Description string
}

var commentOn = regexp.MustCompile(`(?s)COMMENT ON (TABLE|VIEW|FUNCTION|COLUMN) ([\w."]+(?:\([^)]*\))?) IS '((?:[^']|'')*)';`)

// Catalog reads the COMMENTs of the warehouse migrations and the views:
// the one place every table, view and function analysts may query is
// described, for the data dictionary to print.
func Catalog() ([]Described, error) {
	var texts []string
	ups, err := fs.Glob(Warehouse, "warehouse/*.up.sql")
	if err != nil {
		return nil, err
	}
	slices.Sort(ups)
	for _, path := range ups {
		body, err := fs.ReadFile(Warehouse, path)
		if err != nil {
			return nil, err
		}
		texts = append(texts, string(body))
	}
	views, err := Views()
	if err != nil {
		return nil, err
	}
	for _, v := range views {
		// Views are created in the reporting schema without naming it.
		texts = append(texts, strings.ReplaceAll(v.SQL, "COMMENT ON VIEW "+v.Name+" ", "COMMENT ON VIEW reporting."+v.Name+" "))
	}
	objects := map[string]*Described{}
	var order []string
	for _, text := range texts {
		for _, m := range commentOn.FindAllStringSubmatch(text, -1) {
			kind, name, desc := m[1], m[2], strings.ReplaceAll(m[3], "''", "'")
			if kind == "COLUMN" {
				table, column := name[:strings.LastIndex(name, ".")], name[strings.LastIndex(name, ".")+1:]
				o, ok := objects[table]
				if !ok {
					return nil, fmt.Errorf("catalog: a comment on column %s of a table with no comment of its own", name)
				}
				// A later migration's comment on a column replaces the
				// earlier one, as it does in the database.
				if i := slices.IndexFunc(o.Columns, func(c DescribedColumn) bool { return c.Name == column }); i >= 0 {
					o.Columns[i].Description = desc
					continue
				}
				o.Columns = append(o.Columns, DescribedColumn{Name: column, Description: desc})
				continue
			}
			if _, ok := objects[name]; !ok {
				order = append(order, name)
				objects[name] = &Described{Kind: kind, Name: name}
			}
			objects[name].Description = desc
		}
	}
	out := make([]Described, 0, len(order))
	for _, name := range order {
		out = append(out, *objects[name])
	}
	return out, nil
}

// WriteCatalog writes the catalog as the data dictionary's last part.
func WriteCatalog(w io.Writer, objects []Described) error {
	var b strings.Builder
	b.WriteString("\n## Beyond the entities: history, views, functions and the run ledger\n\n")
	b.WriteString("Generated from the COMMENTs of the warehouse migrations (`sql/warehouse`) and views (`sql/views`).\n")
	for _, o := range objects {
		fmt.Fprintf(&b, "\n### %s `%s`\n\n%s\n", strings.ToLower(o.Kind), o.Name, o.Description)
		if len(o.Columns) > 0 {
			b.WriteString("\n| column | description |\n|---|---|\n")
			for _, c := range o.Columns {
				fmt.Fprintf(&b, "| `%s` | %s |\n", c.Name, strings.ReplaceAll(c.Description, "|", `\|`))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
