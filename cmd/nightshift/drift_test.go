package main

import (
	"maps"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// driftColumns picks, for a contract, a column it reads that can be
// renamed, and one it declares NOT NULL that is not its key (or "").
func driftColumns(c *schemas.Contract) (table, renamed, notNull string) {
	if c.Query != "" {
		// The first table it reads by name: the same one every run.
		t := slices.Sorted(maps.Keys(c.Reads))[0]
		return t, c.Reads[t][0], ""
	}
	for _, col := range c.Columns {
		if col.Derived() || col.SourceColumn() == c.PrimaryKey[0] {
			continue
		}
		if renamed == "" {
			renamed = col.SourceColumn()
		}
		if notNull == "" && !col.Nullable {
			notNull = col.SourceColumn()
		}
	}
	return c.Table, renamed, notNull
}

// nightshift check refuses, naming the column, every way a source can drift
// from any contract: a column renamed (or removed), a NOT NULL column made
// nullable, and a table whose SELECT privilege was revoked — for every
// contract, against the sources as a read-only role sees them.
func TestCheckRefusesEveryDriftOfEveryContract(t *testing.T) {
	t.Parallel()
	p := newRFReader(t)
	r := cli(t, nil, "--config", p.config, "check")
	require.Equal(t, exitOK, r.code, "the sources match the contracts to begin with: %s%s", r.stdout, r.stderr)
	role := pgx.Identifier{p.role}.Sanitize()
	nullable := 0
	for _, c := range schemas.All() {
		table, column, notNull := driftColumns(c)
		owner := p.owner.of(c)
		quoted, col := pgx.Identifier{table}.Sanitize(), pgx.Identifier{column}.Sanitize()
		drifts := []struct {
			name, do, undo, want string
		}{
			{"renamed", "ALTER TABLE " + quoted + " RENAME COLUMN " + col + " TO drifted",
				"ALTER TABLE " + quoted + " RENAME COLUMN drifted TO " + col, "table " + table + " has no column " + column},
			{"revoked", "REVOKE SELECT ON " + quoted + " FROM " + role,
				"GRANT SELECT ON " + quoted + " TO " + role, "no privilege to read column " + table + "."},
		}
		if notNull != "" {
			nullable++
			nn := pgx.Identifier{notNull}.Sanitize()
			drifts = append(drifts, struct{ name, do, undo, want string }{"made nullable",
				"ALTER TABLE " + quoted + " ALTER COLUMN " + nn + " DROP NOT NULL",
				"ALTER TABLE " + quoted + " ALTER COLUMN " + nn + " SET NOT NULL",
				"column " + table + "." + notNull + " allows NULL"})
		}
		for _, d := range drifts {
			rfExec(t, owner, d.do)
			r := cli(t, nil, "--config", p.config, "check")
			rfExec(t, owner, d.undo)
			require.Equal(t, exitRefused, r.code, "%s: %s %s.%s: %s", c.Entity, d.name, table, column, r.stderr)
			require.Contains(t, r.stdout, d.want, "%s: %s", c.Entity, d.name)
		}
	}
	require.Positive(t, nullable, "at least one contract declares a non-key column NOT NULL")
	r = cli(t, nil, "--config", p.config, "check")
	require.Equal(t, exitOK, r.code, "every drift was undone: %s", r.stdout)
}
