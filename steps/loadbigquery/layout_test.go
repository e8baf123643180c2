package loadbigquery

import (
	"testing"

	"cloud.google.com/go/bigquery"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// The layout sent to BigQuery is the contract's, and is written as DDL
// in refusals, for the column's type.
func TestLayoutOfTheContract(t *testing.T) {
	t.Parallel()
	trainees := layoutOf(&schemas.Trainees)
	require.Equal(t, &bigquery.TimePartitioning{Type: bigquery.MonthPartitioningType, Field: "itt_start_date"}, trainees.time)
	require.Nil(t, trainees.ranges)
	require.Equal(t, []string{"provider_id", "training_route_name", "state_name"}, trainees.cluster.Fields)
	require.Equal(t, "PARTITION BY DATE_TRUNC(itt_start_date, MONTH) CLUSTER BY provider_id, training_route_name, state_name", trainees.ddl())

	declarations := layoutOf(&schemas.Declarations)
	require.Equal(t, "PARTITION BY TIMESTAMP_TRUNC(declaration_date, MONTH)", declarations.partitioning())

	teachers := layoutOf(&schemas.Teachers)
	require.Nil(t, teachers.time)
	require.Equal(t, &bigquery.RangePartitioning{Field: "id", Range: &bigquery.RangePartitioningRange{Start: 0, End: 10_000_000, Interval: 100_000}}, teachers.ranges)
	require.Equal(t, "PARTITION BY RANGE_BUCKET(id, GENERATE_ARRAY(0, 10000000, 100000)) CLUSTER BY trs_induction_status", teachers.ddl())

	providers := layoutOf(&schemas.Providers)
	require.Equal(t, layout{}, providers)
	require.Equal(t, "no partitioning, no clustering", providers.String())

	// What a table read back has: BigQuery answers DAY for a type left out.
	day := layout{time: &bigquery.TimePartitioning{Field: "on"}}
	require.True(t, day.samePartitioning(layout{time: &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: "on"}}))
	require.Equal(t, "PARTITION BY on", day.partitioning())
	require.False(t, trainees.samePartitioning(declarations))
	require.False(t, trainees.samePartitioning(providers))
	require.False(t, teachers.samePartitioning(layout{ranges: &bigquery.RangePartitioning{Field: "id", Range: &bigquery.RangePartitioningRange{End: 10}}}))
	require.True(t, providers.sameClustering(layout{cluster: &bigquery.Clustering{}}), "no fields is no clustering")
	require.False(t, trainees.sameClustering(layout{cluster: &bigquery.Clustering{Fields: []string{"state_name", "provider_id"}}}), "order matters")
}
