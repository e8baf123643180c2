package lookml

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// Timeframes of the dimension groups. A date has no time of day, and its
// raw value is the date itself.
var (
	dateTimeframes      = []string{"date", "week", "month", "quarter", "year"}
	timestampTimeframes = []string{"raw", "time", "date", "week", "month", "quarter", "year"}
)

// compoundKey is the hidden dimension that identifies a row of a table
// keyed by several columns: Looker's symmetric aggregates need one field.
const compoundKey = "compound_primary_key"

// view is a table's LookML view.
type view struct {
	table  Table
	sqlRef string
	fields []field
	// names is every field name the view has, a group's timeframes
	// included: what ${view.field} may name.
	names map[string]bool
	// byColumn is the field that shows a column: a date or timestamp
	// column's day, any other column itself.
	byColumn map[string]string
}

// field is one dimension, dimension group or measure.
type field struct {
	kind, name string
	attrs      []attr
}

// attr is one parameter of a field, its value written as LookML wants it.
type attr struct{ key, value string }

// newView describes the table as BigQuery holds it under the policy.
func newView(t Table, opts Options) (*view, error) {
	v := &view{
		table:    t,
		sqlRef:   "`" + opts.Dataset + "." + t.Name + "`",
		names:    map[string]bool{},
		byColumn: map[string]string{},
	}
	var cols []shown
	for _, col := range t.Columns {
		if s, ok := show(col, opts.PII); ok {
			cols = append(cols, s)
		}
	}
	present := map[string]shown{}
	for _, s := range cols {
		present[s.Name] = s
	}
	for _, k := range t.PrimaryKey {
		if _, ok := present[k]; !ok {
			return nil, fmt.Errorf("primary key column %s is not in BigQuery under the %s policy", k, opts.PII)
		}
	}
	// Plain dimensions and measures take their names first; a dimension
	// group takes the shorter name (created for created_at) only when none
	// of its timeframes clashes with them.
	reserved := []string{"count"}
	for _, m := range t.Measures {
		reserved = append(reserved, m.Name)
	}
	if len(t.PrimaryKey) > 1 {
		reserved = append(reserved, compoundKey)
	}
	for _, s := range cols {
		if !s.grouped() {
			reserved = append(reserved, s.Name)
		}
	}
	for _, name := range reserved {
		if err := v.reserve(name); err != nil {
			return nil, err
		}
	}
	for _, s := range cols {
		f, err := v.dimension(s, t, present)
		if err != nil {
			return nil, err
		}
		v.fields = append(v.fields, f)
	}
	if len(t.PrimaryKey) > 1 {
		v.fields = append(v.fields, v.compoundKey())
	}
	measures, err := v.measures(present)
	if err != nil {
		return nil, err
	}
	v.fields = append(v.fields, measures...)
	return v, nil
}

// shown is a column as BigQuery holds it: hashed when its PII is.
type shown struct {
	schemas.Column
	hashed bool
}

// grouped reports whether the column becomes a dimension group.
func (s shown) grouped() bool {
	return !s.hashed && (s.Type == schemas.Date || s.Type == schemas.Timestamp)
}

// show says whether and how a column is in BigQuery under the policy: the
// rule steps/loadbigquery applies to every table it loads, which
// cmd/nightshift's TestLookMLMatchesWhatARunLoadsIntoBigQuery holds this
// to. A derived _name column has its code's PII class, so it goes where
// its code goes.
func show(col schemas.Column, p Policy) (shown, bool) {
	switch {
	case col.PII == schemas.PIINone:
		return shown{Column: col}, true
	case p == Drop:
		return shown{}, false
	}
	return shown{Column: col, hashed: true}, true
}

// dimension is the field of one column.
func (v *view) dimension(s shown, t Table, present map[string]shown) (field, error) {
	col := s.Column
	f := field{kind: "dimension", name: col.Name}
	key := len(t.PrimaryKey) == 1 && t.PrimaryKey[0] == col.Name
	if key {
		f.add("primary_key", "yes")
	}
	desc := col.Description
	if col.Keys != nil {
		desc += " " + col.Keys.Describe()
	}
	switch {
	case s.hashed:
		f.add("hidden", "yes")
		f.add("label", quote(humanize(col.Name)+" (pseudonymised)"))
		f.add("type", "string")
		f.add("sql", v.column(col.Name))
		desc += fmt.Sprintf(" Pseudonymised (PII %s): the hex HMAC-SHA256 of the value, the same in every table and run, "+
			"so use it only to join or to count distinct values; the value itself cannot be read.", col.PII)
	case slices.Contains(t.Repeated, col.Name):
		f.add("type", "string")
		f.add("sql", "ARRAY_TO_STRING("+v.column(col.Name)+", ', ')")
		desc += " A list, shown comma-separated."
	case s.grouped():
		return v.group(col)
	case len(col.Labels) > 0:
		f.add("hidden", "yes")
		f.add("label", quote(humanize(col.Name)+" (code)"))
		f.add("type", "number")
		f.add("sql", v.column(col.Name))
		desc += " Codes: " + codeList(col.Labels) + ". " + humanize(col.Name) + " shows the name."
	case col.Derived():
		base, ok := present[strings.TrimSuffix(col.Name, schemas.LabelSuffix)]
		if !ok {
			return field{}, fmt.Errorf("column %s has no code column", col.Name)
		}
		f.add("label", quote(humanize(base.Name)))
		f.add("type", "string")
		f.add("sql", v.column(col.Name))
		desc += " Codes: " + codeList(base.Labels) + "; a code without a name reads unknown_<code>."
	default:
		if l := humanize(col.Name); l != lookerLabel(col.Name) {
			f.add("label", quote(l))
		}
		typ, sql, format := v.typed(col)
		f.add("type", typ)
		f.add("sql", sql)
		if format == "" && (key || col.References != "") {
			format = "id"
		}
		if format != "" {
			f.add("value_format_name", format)
		}
		if col.Type == schemas.Bool && col.Nullable {
			desc += " Yes or No; empty where the source holds neither."
		}
	}
	f.add("description", quote(desc))
	v.byColumn[col.Name] = f.name
	return f, nil
}

// typed is the LookML type, SQL and number format of a column shown as it
// is.
func (v *view) typed(col schemas.Column) (typ, sql, format string) {
	ref := v.column(col.Name)
	switch col.Type {
	case schemas.Int16, schemas.Int32, schemas.Int64, schemas.Float64:
		return "number", ref, ""
	case schemas.Numeric:
		// Money is in pounds and pence (scale 2) and ratios keep the places
		// they are held at; a wider scale (numeric(38,9)) only holds an
		// unconstrained source column exactly, so it shows pence.
		places := col.Scale
		if places > 4 {
			places = 2
		}
		return "number", ref, fmt.Sprintf("decimal_%d", places)
	case schemas.Bool:
		if col.Nullable {
			// yesno shows NULL as No; an unknown stays unknown here.
			return "string", "CASE WHEN " + ref + " THEN 'Yes' WHEN NOT " + ref + " THEN 'No' END", ""
		}
		return "yesno", ref, ""
	case schemas.JSON:
		return "string", "TO_JSON_STRING(" + ref + ")", ""
	}
	return "string", ref, ""
}

// group is the dimension group of a date or timestamp column.
func (v *view) group(col schemas.Column) (field, error) {
	name := col.Name
	timeframes := timestampTimeframes
	if col.Type == schemas.Date {
		timeframes = dateTimeframes
	}
	free := func(name string) bool {
		return !v.names[name] && !slices.ContainsFunc(timeframes, func(tf string) bool { return v.names[name+"_"+tf] })
	}
	for _, suffix := range []string{"_at", "_on", "_date"} {
		if short, ok := strings.CutSuffix(col.Name, suffix); ok && short != "" && free(short) {
			name = short
			break
		}
	}
	if !free(name) {
		return field{}, fmt.Errorf("the dimension group of %s clashes with another field", col.Name)
	}
	v.names[name] = true
	for _, tf := range timeframes {
		v.names[name+"_"+tf] = true
	}
	v.byColumn[col.Name] = name + "_date"
	f := field{kind: "dimension_group", name: name}
	if l := humanize(name); l != lookerLabel(name) {
		f.add("label", quote(l))
	}
	f.add("type", "time")
	f.add("timeframes", "["+strings.Join(timeframes, ", ")+"]")
	if col.Type == schemas.Date {
		f.add("convert_tz", "no")
		f.add("datatype", "date")
	}
	f.add("sql", v.column(col.Name))
	f.add("description", quote(col.Description))
	return f, nil
}

// compoundKey is the one field that identifies a row of a table keyed by
// several columns.
func (v *view) compoundKey() field {
	parts := make([]string, len(v.table.PrimaryKey))
	for i, k := range v.table.PrimaryKey {
		parts[i] = "CAST(" + v.column(k) + " AS STRING)"
	}
	f := field{kind: "dimension", name: compoundKey}
	f.add("primary_key", "yes")
	f.add("hidden", "yes")
	f.add("type", "string")
	f.add("sql", "CONCAT("+strings.Join(parts, ", '|', ")+")")
	f.add("description", quote("The primary key ("+strings.Join(v.table.PrimaryKey, ", ")+") as one value."))
	return f
}

// measures are the count and the table's own measures; they come after
// the dimensions, whose names their filters use.
func (v *view) measures(present map[string]shown) ([]field, error) {
	count := field{kind: "measure", name: "count"}
	count.add("type", "count")
	var drill []string
	for _, k := range v.table.PrimaryKey {
		if s := present[k]; !s.hashed && !s.grouped() {
			drill = append(drill, k)
		}
	}
	if len(drill) > 0 {
		count.add("drill_fields", "["+strings.Join(drill, ", ")+"]")
	}
	count.add("description", quote("Rows of "+v.table.Name+"."))
	out := []field{count}
	for _, m := range v.table.Measures {
		f := field{kind: "measure", name: m.Name}
		f.add("type", m.Type)
		if m.SQL != "" {
			f.add("sql", m.SQL)
		}
		for _, flt := range m.Filters {
			name, ok := v.byColumn[flt.Column]
			if !ok {
				return nil, fmt.Errorf("measure %s filters %s, which is not a column", m.Name, flt.Column)
			}
			f.add("filters", "["+name+": "+quote(flt.Value)+"]")
		}
		f.add("description", quote(m.Description))
		out = append(out, f)
	}
	return out, nil
}

// reserve takes a field name, which must be free.
func (v *view) reserve(name string) error {
	if v.names[name] {
		return fmt.Errorf("two fields are called %s", name)
	}
	v.names[name] = true
	return nil
}

// column is the SQL of a column of the view's table.
func (v *view) column(name string) string { return "${TABLE}." + name }

func (f *field) add(key, value string) { f.attrs = append(f.attrs, attr{key, value}) }

// render writes the view file's LookML.
func (v *view) render() string {
	var b strings.Builder
	comment(&b, "", v.table.Description)
	fmt.Fprintf(&b, "view: %s {\n  sql_table_name: %s ;;\n", v.table.Name, v.sqlRef)
	for _, f := range v.fields {
		fmt.Fprintf(&b, "\n  %s: %s {\n", f.kind, f.name)
		for _, a := range f.attrs {
			value := a.value
			if strings.HasPrefix(a.key, "sql") {
				value += " ;;"
			}
			fmt.Fprintf(&b, "    %s: %s\n", a.key, value)
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// codeList lists an enum's codes with their names, in code order.
func codeList(labels map[int]string) string {
	parts := make([]string, 0, len(labels))
	for _, code := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, fmt.Sprintf("%d %s", code, labels[code]))
	}
	return strings.Join(parts, ", ")
}
