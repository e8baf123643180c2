package lookml

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/schemas"
)

func testResolver(t *testing.T, p Policy) *resolver {
	t.Helper()
	r := &resolver{contracts: map[string]*schemas.Contract{}, views: map[string]*view{}, policy: p}
	opts := Options{Connection: "c", Dataset: "d", PII: p}
	for _, c := range schemas.All() {
		r.contracts[c.Entity] = c
		if c.History {
			r.history = append(r.history, c)
		}
		v, err := newView(entityTable(c), opts)
		require.NoError(t, err)
		r.views[c.Entity] = v
	}
	return r
}

// An explore can only follow keys the contracts declare, in the direction
// they point, and names every view it joins twice.
func TestExploresFollowOnlyDeclaredReferences(t *testing.T) {
	t.Parallel()
	r := testResolver(t, Hash)
	for _, tc := range []struct {
		spec exploreSpec
		want string
	}{
		{exploreSpec{base: "trainees", joins: []joinSpec{follow("trainees", "employing_school_id")}}, "trainees.employing_school_id references nothing"},
		{exploreSpec{base: "trainees", joins: []joinSpec{follow("trainees", "no_such_column")}}, "trainees has no column no_such_column"},
		{exploreSpec{base: "providers", joins: []joinSpec{collect("providers", "trainees.start_academic_cycle_id")}}, `trainees.start_academic_cycle_id references "academic_cycles.id", not providers`},
		{exploreSpec{base: "trainees", joins: []joinSpec{follow("trainees", "start_academic_cycle_id"), follow("trainees", "end_academic_cycle_id")}}, "two joins are called academic_cycles"},
		{exploreSpec{base: "trainees", joins: []joinSpec{follow("providers", "id")}}, "hangs off providers, which is not in the explore yet"},
		{exploreSpec{base: "providers", joins: []joinSpec{statusesOf("providers")}}, "no statuses entity describes providers"},
		{exploreSpec{base: "nope"}, "nope is not an entity"},
	} {
		_, err := r.explore(tc.spec)
		require.ErrorContains(t, err, tc.want)
	}
}

// A join along a key the policy dropped is refused, naming the policy.
func TestAJoinNeedsItsFieldsUnderThePolicy(t *testing.T) {
	t.Parallel()
	r := testResolver(t, Drop)
	_, err := r.ref("trainees", "trainees", "trn")
	require.ErrorContains(t, err, "trainees has no field trn under the drop policy")
}

// A dimension group takes the short name unless a field has it; two
// fields of one name are refused.
func TestFieldNamesNeverClash(t *testing.T) {
	t.Parallel()
	opts := Options{Connection: "c", Dataset: "d", PII: Hash}
	col := func(name string, typ schemas.Type) schemas.Column {
		return schemas.Column{Name: name, Type: typ, Description: name}
	}
	v, err := newView(Table{Name: "t", PrimaryKey: []string{"id"}, Columns: []schemas.Column{
		col("id", schemas.Int64), col("created_at", schemas.Timestamp), col("created_date", schemas.Text), col("updated_at", schemas.Timestamp),
	}}, opts)
	require.NoError(t, err)
	require.True(t, v.names["created_at_date"], "created_date is taken, so the group keeps its column's name")
	require.True(t, v.names["updated_date"])
	require.Equal(t, "created_at_date", v.byColumn["created_at"])

	_, err = newView(Table{Name: "t", PrimaryKey: []string{"id"}, Columns: []schemas.Column{col("id", schemas.Int64), col("count", schemas.Int64)}}, opts)
	require.ErrorContains(t, err, "two fields are called count")

	_, err = newView(Table{Name: "t", PrimaryKey: []string{"email"}, Columns: []schemas.Column{
		{Name: "email", Type: schemas.Text, PII: schemas.PIIPersonal, Description: "e"},
	}}, Options{Connection: "c", Dataset: "d", PII: Drop})
	require.ErrorContains(t, err, "primary key column email is not in BigQuery under the drop policy")
}

func TestOptionsAreValidated(t *testing.T) {
	t.Parallel()
	err := Options{Connection: `bad"name`, Dataset: "a.b.c", PII: "mask"}.Validate()
	require.ErrorContains(t, err, `connection "bad\"name" must be a Looker connection name`)
	require.ErrorContains(t, err, `dataset "a.b.c" must be dataset or project.dataset`)
	require.ErrorContains(t, err, `pii must be hash or drop, not "mask"`)
	require.NoError(t, Options{Connection: "nightshift_bigquery", Dataset: "my-project.teacher_training", PII: Drop}.Validate())
	_, err = Generate(schemas.All(), Options{Connection: "c", Dataset: "d", PII: Hash, Tables: []Table{RunsTable("trainees")}})
	require.ErrorContains(t, err, "two tables are called trainees")
	_, err = Generate(schemas.All(), Options{Connection: "c", Dataset: "d", PII: Hash, Tables: []Table{RunsTable("runs`; DROP")}})
	require.ErrorContains(t, err, "must be a lower-case identifier")
}
