package sql

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// jsonPathStep is a key of a JSON path the templates may name: a column
// name, or an array index.
var jsonPathStep = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// jsonText is the text of the JSON value at path in the JSON column expr
// (see Dialect). Path steps are keys (strings) or array indexes (ints).
func (d Dialect) jsonText(expr string, path ...any) (string, error) {
	if len(path) == 0 {
		return "", fmt.Errorf("jsonText %s: no path", expr)
	}
	var pg []string
	bq := "$"
	for _, step := range path {
		switch s := step.(type) {
		case string:
			if !jsonPathStep.MatchString(s) {
				return "", fmt.Errorf("jsonText %s: key %q is not a plain name", expr, s)
			}
			pg = append(pg, s)
			bq += "." + s
		case int:
			if s < 0 {
				return "", fmt.Errorf("jsonText %s: index %d", expr, s)
			}
			pg = append(pg, strconv.Itoa(s))
			bq += "[" + strconv.Itoa(s) + "]"
		default:
			return "", fmt.Errorf("jsonText %s: path step %v is neither a key nor an index", expr, step)
		}
	}
	if d.Name == "bigquery" {
		return "JSON_VALUE(" + expr + ", '" + bq + "')", nil
	}
	return "(" + expr + " #>> '{" + strings.Join(pg, ",") + "}')", nil
}

// jsonKeys is the keys of the JSON object expr as a one-column table.
func (d Dialect) jsonKeys(expr string) string {
	if d.Name == "bigquery" {
		return "UNNEST(JSON_KEYS(" + expr + ", 1))"
	}
	// jsonb_object_keys fails on an array or a scalar; JSON_KEYS gives
	// none. NULL gives no keys in both.
	return "jsonb_object_keys(CASE WHEN jsonb_typeof(" + expr + ") = 'object' THEN " + expr + " END)"
}

// utcMidnight is the date expr as the timestamp of its midnight in UTC.
func (d Dialect) utcMidnight(expr string) string {
	if d.Name == "bigquery" {
		return "TIMESTAMP(" + expr + ", 'UTC')"
	}
	return "(CAST(" + expr + " AS timestamp) AT TIME ZONE 'UTC')"
}

// label is the CASE that names the text code expr by the labels of a
// contract's column, written "entity.column".
func (d Dialect) label(column, expr string) (string, error) {
	entity, name, ok := strings.Cut(column, ".")
	if !ok {
		return "", fmt.Errorf("label %q: name the column as entity.column", column)
	}
	c, err := schemas.Lookup(entity)
	if err != nil {
		return "", fmt.Errorf("label %q: %w", column, err)
	}
	col, ok := c.Column(name)
	if !ok || len(col.Labels) == 0 {
		return "", fmt.Errorf("label %q: %s has no column %s with labels", column, entity, name)
	}
	codes := make([]int, 0, len(col.Labels))
	for code := range col.Labels {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	var b strings.Builder
	b.WriteString("CASE " + expr)
	for _, code := range codes {
		// A quote or backslash would need escaping, and the two dialects
		// escape differently; the labels are Rails' enum names.
		if l := col.Labels[code]; strings.ContainsAny(l, `'\`) {
			return "", fmt.Errorf("label %q: %q is not a plain name", column, l)
		}
		fmt.Fprintf(&b, " WHEN '%d' THEN '%s'", code, col.Labels[code])
	}
	b.WriteString(" ELSE 'unknown_' || " + expr + " END")
	return b.String(), nil
}
