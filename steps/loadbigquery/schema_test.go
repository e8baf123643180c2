package loadbigquery

import (
	"testing"

	"cloud.google.com/go/bigquery"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
)

func TestSchemaChangesAddedPassRemovedOrRetypedAreRefused(t *testing.T) {
	t.Parallel()
	want := tableSchema(&schemas.Trainees, PIIHash)
	added, err := diffSchema("ds.trainees", want[:len(want)-2], want)
	require.NoError(t, err)
	require.Len(t, added, 2, "a column added to the contract is added to the table")

	have := append(bigquery.Schema{}, want...)
	have = append(have, &bigquery.FieldSchema{Name: "legacy_code", Type: bigquery.StringFieldType})
	retyped := *have[0]
	retyped.Type = bigquery.StringFieldType
	have[0] = &retyped
	_, err = diffSchema("ds.trainees", have, want)
	var change *SchemaChangeError
	require.ErrorAs(t, err, &change)
	require.Contains(t, err.Error(), "column id is STRING in BigQuery, the contract says INTEGER")
	require.Contains(t, err.Error(), "column legacy_code is not in the contract any more")
	require.Equal(t, pipeline.Permanent, pipeline.Classify(pipeline.MarkPermanent(err)))
}

func TestPIIPolicyShapesTheSchema(t *testing.T) {
	t.Parallel()
	names := func(s bigquery.Schema) map[string]string {
		out := map[string]string{}
		for _, f := range s {
			out[f.Name] = string(f.Type)
		}
		return out
	}
	hashed := names(tableSchema(&schemas.Trainees, PIIHash))
	require.Equal(t, "STRING", hashed["date_of_birth"], "a hashed date is a string")
	require.Equal(t, "STRING", hashed["ethnic_group"])
	require.Equal(t, "DATE", hashed["itt_start_date"])
	dropped := names(tableSchema(&schemas.Trainees, PIIDrop))
	for _, col := range []string{"first_names", "last_name", "email", "trn", "date_of_birth", "ethnic_group", "ethnic_group_name", "sex"} {
		require.NotContains(t, dropped, col)
	}
	require.Contains(t, dropped, "state_name")
}
