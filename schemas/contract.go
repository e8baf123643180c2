// Package schemas holds one contract per entity: what nightshift reads from
// a source, how each column is typed on the way through, and what an analyst
// is told about it. Everything else that describes an entity — the Arrow
// schema, the warehouse DDL, the extract and checksum SQL, the data
// dictionary — is derived from the contract, never written a second time.
package schemas

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Type is the logical type of a column. It decides the source cast, the
// Arrow type, the Parquet encoding and the warehouse and BigQuery types.
type Type int

const (
	Bool Type = iota + 1
	Int16
	Int32
	Int64
	Float64
	Text
	Date
	// Timestamp is an instant with microsecond precision. Rails stores UTC in
	// `timestamp without time zone`; the warehouse keeps it as timestamptz.
	Timestamp
	UUID
	JSON
	// Numeric is an exact decimal with the column's Precision (at most 38)
	// and Scale.
	Numeric
)

var typeNames = map[Type]string{
	Bool: "bool", Int16: "int16", Int32: "int32", Int64: "int64", Float64: "float64",
	Text: "text", Date: "date", Timestamp: "timestamp", UUID: "uuid", JSON: "json", Numeric: "numeric",
}

func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// PII classifies how personal a column is. It decides what may leave the
// warehouse for BigQuery and is shown in the data dictionary.
type PII int

const (
	// PIINone is data about organisations, codes and dates of events.
	PIINone PII = iota
	// PIIPersonal identifies or describes a person: names, email, date of
	// birth, TRN, HESA id.
	PIIPersonal
	// PIISpecial is special-category data (UK GDPR art. 9): ethnicity,
	// disability, sex.
	PIISpecial
)

func (p PII) String() string {
	switch p {
	case PIINone:
		return "none"
	case PIIPersonal:
		return "personal"
	case PIISpecial:
		return "special"
	}
	return fmt.Sprintf("PII(%d)", int(p))
}

// Mode says how an entity's warehouse table is refreshed.
type Mode int

const (
	// Full replaces the whole table from one snapshot of the source.
	Full Mode = iota + 1
)

func (m Mode) String() string {
	if m == Full {
		return "full"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Column is one column of an entity as analysts see it.
type Column struct {
	// Name is the column's name in the warehouse and in BigQuery.
	Name string
	// Source is the source column it is read from; empty means Name.
	Source string
	// SourceType is the source column's type as information_schema.columns
	// reports it in udt_name (int8, varchar, citext, timestamp, …). The
	// preflight check compares it with the live source.
	SourceType string
	Type       Type
	// Precision and Scale size a Numeric column: values with more digits
	// or more decimal places are quarantined, never rounded.
	Precision, Scale int
	// InRange, for a date or timestamp a query computes, says why its
	// values are always within the years every target holds (the query
	// turns any other into NULL): none is ever quarantined, so it may be in
	// an entity whose key has several columns.
	InRange string
	// Nullable is false only where the source guarantees a value (NOT NULL).
	Nullable    bool
	Description string
	PII         PII
	// LowCardinality marks columns with few distinct values (enums, codes):
	// only those get Parquet dictionary encoding, which costs more CPU than it
	// saves on high-cardinality columns.
	LowCardinality bool
	// Labels names the codes of an integer enum (Rails stores trainees.state
	// as 0..6). Each labelled column gets a sibling <name>_name column with
	// the label, computed in the extract query; a code with no label reads
	// unknown_<code>, so that a new code shows instead of vanishing.
	Labels map[int]string
	// References names the column this key points at, as "entity.column"
	// (trainees.provider_id → "providers.id"), when that entity is under
	// contract too: the generated LookML joins along it. It stays empty for
	// a key into a table nightshift does not copy. Like the services'
	// databases, nothing enforces it: a row may point at nothing.
	References string
	// Keys, on a JSON column whose keys are the columns of another entity
	// (audits.audited_changes), classifies each key as that column is, so
	// that BigQuery gets the personal ones hashed or not at all (keys.go).
	// The column's own PII is then none: its personal keys are handled
	// one by one.
	Keys *Keys

	// labelled is set on the derived <name>_name column: the column whose
	// labels it shows.
	labelled *Column
}

// LabelSuffix ends the name of the column derived from a labelled one.
const LabelSuffix = "_name"

// Derived reports whether the column is computed by nightshift rather than
// read from a source column.
func (c Column) Derived() bool { return c.labelled != nil }

// SourceColumn is the name of the column in the source table.
func (c Column) SourceColumn() string {
	if c.Source != "" {
		return c.Source
	}
	return c.Name
}

// Referenced splits References into the entity and the column the key
// points at; ok is false when the column references nothing.
func (c Column) Referenced() (entity, column string, ok bool) {
	return strings.Cut(c.References, ".")
}

// Contract is everything nightshift promises about one entity.
type Contract struct {
	// Entity names the entity and its warehouse table.
	Entity      string
	Description string
	// Source names the source database (a key of the configuration's sources).
	Source string
	// Table is the source table, in the source's public schema. Column
	// sources name its columns.
	Table string
	// Query, instead of Table, is a source query the entity is computed
	// from (a status the services derive on the fly); column sources name
	// its output columns. Reads lists the source columns it depends on, by
	// table, for the preflight.
	Query string
	Reads map[string][]string
	// History marks an entity of statuses, one row per (entity_type,
	// entity_id): each run keeps reporting.status_history from it.
	History bool
	// HistoryBefore, for a statuses entity, is a query over the warehouse
	// (its schema written {{schema}}) of every status change the sources
	// recorded — (entity_type, entity_id, status, changed_at, source) —
	// from which the status history before the first run is rebuilt; it
	// reads the entities HistoryBeforeReads names, and is skipped until
	// they are loaded.
	HistoryBefore      string
	HistoryBeforeReads []string
	// StatusOf names, for a statuses entity, the entity each entity_type
	// describes (trainee → trainees). A row quarantined from that entity
	// has its status left out too, so the two tables never disagree.
	StatusOf map[string]string
	// ChangedAt names the column that says when a row last changed, which
	// a new version of the row begins at when it fits (after the previous
	// version, not after the snapshot); empty: updated_at, when the
	// contract has one. ChangedAtSource, when set, names a column saying
	// per row where that time came from (audits, events, a column);
	// otherwise it is ChangedAt's name.
	ChangedAt       string
	ChangedAtSource string
	// PrimaryKey lists the columns (by Name) that identify a row.
	PrimaryKey []string
	// MinSchemaVersion is the lowest source schema_migrations version that
	// has every column this contract reads.
	MinSchemaVersion string
	Mode             Mode
	Columns          []Column
	// Ignored names the source columns deliberately not read, each with
	// why, so that preflight reports only columns nobody has decided about
	// yet and the data dictionary can say what was left out.
	Ignored map[string]string
	// BigQuery is how the entity's BigQuery table is partitioned and
	// clustered (layout.go; the choices are in layouts.go).
	BigQuery Layout
}

// ChangeTime returns the column a row's change time is read from and the
// column, if any, naming its source per row (see ChangedAt); ok is false
// when the contract has none.
func (c *Contract) ChangeTime() (column, source string, ok bool) {
	name := c.ChangedAt
	if name == "" {
		name = "updated_at"
	}
	col, found := c.Column(name)
	if !found || col.Type != Timestamp {
		return "", "", false
	}
	return name, c.ChangedAtSource, true
}

// Fields is every column the entity has in the warehouse, in order: the
// source columns, each labelled one followed by its derived _name column.
func (c *Contract) Fields() []Column {
	out := make([]Column, 0, len(c.Columns))
	for i := range c.Columns {
		col := c.Columns[i]
		out = append(out, col)
		if len(col.Labels) > 0 {
			out = append(out, Column{
				Name:           col.Name + LabelSuffix,
				SourceType:     col.SourceType,
				Type:           Text,
				Nullable:       col.Nullable,
				Description:    col.Description + " As a name.",
				PII:            col.PII,
				LowCardinality: true,
				labelled:       &c.Columns[i],
			})
		}
	}
	return out
}

// Column returns the column called name.
func (c *Contract) Column(name string) (Column, bool) {
	i := slices.IndexFunc(c.Columns, func(col Column) bool { return col.Name == name })
	if i < 0 {
		return Column{}, false
	}
	return c.Columns[i], true
}

var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// reference is the form of Column.References: entity.column.
var reference = regexp.MustCompile(`^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$`)

// Validate reports every mistake in a contract at once, so that a broken
// contract fails the tests and never reaches a run.
func (c *Contract) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("contract %s: "+format, append([]any{c.Entity}, args...)...))
	}
	if !identifier.MatchString(c.Entity) {
		bad("entity name %q must be a lower-case identifier", c.Entity)
	}
	switch {
	case c.Source == "":
		bad("source is required")
	case (c.Table == "") == (c.Query == ""):
		bad("exactly one of table and query is required")
	case c.Query != "" && len(c.Reads) == 0:
		bad("a query entity must list the source columns it reads, for the preflight")
	}
	if c.Description == "" {
		bad("description is required")
	}
	if c.Mode == 0 {
		bad("mode is required")
	}
	if len(c.MinSchemaVersion) != 14 {
		bad("min schema version %q must be a 14-digit Rails migration version", c.MinSchemaVersion)
	}
	seen := map[string]bool{}
	for _, col := range c.Columns {
		switch {
		case !identifier.MatchString(col.Name):
			bad("column name %q must be a lower-case identifier", col.Name)
		case seen[col.Name]:
			bad("column %s appears twice", col.Name)
		}
		seen[col.Name] = true
		if _, ok := typeNames[col.Type]; !ok {
			bad("column %s has no type", col.Name)
		}
		if col.SourceType == "" {
			bad("column %s has no source type", col.Name)
		}
		if col.Description == "" {
			bad("column %s has no description", col.Name)
		}
		if col.Type == Numeric && (col.Precision < 1 || col.Precision > 38 || col.Scale < 0 || col.Scale > col.Precision) {
			bad("column %s needs a precision from 1 to 38 and a scale from 0 to its precision", col.Name)
		}
		if col.References != "" && !reference.MatchString(col.References) {
			bad("column %s references %q, which is not entity.column", col.Name, col.References)
		}
		if col.Keys != nil {
			for _, msg := range col.Keys.validate(c, col) {
				bad("%s", msg)
			}
			if col.PII != PIINone {
				bad("column %s classifies its keys, so it must be PII none itself (or it would be hashed whole)", col.Name)
			}
		}
		if len(col.Labels) > 0 {
			if col.Type != Int16 && col.Type != Int32 && col.Type != Int64 {
				bad("column %s has labels but is not an integer", col.Name)
			}
			seen[col.Name+LabelSuffix] = true
		}
	}
	for _, col := range c.Columns {
		if len(col.Labels) == 0 && seen[col.Name] && strings.HasSuffix(col.Name, LabelSuffix) {
			if base, ok := c.Column(strings.TrimSuffix(col.Name, LabelSuffix)); ok && len(base.Labels) > 0 {
				bad("column %s clashes with the label column derived from %s", col.Name, base.Name)
			}
		}
	}
	if len(c.PrimaryKey) == 0 {
		bad("primary key is required")
	}
	if len(c.PrimaryKey) > 1 && slices.ContainsFunc(c.Columns, func(col Column) bool { return (col.Type == Date || col.Type == Timestamp) && col.InRange == "" }) {
		// Quarantined rows are recorded and excluded by one key column.
		bad("an entity with dates or timestamps needs a single-column primary key")
	}
	if c.History {
		for _, name := range []string{"entity_type", "entity_id", "status"} {
			if _, ok := c.Column(name); !ok {
				bad("a history entity needs an %s column", name)
			}
		}
	}
	for _, k := range c.PrimaryKey {
		col, ok := c.Column(k)
		if !ok {
			bad("primary key column %s is not a column", k)
		} else if col.Nullable {
			bad("primary key column %s must not be nullable", k)
		}
	}
	for _, msg := range c.BigQuery.validate(c) {
		bad("%s", msg)
	}
	return errors.Join(errs...)
}
