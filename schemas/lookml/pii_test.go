package lookml_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/schemas/lookml"
)

// Under hash, every personal or special-category column (a derived _name
// of a PII code included) is a hidden string dimension labelled
// pseudonymised, whose description says what it is good for; under drop it
// is nowhere in the LookML. Every field an analyst sees is PII-free under
// both.
func TestPIIIsHiddenWhenHashedAndAbsentWhenDropped(t *testing.T) {
	t.Parallel()
	for _, p := range policies {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			proj := parseProject(t, generate(t, p))
			var pii int
			for _, c := range schemas.All() {
				v, ok := proj.views[c.Entity]
				require.True(t, ok, c.Entity)
				text := proj.files[c.Entity+".view.lkml"]
				visible := map[string]bool{}
				for _, col := range c.Fields() {
					f, present := v.fields[col.Name]
					if col.PII == schemas.PIINone {
						require.True(t, present || v.fields[groupDay(v, col.Name)] != nil, "%s.%s", c.Entity, col.Name)
						continue
					}
					pii++
					if p == lookml.Drop {
						require.False(t, present, "%s.%s is dropped from BigQuery", c.Entity, col.Name)
						require.NotRegexp(t, regexp.MustCompile(`\$\{TABLE\}\.`+col.Name+`\b`), text, "%s.%s is dropped from BigQuery", c.Entity, col.Name)
						continue
					}
					require.True(t, present, "%s.%s is hashed, not dropped", c.Entity, col.Name)
					require.Equal(t, "dimension", f.key, "%s.%s: a hashed date is a string", c.Entity, col.Name)
					require.Equal(t, "yes", f.get("hidden"), "%s.%s", c.Entity, col.Name)
					require.Equal(t, "string", f.get("type"), "%s.%s", c.Entity, col.Name)
					require.True(t, strings.HasSuffix(f.get("label"), " (pseudonymised)"), "%s.%s: %q", c.Entity, col.Name, f.get("label"))
					require.Contains(t, f.get("description"), "HMAC-SHA256", "%s.%s", c.Entity, col.Name)
					require.Contains(t, f.get("description"), "only to join or to count distinct values", "%s.%s", c.Entity, col.Name)
				}
				for _, f := range v.node.children {
					if f.get("hidden") != "yes" && f.key != "sql_table_name" {
						visible[f.name] = true
					}
				}
				for _, col := range c.Fields() {
					if col.PII != schemas.PIINone {
						require.False(t, visible[col.Name], "%s.%s is PII and must not be visible", c.Entity, col.Name)
					}
				}
			}
			require.Positive(t, pii)
		})
	}
}

// An analyst sees an enum by its name, labelled as the column, with the
// codes in its description; the code itself is hidden.
func TestEnumsShowTheirNames(t *testing.T) {
	t.Parallel()
	proj := parseProject(t, generate(t, lookml.Hash))
	v := proj.views["trainees"]
	state, name := v.fields["state"], v.fields["state_name"]
	require.Equal(t, "yes", state.get("hidden"))
	require.Equal(t, "number", state.get("type"))
	require.Empty(t, name.get("hidden"))
	require.Equal(t, "State", name.get("label"))
	require.Contains(t, name.get("description"), "Codes: 0 draft, 1 submitted_for_trn, 2 trn_received")
	require.Equal(t, "dimension_group", v.fields["itt_start_date"].key, "a date is a dimension group")
	require.Equal(t, "date", v.fields["itt_start_date"].get("datatype"))
	require.Equal(t, "decimal_2", proj.views["contract_banded_fee_structures"].fields["setup_fee"].get("value_format_name"))
	require.Equal(t, "decimal_4", proj.views["contract_banded_fee_structures"].fields["uplift_target_ratio"].get("value_format_name"))
	require.Equal(t, "string", v.fields["applying_for_bursary"].get("type"), "a nullable boolean keeps unknown apart from No")
	require.Equal(t, "yesno", v.fields["created_from_dttp"].get("type"))
	require.Equal(t, "yes", proj.views["register_statuses"].fields["compound_primary_key"].get("primary_key"))
}

// groupDay is the day field of a date or timestamp column's group.
func groupDay(v *parsedView, column string) string {
	for name, f := range v.fields {
		if f.key == "dimension_group" && f.name == name && strings.Contains(f.get("sql"), "${TABLE}."+column) && strings.HasSuffix(f.get("sql"), "."+column) {
			return name + "_date"
		}
	}
	return ""
}
