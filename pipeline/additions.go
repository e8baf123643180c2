package pipeline

import (
	"fmt"
	"strings"
)

// Additions is what a run's preflight found in its sources that the
// contracts do not know of and that did not stop the run: each source's
// schema version against the one its contracts were last checked against
// upstream, and per entity the source columns it does not read and the
// types that changed but still convert losslessly. None of it changes what
// is loaded; it is what the contracts have to catch up with, so it is kept
// with the run (nightshift.runs.additions) and shown wherever the run is,
// not only in a log line nobody reads.
type Additions struct {
	Sources  []SourceVersion   `json:"sources"`
	Entities []EntityAdditions `json:"entities,omitempty"`
}

// SourceVersion is one source's schema_migrations version at the run, and
// the upstream schema.rb version its contracts were checked against ("" for
// a source nobody checked).
type SourceVersion struct {
	Source         string `json:"source"`
	Version        string `json:"version"`
	CheckedAgainst string `json:"checked_against,omitempty"`
	// Newer says the source has migrations past CheckedAgainst.
	Newer bool `json:"newer"`
}

// EntityAdditions are the additions the preflight found for one entity.
type EntityAdditions struct {
	Entity      string       `json:"entity"`
	Source      string       `json:"source"`
	NewColumns  []NewColumn  `json:"new_columns,omitempty"`
	TypeChanges []TypeChange `json:"type_changes,omitempty"`
	// MoreColumns and MoreTypeChanges count what a shortened copy
	// (Capped, for notifications) left out of the lists; the ledger keeps
	// every item, and these at zero.
	MoreColumns     int `json:"new_columns_more,omitempty"`
	MoreTypeChanges int `json:"type_changes_more,omitempty"`
}

// NewColumn is a source column no contract reads or ignores.
type NewColumn struct {
	Table  string `json:"table"`
	Column string `json:"column"`
	Type   string `json:"type"`
}

// TypeChange is a column whose source type is not the contract's but
// converts to it without loss.
type TypeChange struct {
	Table    string `json:"table"`
	Column   string `json:"column"`
	Contract string `json:"contract_type"`
	Found    string `json:"source_type"`
}

// Newer are the sources past the version their contracts were checked
// against.
func (a *Additions) Newer() []SourceVersion {
	if a == nil {
		return nil
	}
	var out []SourceVersion
	for _, s := range a.Sources {
		if s.Newer {
			out = append(out, s)
		}
	}
	return out
}

// Count is how many additions there are: newer sources, new columns and
// type changes.
func (a *Additions) Count() int {
	if a == nil {
		return 0
	}
	n := len(a.Newer())
	for _, e := range a.Entities {
		n += len(e.NewColumns) + e.MoreColumns + len(e.TypeChanges) + e.MoreTypeChanges
	}
	return n
}

// Any says whether there is anything to report.
func (a *Additions) Any() bool { return a.Count() > 0 }

// Capped is a copy whose lists hold at most n items per entity, the rest
// counted: a notification stays short when a table gains fifty columns.
func (a *Additions) Capped(n int) *Additions {
	if a == nil {
		return nil
	}
	out := &Additions{Sources: a.Sources}
	for _, e := range a.Entities {
		if len(e.NewColumns) > n {
			e.MoreColumns += len(e.NewColumns) - n
			e.NewColumns = e.NewColumns[:n:n]
		}
		if len(e.TypeChanges) > n {
			e.MoreTypeChanges += len(e.TypeChanges) - n
			e.TypeChanges = e.TypeChanges[:n:n]
		}
		out.Entities = append(out.Entities, e)
	}
	return out
}

// Lines tells the additions in sentences: one per newer source, then per
// entity one for its new columns and one for its type changes. limit caps
// the items each sentence lists ("and 4 more"); 0 lists them all.
func (a *Additions) Lines(limit int) []string {
	if a == nil {
		return nil
	}
	var out []string
	for _, s := range a.Newer() {
		out = append(out, fmt.Sprintf("source %s is at schema version %s, newer than %s that the contracts were checked against",
			s.Source, s.Version, s.CheckedAgainst))
	}
	for _, e := range a.Entities {
		if n := len(e.NewColumns) + e.MoreColumns; n > 0 {
			items := make([]string, len(e.NewColumns))
			for i, c := range e.NewColumns {
				items[i] = fmt.Sprintf("%s.%s (%s)", c.Table, c.Column, c.Type)
			}
			out = append(out, fmt.Sprintf("%s: %s: %s", e.Entity, plural(n, "new source column", "new source columns"), list(items, n, limit)))
		}
		if n := len(e.TypeChanges) + e.MoreTypeChanges; n > 0 {
			items := make([]string, len(e.TypeChanges))
			for i, c := range e.TypeChanges {
				items[i] = fmt.Sprintf("%s.%s is %s, the contract says %s", c.Table, c.Column, c.Found, c.Contract)
			}
			out = append(out, fmt.Sprintf("%s: %s: %s", e.Entity, plural(n, "compatible type change", "compatible type changes"), list(items, n, limit)))
		}
	}
	return out
}

// plural counts things in words: "new source column", "3 new source
// columns".
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// list joins the first limit of items (all when limit is 0), and says how
// many of total it left out.
func list(items []string, total, limit int) string {
	if limit > 0 && len(items) > limit {
		items = items[:limit]
	}
	s := strings.Join(items, ", ")
	if more := total - len(items); more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}
