package loadbigquery

import (
	"fmt"
	"strings"

	"cloud.google.com/go/bigquery"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// PIIPolicy says what happens to personal and special-category columns on
// their way to BigQuery. The warehouse keeps them.
type PIIPolicy string

const (
	// PIIHash replaces each value by its keyed hash (HMAC-SHA256, hex): the
	// same person hashes alike in every table and run, so hashed columns can
	// still be joined and counted, but not read.
	PIIHash PIIPolicy = "hash"
	// PIIDrop leaves the columns out.
	PIIDrop PIIPolicy = "drop"
)

// column is one column of the BigQuery table and how it is produced: its
// BigQuery field, and whether its values are hashed.
type column struct {
	schemas.Column
	hashed bool
	// keys, for a column whose JSON keys the contract classifies, is what
	// happens to the personal ones (keys.go).
	keys  keyPolicy
	field *bigquery.FieldSchema
}

// columns lists the entity's BigQuery columns under the policy.
func columns(c *schemas.Contract, pii PIIPolicy) []column {
	var out []column
	for _, col := range c.Fields() {
		if f, hashed := pii.apply(contractField(col), col.PII); f != nil {
			out = append(out, column{Column: col, hashed: hashed, keys: pii.keys(col), field: f})
		}
	}
	return out
}

// apply is the policy for one column of class whose BigQuery field is f:
// the field BigQuery gets — f itself, or a STRING of hashes that says so —
// and whether the values are hashed; nil when the column is left out. It
// is the one place that decides, for entities, their daily history and the
// run ledger alike.
func (p PIIPolicy) apply(f *bigquery.FieldSchema, class schemas.PII) (*bigquery.FieldSchema, bool) {
	switch {
	case class == schemas.PIINone:
		return f, false
	case p == PIIHash:
		h := &bigquery.FieldSchema{Name: f.Name, Type: bigquery.StringFieldType, Required: f.Required,
			Description: f.Description + fmt.Sprintf(" [PII %s: pseudonymised, HMAC-SHA256 of the value in hex]", class)}
		return h, true
	}
	// Drop, and a policy nightshift does not know: nothing personal leaves.
	return nil, false
}

// contractField is a contract column's BigQuery field, with its
// description.
func contractField(col schemas.Column) *bigquery.FieldSchema {
	f := &bigquery.FieldSchema{
		Name:        col.Name,
		Type:        bigquery.FieldType(col.BigQueryType()),
		Required:    !col.Nullable,
		Description: col.Description,
	}
	if col.Keys != nil {
		f.Description += " " + col.Keys.Describe()
	}
	if col.Type == schemas.Numeric {
		f.Precision, f.Scale = bigQueryPrecision(col), int64(col.Scale)
	}
	return f
}

// tableSchema is the BigQuery schema of the entity under the policy, with
// the contract's descriptions.
func tableSchema(c *schemas.Contract, pii PIIPolicy) bigquery.Schema {
	var s bigquery.Schema
	for _, col := range columns(c, pii) {
		s = append(s, col.field)
	}
	return s
}

// bigQueryPrecision is the precision a Numeric column is declared with in
// BigQuery: the contract's, except that BigQuery wants at least one digit
// before the point (precision - scale >= 1) where PostgreSQL allows none
// (numeric(4,4), values between -1 and 1). Such a column gets one more: the
// values, and their scale, are the same; only the bound is looser.
func bigQueryPrecision(col schemas.Column) int64 {
	return int64(max(col.Precision, col.Scale+1))
}

// SchemaChangeError is a BigQuery table whose columns the contract removed
// or retyped: loading would lose data analysts rely on, so it is refused
// before any load, for a person to decide.
type SchemaChangeError struct {
	Table   string
	Changes []string
}

func (e *SchemaChangeError) Error() string {
	return fmt.Sprintf("BigQuery table %s no longer matches its contract: %s; change or recreate the table deliberately", e.Table, strings.Join(e.Changes, "; "))
}

// diffSchema returns the fields of want that have is missing (additions are
// safe), or a *SchemaChangeError when have has fields want removed or
// retyped.
func diffSchema(table string, have, want bigquery.Schema) (bigquery.Schema, error) {
	byName := map[string]*bigquery.FieldSchema{}
	for _, f := range have {
		byName[f.Name] = f
	}
	wanted := map[string]bool{}
	var added bigquery.Schema
	var changes []string
	for _, f := range want {
		wanted[f.Name] = true
		h, ok := byName[f.Name]
		switch {
		case !ok:
			added = append(added, f)
		case h.Type != f.Type || h.Repeated != f.Repeated:
			changes = append(changes, fmt.Sprintf("column %s is %s in BigQuery, the contract says %s", f.Name, h.Type, f.Type))
		}
	}
	for _, f := range have {
		if !wanted[f.Name] {
			changes = append(changes, fmt.Sprintf("column %s is not in the contract any more", f.Name))
		}
	}
	if len(changes) > 0 {
		return nil, &SchemaChangeError{Table: table, Changes: changes}
	}
	return added, nil
}
