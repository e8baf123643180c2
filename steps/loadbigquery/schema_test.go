package loadbigquery

import (
	"fmt"
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

// Decimals keep their precision and scale in BigQuery, as NUMERIC while
// it holds them (29 digits before the point, 9 after) and BIGNUMERIC
// beyond; one without a digit before the point gets one, which BigQuery
// requires.
func TestDecimalsKeepTheirPrecisionAndScale(t *testing.T) {
	t.Parallel()
	c := &schemas.Contract{Entity: "d", Columns: []schemas.Column{
		{Name: "money", Type: schemas.Numeric, Precision: 12, Scale: 2},
		{Name: "widest_numeric", Type: schemas.Numeric, Precision: 38, Scale: 9},
		{Name: "fine", Type: schemas.Numeric, Precision: 38, Scale: 10},
		{Name: "ratio", Type: schemas.Numeric, Precision: 4, Scale: 4},
		{Name: "tiny", Type: schemas.Numeric, Precision: 12, Scale: 12},
		{Name: "secret", Type: schemas.Numeric, Precision: 12, Scale: 2, PII: schemas.PIIPersonal},
	}}
	got := map[string]string{}
	for _, f := range tableSchema(c, PIIHash) {
		got[f.Name] = fmt.Sprintf("%s(%d,%d)", f.Type, f.Precision, f.Scale)
	}
	require.Equal(t, map[string]string{
		"money": "NUMERIC(12,2)", "widest_numeric": "NUMERIC(38,9)", "fine": "BIGNUMERIC(38,10)",
		"ratio": "NUMERIC(5,4)", "tiny": "BIGNUMERIC(13,12)", "secret": "STRING(0,0)",
	}, got)
}
