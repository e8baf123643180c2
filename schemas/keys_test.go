package schemas_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// A key is as personal as the column it names; what names no column
// nightshift knows is personal.
func TestJSONKeysAreClassifiedByTheColumnTheyName(t *testing.T) {
	t.Parallel()
	changes, ok := schemas.Audits.Column("audited_changes")
	require.True(t, ok)
	metadata, ok := schemas.Events.Column("metadata")
	require.True(t, ok)
	for _, tc := range []struct {
		keys      *schemas.Keys
		typ, key  string
		want      schemas.PII
		wantKnown bool
	}{
		{changes.Keys, "Trainee", "state", schemas.PIINone, true},
		{changes.Keys, "Trainee", "first_names", schemas.PIIPersonal, true},
		{changes.Keys, "Trainee", "ethnic_group", schemas.PIISpecial, true},
		{changes.Keys, "Trainee", "searchable", schemas.PIIPersonal, false}, // ignored by the contract
		{changes.Keys, "Trainee", "a_column_added_tomorrow", schemas.PIIPersonal, false},
		{changes.Keys, "Provider", "name", schemas.PIINone, true},
		{changes.Keys, "Degree", "subject", schemas.PIIPersonal, false}, // no contract
		{changes.Keys, "User", "state", schemas.PIIPersonal, false},     // a trainee's column, of another type
		{changes.Keys, "", "state", schemas.PIIPersonal, false},
		{metadata.Keys, "", "started_on", schemas.PIINone, true},
		{metadata.Keys, "", "email", schemas.PIIPersonal, true}, // the periods' email
		{metadata.Keys, "", "trs_first_name", schemas.PIIPersonal, true},
		{metadata.Keys, "", "mentee_id", schemas.PIIPersonal, false},
	} {
		_, got, known := tc.keys.Classify(tc.typ, tc.key)
		require.Equal(t, tc.want, got, "%s %s", tc.typ, tc.key)
		require.Equal(t, tc.wantKnown, known, "%s %s", tc.typ, tc.key)
	}
	require.Contains(t, changes.Keys.Describe(), "auditable_type Trainee → trainees")
}
