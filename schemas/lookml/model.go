package lookml

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// datagroupName is the model's caching policy: results are cached until
// nightshift records a successful run.
const datagroupName = "nightshift_load"

// model is the model file: the connection, the views it includes and the
// explores.
type model struct {
	opts     Options
	trigger  string
	explores []explore
}

type explore struct {
	name, description string
	// filter is asked of every query: the field and its default value.
	filter *Filter
	joins  []join
}

type join struct {
	name, from, relationship, sqlOn string
}

// resolver turns explore specs into explores against the views generated.
type resolver struct {
	contracts map[string]*schemas.Contract
	history   []*schemas.Contract
	views     map[string]*view
	policy    Policy
}

func newModel(contracts []*schemas.Contract, tables []Table, views map[string]*view, opts Options) (*model, error) {
	r := &resolver{contracts: map[string]*schemas.Contract{}, views: views, policy: opts.PII}
	for _, c := range contracts {
		r.contracts[c.Entity] = c
		if c.History {
			r.history = append(r.history, c)
		}
	}
	m := &model{opts: opts}
	for _, spec := range explores() {
		e, err := r.explore(spec)
		if err != nil {
			return nil, fmt.Errorf("explore %s: %w", spec.base, err)
		}
		m.explores = append(m.explores, e)
	}
	extra := map[string]bool{}
	for _, t := range opts.Tables {
		extra[t.Name] = true
	}
	for _, t := range tables {
		if t.Trigger != "" {
			if m.trigger != "" {
				return nil, fmt.Errorf("table %s has a cache trigger, and so has another table", t.Name)
			}
			m.trigger = strings.ReplaceAll(t.Trigger, "${TABLE}", views[t.Name].sqlRef)
		}
		if !extra[t.Name] && t.Describes == nil {
			continue
		}
		e, err := r.tableExplore(t)
		if err != nil {
			return nil, fmt.Errorf("explore %s: %w", t.Name, err)
		}
		m.explores = append(m.explores, e)
	}
	return m, nil
}

// explore resolves an entity's explore: each join along its reference.
func (r *resolver) explore(spec exploreSpec) (explore, error) {
	c, ok := r.contracts[spec.base]
	if !ok {
		return explore{}, fmt.Errorf("%s is not an entity", spec.base)
	}
	e := explore{name: spec.base, description: strings.TrimSpace(c.Description + " " + spec.note)}
	aliases := map[string]string{spec.base: spec.base}
	for _, j := range spec.joins {
		on, ok := aliases[j.on]
		if !ok {
			return explore{}, fmt.Errorf("a join hangs off %s, which is not in the explore yet", j.on)
		}
		var joins []join
		var err error
		switch {
		case j.statuses:
			joins, err = r.statusJoins(j.on, on)
		case j.collect:
			joins, err = r.collectJoin(j, on)
		default:
			joins, err = r.followJoin(j, on)
		}
		if err != nil {
			return explore{}, err
		}
		for _, jn := range joins {
			if _, dup := aliases[jn.name]; dup {
				return explore{}, fmt.Errorf("two joins are called %s; name one with as()", jn.name)
			}
			aliases[jn.name] = cmp.Or(jn.from, jn.name)
			e.joins = append(e.joins, jn)
		}
	}
	return e, nil
}

// followJoin joins the view j.on's column references: many to one.
func (r *resolver) followJoin(j joinSpec, on string) ([]join, error) {
	col, ok := r.contracts[on].Column(j.column)
	if !ok {
		return nil, fmt.Errorf("%s has no column %s", on, j.column)
	}
	entity, column, ok := col.Referenced()
	if !ok {
		return nil, fmt.Errorf("%s.%s references nothing", on, j.column)
	}
	jn := join{name: cmp.Or(j.name, entity), relationship: "many_to_one"}
	if jn.name != entity {
		jn.from = entity
	}
	left, err := r.ref(j.on, on, j.column)
	if err != nil {
		return nil, err
	}
	right, err := r.ref(jn.name, entity, column)
	if err != nil {
		return nil, err
	}
	jn.sqlOn = left + " = " + right
	return []join{jn}, nil
}

// collectJoin joins the rows whose column (j.column, "entity.column")
// references j.on: one to many.
func (r *resolver) collectJoin(j joinSpec, on string) ([]join, error) {
	entity, column, _ := strings.Cut(j.column, ".")
	c, ok := r.contracts[entity]
	if !ok {
		return nil, fmt.Errorf("%s is not an entity", entity)
	}
	col, ok := c.Column(column)
	if !ok {
		return nil, fmt.Errorf("%s has no column %s", entity, column)
	}
	target, key, ok := col.Referenced()
	if !ok || target != on {
		return nil, fmt.Errorf("%s references %q, not %s", j.column, col.References, on)
	}
	jn := join{name: cmp.Or(j.name, entity), relationship: "one_to_many"}
	if jn.name != entity {
		jn.from = entity
	}
	left, err := r.ref(jn.name, entity, column)
	if err != nil {
		return nil, err
	}
	right, err := r.ref(j.on, on, key)
	if err != nil {
		return nil, err
	}
	jn.sqlOn = left + " = " + right
	return []join{jn}, nil
}

// statusJoins joins the status of each row of alias (a view of entity),
// one join per entity type of a statuses entity that describes it.
func (r *resolver) statusJoins(alias, entity string) ([]join, error) {
	key, err := r.singleKey(entity)
	if err != nil {
		return nil, err
	}
	var out []join
	for _, sc := range r.history {
		for _, typ := range slices.Sorted(maps.Keys(sc.StatusOf)) {
			if sc.StatusOf[typ] != entity {
				continue
			}
			jn := join{name: typ + "_status", from: sc.Entity, relationship: "one_to_one"}
			on, err := r.describes(jn.name, sc.Entity, []string{typ}, alias, entity, key)
			if err != nil {
				return nil, err
			}
			jn.sqlOn = on
			out = append(out, jn)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no statuses entity describes %s", entity)
	}
	return out, nil
}

// tableExplore is the explore of one table: a table of statuses is joined
// to each entity its rows describe.
func (r *resolver) tableExplore(t Table) (explore, error) {
	e := explore{name: t.Name, description: t.Description}
	if t.Filter.Column != "" {
		name, ok := r.views[t.Name].byColumn[t.Filter.Column]
		if !ok {
			return explore{}, fmt.Errorf("the filter's column %s is not in the view", t.Filter.Column)
		}
		e.filter = &Filter{Column: t.Name + "." + name, Value: t.Filter.Value}
	}
	if t.Describes == nil {
		return e, nil
	}
	byEntity := map[string][]string{}
	for typ, entity := range t.Describes.StatusOf {
		byEntity[entity] = append(byEntity[entity], typ)
	}
	for _, entity := range slices.Sorted(maps.Keys(byEntity)) {
		key, err := r.singleKey(entity)
		if err != nil {
			return explore{}, err
		}
		types := slices.Sorted(slices.Values(byEntity[entity]))
		on, err := r.describes(t.Name, t.Name, types, entity, entity, key)
		if err != nil {
			return explore{}, err
		}
		e.joins = append(e.joins, join{name: entity, relationship: "many_to_one", sqlOn: on})
	}
	return e, nil
}

// describes is the condition that a row of statuses (alias of the view
// statuses) is the status of a row of alias target (a view of entity),
// for the entity types given.
func (r *resolver) describes(statusAlias, statuses string, types []string, targetAlias, entity, key string) (string, error) {
	typ, err := r.ref(statusAlias, statuses, "entity_type")
	if err != nil {
		return "", err
	}
	id, err := r.ref(statusAlias, statuses, "entity_id")
	if err != nil {
		return "", err
	}
	target, err := r.ref(targetAlias, entity, key)
	if err != nil {
		return "", err
	}
	quoted := make([]string, len(types))
	for i, t := range types {
		if !identifierLike(t) {
			return "", fmt.Errorf("entity type %q cannot be written in SQL as it is", t)
		}
		quoted[i] = "'" + t + "'"
	}
	cond := typ + " = " + quoted[0]
	if len(quoted) > 1 {
		cond = typ + " IN (" + strings.Join(quoted, ", ") + ")"
	}
	return cond + " AND " + id + " = " + target, nil
}

// singleKey is the one primary key column of an entity statuses describe.
func (r *resolver) singleKey(entity string) (string, error) {
	c, ok := r.contracts[entity]
	if !ok {
		return "", fmt.Errorf("%s is not an entity", entity)
	}
	if len(c.PrimaryKey) != 1 {
		return "", fmt.Errorf("%s has no single-column primary key", entity)
	}
	return c.PrimaryKey[0], nil
}

// ref is ${alias.field}, for a field the view has.
func (r *resolver) ref(alias, viewName, field string) (string, error) {
	v, ok := r.views[viewName]
	if !ok {
		return "", fmt.Errorf("there is no view %s", viewName)
	}
	if !v.names[field] {
		return "", errors.New(viewName + " has no field " + field + " under the " + string(r.policy) + " policy")
	}
	return "${" + alias + "." + field + "}", nil
}

func identifierLike(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// render writes the model file's LookML.
func (m *model) render() string {
	var b strings.Builder
	comment(&b, "", fmt.Sprintf("The BigQuery dataset %s as nightshift loads it, PII policy %s: %s", m.opts.Dataset, m.opts.PII, policyNote[m.opts.PII]))
	fmt.Fprintf(&b, "connection: %s\nlabel: %s\n\ninclude: %s\n", quote(m.opts.Connection), quote("Teacher training (nightshift)"), quote("*.view.lkml"))
	if m.trigger != "" {
		fmt.Fprintf(&b, "\ndatagroup: %s {\n  description: %s\n  sql_trigger: %s ;;\n  max_cache_age: %s\n}\n\npersist_with: %s\n",
			datagroupName, quote("Cached results last until nightshift records a successful run (or a day)."), m.trigger, quote("24 hours"), datagroupName)
	}
	for _, e := range m.explores {
		fmt.Fprintf(&b, "\nexplore: %s {\n  description: %s\n", e.name, quote(e.description))
		if e.filter != nil {
			fmt.Fprintf(&b, "  always_filter: {\n    filters: [%s: %s]\n  }\n", e.filter.Column, quote(e.filter.Value))
		}
		for _, j := range e.joins {
			fmt.Fprintf(&b, "\n  join: %s {\n", j.name)
			if j.from != "" {
				fmt.Fprintf(&b, "    from: %s\n", j.from)
			}
			if l := humanize(j.name); l != lookerLabel(j.name) {
				fmt.Fprintf(&b, "    view_label: %s\n", quote(l))
			}
			fmt.Fprintf(&b, "    type: left_outer\n    relationship: %s\n    sql_on: %s ;;\n  }\n", j.relationship, j.sqlOn)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

var policyNote = map[Policy]string{
	Hash: "personal and special-category columns hold the hex HMAC-SHA256 of their values (hidden fields, labelled pseudonymised).",
	Drop: "personal and special-category columns are left out.",
}
