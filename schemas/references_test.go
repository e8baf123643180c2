package schemas_test

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// Every reference points at an entity of the same source, at its
// one-column primary key, of the same type: the LookML joins along references as
// many-to-one, which holds only when the column pointed at is unique.
// A reference column carries no PII, so that it reaches BigQuery under
// either policy and the joins work there.
func TestReferencesPointAtAPrimaryKeyOfTheSameType(t *testing.T) {
	t.Parallel()
	var n int
	for _, c := range schemas.All() {
		for _, col := range c.Columns {
			entity, column, ok := col.Referenced()
			if !ok {
				require.Empty(t, col.References, "%s.%s", c.Entity, col.Name)
				continue
			}
			n++
			target, err := schemas.Lookup(entity)
			require.NoError(t, err, "%s.%s references %s", c.Entity, col.Name, col.References)
			to, ok := target.Column(column)
			require.True(t, ok, "%s.%s references %s, which is not a column", c.Entity, col.Name, col.References)
			require.Equal(t, to.Type, col.Type, "%s.%s references %s of another type", c.Entity, col.Name, col.References)
			require.Equal(t, c.Source, target.Source, "%s.%s references %s in another source, whose ids are unrelated", c.Entity, col.Name, col.References)
			require.Equal(t, []string{column}, target.PrimaryKey, "%s.%s references %s, which is not %s's primary key", c.Entity, col.Name, col.References, entity)
			require.Equal(t, schemas.PIINone, col.PII, "%s.%s is a reference and must reach BigQuery under every PII policy", c.Entity, col.Name)
			require.Empty(t, col.Labels, "%s.%s", c.Entity, col.Name)
		}
	}
	require.Positive(t, n)
}

// namedKey finds "(entity.column)" in a description: how the contracts
// say where a key points.
var namedKey = regexp.MustCompile(`\(([a-z_]+)\.([a-z_]+)\)`)

// A description that says a column points at another entity's primary key
// has the reference to go with it, so that the two cannot drift apart.
// Keys into tables nightshift does not copy (allocation_subjects,
// active_lead_provider_bands) stay without one, and so do Register's
// schools: the schools entity is RECT's, whose ids are unrelated.
func TestDescribedKeysHaveTheirReference(t *testing.T) {
	t.Parallel()
	for _, c := range schemas.All() {
		for _, col := range c.Columns {
			for _, m := range namedKey.FindAllStringSubmatch(col.Description, -1) {
				target, err := schemas.Lookup(m[1])
				if err != nil || target.Source != c.Source || len(target.PrimaryKey) != 1 || target.PrimaryKey[0] != m[2] {
					continue
				}
				require.Equal(t, m[1]+"."+m[2], col.References, "%s.%s says it points at %s.%s", c.Entity, col.Name, m[1], m[2])
			}
		}
	}
	trainees, err := schemas.Lookup("trainees")
	require.NoError(t, err)
	school, _ := trainees.Column("employing_school_id")
	require.Empty(t, school.References, "Register's schools are not the schools entity (RECT's)")
}

func TestValidateRefusesAMalformedReference(t *testing.T) {
	t.Parallel()
	c := schemas.Trainees
	c.Columns = append([]schemas.Column(nil), c.Columns...)
	c.Columns[0].References = "providers"
	require.ErrorContains(t, c.Validate(), `column id references "providers", which is not entity.column`)
}
