package schemas

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Keys classifies the keys of a JSON object column whose keys are the
// columns of another entity: Register's audits.audited_changes (the
// columns of the audited row, by auditable_type) and RECT's events.metadata
// (the changes an event records, of a teacher or one of their periods). A
// key is as personal as the column it names, so that BigQuery gets a
// person's name inside a JSON value no more than in the column itself:
// the loader hashes or drops each personal key by the same PII policy, and
// with the same HMAC of the same text, as it does the column.
//
// What cannot be classified counts as personal. Both services write these
// objects from whatever the model holds, so a key nobody has read — a
// column a contract ignores, a column added since, any key of a table
// nightshift does not copy (degrees, users, placements) — may hold a name
// or an email. The other rule, keeping every key that is no personal
// column of any contract, would let a users.first_name or a
// degrees.institution through because no contract has them.
type Keys struct {
	// By names the sibling column whose value says which entity's columns
	// the keys are (auditable_type); empty when no column says (events).
	By string
	// Of maps a value of By to that entity (Trainee → trainees).
	Of map[string]string
	// Otherwise lists the entities a key may be a column of when By says
	// nothing nightshift knows: such a key is kept only if it is a column
	// of one of them and personal in none. Empty: every such key is
	// personal.
	Otherwise []string
	// Changes says each value is either a value (a create or destroy) or
	// an [old, new] pair (an update), as the audited gem and Rails'
	// saved_changes write them; a hashed pair keeps its shape, each element
	// hashed.
	Changes bool
}

// Classify is how personal the value under key is when By's value is typ;
// col is the column key names, for the hash to read the value as that
// column's type (known false when the key names none nightshift knows).
func (k *Keys) Classify(typ, key string) (col Column, class PII, known bool) {
	if entity, ok := k.Of[typ]; ok && k.By != "" {
		c, err := Lookup(entity)
		if err != nil {
			return Column{}, PIIPersonal, false
		}
		if col, ok := c.sourceColumn(key); ok {
			return col, col.PII, true
		}
		return Column{}, PIIPersonal, false
	}
	for _, entity := range k.Otherwise {
		c, err := Lookup(entity)
		if err != nil {
			return Column{}, PIIPersonal, false
		}
		if found, ok := c.sourceColumn(key); ok {
			if found.PII != PIINone {
				return found, found.PII, true
			}
			if !known {
				col, known = found, true
			}
		}
	}
	if known {
		return col, PIINone, true
	}
	return Column{}, PIIPersonal, false
}

// sourceColumn is the column read from the source column called name (the
// keys of a changes object are the source's names).
func (c *Contract) sourceColumn(name string) (Column, bool) {
	i := slices.IndexFunc(c.Columns, func(col Column) bool { return col.SourceColumn() == name })
	if i < 0 {
		return Column{}, false
	}
	return c.Columns[i], true
}

// Describe says, for the data dictionary, BigQuery and Looker, how the
// keys are classified.
func (k *Keys) Describe() string {
	var b strings.Builder
	b.WriteString("Keys are classified by the column they name: ")
	if k.By != "" {
		var of []string
		for _, typ := range slices.Sorted(maps.Keys(k.Of)) {
			of = append(of, fmt.Sprintf("%s %s → %s", k.By, typ, k.Of[typ]))
		}
		b.WriteString(strings.Join(of, ", ") + "; ")
	}
	if len(k.Otherwise) > 0 {
		b.WriteString("the columns of " + strings.Join(k.Otherwise, ", ") + " (a key personal in any of them is personal); ")
	}
	b.WriteString("in BigQuery a personal or special-category key is hashed like its column (HMAC-SHA256 of the value's text")
	if k.Changes {
		b.WriteString(", each of an [old, new] pair")
	}
	b.WriteString(") or left out, by the PII policy, and any key that names no column nightshift knows counts as personal.")
	if k.By != "" {
		b.WriteString(" So does every key of another " + k.By + ".")
	}
	return b.String()
}

// validate lists what is wrong with the keys of column col of c.
func (k *Keys) validate(c *Contract, col Column) []string {
	var bad []string
	if col.Type != JSON {
		bad = append(bad, fmt.Sprintf("column %s classifies JSON keys but is %s", col.Name, col.Type))
	}
	if k.By != "" {
		if by, ok := c.Column(k.By); !ok || by.Type != Text || by.PII != PIINone {
			bad = append(bad, fmt.Sprintf("column %s's keys are classified by %s, which is not a text column free of PII", col.Name, k.By))
		}
	}
	if (k.By == "") != (len(k.Of) == 0) {
		bad = append(bad, fmt.Sprintf("column %s: keys By a column need the entities its values name (Of), and Of needs By", col.Name))
	}
	for _, entity := range append(slices.Sorted(maps.Values(k.Of)), k.Otherwise...) {
		target, err := Lookup(entity)
		switch {
		case err != nil:
			bad = append(bad, fmt.Sprintf("column %s's keys name entity %s, which is not under contract", col.Name, entity))
		case target.Source != c.Source:
			bad = append(bad, fmt.Sprintf("column %s's keys name entity %s of another source", col.Name, entity))
		}
	}
	return bad
}
