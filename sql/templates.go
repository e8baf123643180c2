package sql

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// parseView reads a view's template file: a header of "-- depends on:" and
// "-- description:" lines, then the view's SELECT in the templates'
// vocabulary. Its SQL is the PostgreSQL rendering: CREATE VIEW and COMMENT
// ON VIEW, the statements the publish runs with the reporting schema on
// the search_path.
func parseView(path, name, text string) (View, error) {
	h, query, err := header(path, text, "depends on", "description")
	if err != nil {
		return View{}, err
	}
	v := View{Name: name, DependsOn: splitList(h["depends on"]), Description: h["description"], Query: query}
	if strings.HasSuffix(query, ";") {
		return View{}, fmt.Errorf("%s: the query ends with ';': the statements around it are generated", path)
	}
	pg, err := v.Render(Postgres(""))
	if err != nil {
		return View{}, err
	}
	v.SQL = "CREATE VIEW " + pgIdent(name) + " AS\n" + pg + ";\n\nCOMMENT ON VIEW " + pgIdent(name) + " IS " + pgString(v.Description) + ";\n"
	return v, nil
}

// Render is the view's SELECT in a dialect.
func (v View) Render(d Dialect) (string, error) {
	if v.Query == "" {
		return "", fmt.Errorf("view %s has no template, only the warehouse's SQL", v.Name)
	}
	return d.render(v.Name, v.Query)
}

//go:embed functions/*.sql
var functionFiles embed.FS

// Function is a table function over the reporting tables (statuses_as_of):
// PostgreSQL's in a warehouse migration, BigQuery's a table-valued routine,
// both from one template.
type Function struct {
	Name string
	// Arguments and Returns name their types as PostgreSQL does; Dialect.Type
	// gives BigQuery's.
	Arguments   []Param
	Returns     []Param
	Description string
	// Body is the function's SELECT as a template.
	Body string
}

// Param is an argument or a returned column.
type Param struct {
	Name, Type string
}

// Functions returns the table functions, sorted by name. Each file
// functions/<name>.sql starts with "-- arguments:", "-- returns:" (name
// type, …) and "-- description:" lines.
func Functions() ([]Function, error) {
	paths, err := fs.Glob(functionFiles, "functions/*.sql")
	if err != nil {
		return nil, err
	}
	slices.Sort(paths)
	var out []Function
	for _, path := range paths {
		text, err := fs.ReadFile(functionFiles, path)
		if err != nil {
			return nil, err
		}
		h, body, err := header(path, string(text), "arguments", "returns", "description")
		if err != nil {
			return nil, err
		}
		f := Function{Name: strings.TrimSuffix(strings.TrimPrefix(path, "functions/"), ".sql"), Description: h["description"], Body: body}
		if f.Arguments, err = params(path, h["arguments"]); err != nil {
			return nil, err
		}
		if f.Returns, err = params(path, h["returns"]); err != nil {
			return nil, err
		}
		// Rendered once here, so that a template that does not render
		// fails where it is read, not in a run.
		for _, d := range []Dialect{Postgres("reporting"), BigQuery("p", "d")} {
			if _, err := f.Render(d); err != nil {
				return nil, err
			}
		}
		out = append(out, f)
	}
	return out, nil
}

func params(path, list string) ([]Param, error) {
	var out []Param
	for _, item := range splitList(list) {
		name, typ, ok := strings.Cut(item, " ")
		if !ok {
			return nil, fmt.Errorf("%s: %q is not \"name type\"", path, item)
		}
		p := Param{Name: name, Type: strings.TrimSpace(typ)}
		if _, err := Postgres("").Type(p.Type); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, name, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// Render is the function's SELECT in a dialect.
func (f Function) Render(d Dialect) (string, error) { return d.render(f.Name, f.Body) }

// PostgresDDL is the CREATE FUNCTION and COMMENT ON FUNCTION statements of
// the function in schema: what the warehouse migration that created it
// holds, so that a test can hold the two together.
func (f Function) PostgresDDL(schema string) (string, error) {
	body, err := f.Render(Postgres(schema))
	if err != nil {
		return "", err
	}
	name := pgIdent(schema) + "." + pgIdent(f.Name)
	var args, types, returns []string
	for _, a := range f.Arguments {
		args = append(args, pgIdent(a.Name)+" "+a.Type)
		types = append(types, a.Type)
	}
	for _, r := range f.Returns {
		returns = append(returns, pgIdent(r.Name)+" "+r.Type)
	}
	return fmt.Sprintf("CREATE FUNCTION %s(%s)\nRETURNS TABLE (%s)\nLANGUAGE sql STABLE AS $$\n%s\n$$;\nCOMMENT ON FUNCTION %s(%s) IS %s;\n",
		name, strings.Join(args, ", "), strings.Join(returns, ", "), body, name, strings.Join(types, ", "), pgString(f.Description)), nil
}
