package schemas_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// The tables that grow with people and events are partitioned, coarsely
// enough that a whole-table load never modifies more than 4,000
// partitions; the reference tables are not; every choice says why.
func TestEveryEntityHasItsBigQueryLayout(t *testing.T) {
	t.Parallel()
	partitioned := map[string]string{
		"trainees": "month of `itt_start_date`", "teachers": "ranges of `id`, 0 to 10000000 in steps of 100000",
		"ect_at_school_periods": "month of `started_on`", "mentor_at_school_periods": "month of `started_on`",
		"mentorship_periods": "month of `started_on`", "induction_periods": "month of `started_on`",
		"training_periods": "month of `started_on`", "declarations": "month of `declaration_date`",
		"register_statuses": "ranges of `entity_id`, 0 to 100000000 in steps of 1000000",
		"rect_statuses":     "ranges of `entity_id`, 0 to 100000000 in steps of 1000000",
		"audits":            "month of `created_at`", "events": "month of `happened_at`",
	}
	// Nullable in the source, NULL in practice never (audits.created_at is
	// set by the gem, events.happened_at by a column default) or, for
	// trainees, only on drafts.
	mayBeNull := map[string]bool{"trainees": true, "audits": true, "events": true}
	for _, c := range schemas.All() {
		require.NotEmpty(t, c.BigQuery.Why, c.Entity)
		want, big := partitioned[c.Entity]
		if !big {
			require.Nil(t, c.BigQuery.Partition, "%s is a small reference table", c.Entity)
			continue
		}
		require.NotNil(t, c.BigQuery.Partition, c.Entity)
		require.Equal(t, want, c.BigQuery.Partition.String(), c.Entity)
		require.NotEmpty(t, c.BigQuery.Cluster, "%s: a big table is clustered by what analysts filter on", c.Entity)
		col, ok := c.Column(c.BigQuery.Partition.Column)
		require.True(t, ok)
		require.False(t, col.Nullable && !mayBeNull[c.Entity], "%s partitions by %s, which is never NULL", c.Entity, col.Name)
	}
	require.Equal(t, []string{"provider_id", "training_route_name", "state_name"}, schemas.Trainees.BigQuery.Cluster)
}

func TestValidateRefusesALayoutBigQueryCannotHold(t *testing.T) {
	t.Parallel()
	base := func(l schemas.Layout) *schemas.Contract {
		return &schemas.Contract{
			Entity: "events", Description: "Events.", Source: "rect", Table: "events", Mode: schemas.Full,
			MinSchemaVersion: "20260603140320", PrimaryKey: []string{"id"}, BigQuery: l,
			Columns: []schemas.Column{
				{Name: "id", SourceType: "int8", Type: schemas.Int64, Description: "Id."},
				{Name: "happened_on", SourceType: "date", Type: schemas.Date, Description: "Day."},
				{Name: "born_on", SourceType: "date", Type: schemas.Date, Nullable: true, PII: schemas.PIIPersonal, Description: "Birthday."},
				{Name: "kind", SourceType: "int4", Type: schemas.Int32, Description: "Kind.", Labels: map[int]string{1: "one"}},
				{Name: "name", SourceType: "text", Type: schemas.Text, Description: "Name."},
				{Name: "score", SourceType: "float8", Type: schemas.Float64, Description: "Score."},
				{Name: "doc", SourceType: "jsonb", Type: schemas.JSON, Description: "Doc."},
			},
		}
	}
	ok := schemas.Layout{Partition: &schemas.Partition{Column: "happened_on", By: schemas.ByMonth}, Cluster: []string{"kind_name", "name"}, Why: "Because."}
	require.NoError(t, base(ok).Validate(), "a derived _name column can cluster")
	require.NoError(t, base(schemas.Layout{Why: "Small."}).Validate())
	require.NoError(t, base(schemas.Layout{Partition: &schemas.Partition{Column: "id", Range: &schemas.IntegerRange{End: 4000, Interval: 1}}, Why: "Ids."}).Validate())

	for want, l := range map[string]schemas.Layout{
		"needs a Why":                               {},
		"partition column nope is not a column":     {Partition: &schemas.Partition{Column: "nope", By: schemas.ByMonth}, Why: "x"},
		"partition column born_on is personal data": {Partition: &schemas.Partition{Column: "born_on", By: schemas.ByYear}, Why: "x"},
		"partition column name is text: time":       {Partition: &schemas.Partition{Column: "name", By: schemas.ByMonth}, Why: "x"},
		"partition column happened_on is date: integer ranges need an integer": {
			Partition: &schemas.Partition{Column: "happened_on", Range: &schemas.IntegerRange{End: 10, Interval: 1}}, Why: "x"},
		"either by time (By) or by integer ranges": {Partition: &schemas.Partition{Column: "id"}, Why: "x"},
		"can give 73049 partitions":                {Partition: &schemas.Partition{Column: "happened_on", By: schemas.ByDay}, Why: "x"},
		"can give 4001 partitions":                 {Partition: &schemas.Partition{Column: "id", Range: &schemas.IntegerRange{End: 4001, Interval: 1}}, Why: "x"},
		"range 10 to 0 in steps of 1 is empty":     {Partition: &schemas.Partition{Column: "id", Range: &schemas.IntegerRange{Start: 10, Interval: 1}}, Why: "x"},
		`partitions by "WEEK"`:                     {Partition: &schemas.Partition{Column: "happened_on", By: "WEEK"}, Why: "x"},
		"at most 4 columns, not 5":                 {Cluster: []string{"id", "happened_on", "kind", "kind_name", "name"}, Why: "x"},
		"names id twice":                           {Cluster: []string{"id", "id"}, Why: "x"},
		"cannot cluster by score, a float64":       {Cluster: []string{"score"}, Why: "x"},
		"cannot cluster by doc, a json":            {Cluster: []string{"doc"}, Why: "x"},
		"clustering column born_on is personal":    {Cluster: []string{"born_on"}, Why: "x"},
		"clustering column nope is not a column":   {Cluster: []string{"nope"}, Why: "x"},
	} {
		err := base(l).Validate()
		require.Error(t, err, want)
		require.Contains(t, err.Error(), want)
	}
}

func TestDictionaryShowsEachTablesLayout(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	require.NoError(t, schemas.WriteDictionary(&b, schemas.All()))
	doc := b.String()
	for _, c := range schemas.All() {
		_, section, found := strings.Cut(doc, "\n## "+c.Entity+"\n")
		require.True(t, found)
		section, _, _ = strings.Cut(section, "\n## ")
		require.Contains(t, section, "BigQuery: "+c.BigQuery.Describe()+". ", c.Entity)
	}
	require.Contains(t, doc, "BigQuery: partitioned by month of `declaration_date`, clustered by `payment_statement_id`, "+
		"`declaration_type`, `payment_status`, `training_period_id`. ")
	require.Contains(t, doc, "BigQuery: not partitioned, not clustered. 33 reasons: small enough")
	require.Contains(t, doc, "`__NULL__`")
}
