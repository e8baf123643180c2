package steps_test

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	bq "google.golang.org/api/bigquery/v2"

	"github.com/dfe-nightshift/nightshift/internal/bqtest"
	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/loadbigquery"
)

// laidOut is samples with a BigQuery layout.
func laidOut(l schemas.Layout) *schemas.Contract {
	c := samples
	c.BigQuery = l
	return &c
}

// idsByPartition is the ids of a table's rows, partition by partition.
func idsByPartition(t *testing.T, fake *bqtest.Server, table string) map[string][]int64 {
	t.Helper()
	parts, ok := fake.Partitions("proj", "ns", table)
	require.True(t, ok, "%s is partitioned", table)
	out := map[string][]int64{}
	for p, rows := range parts {
		for _, r := range rows {
			out[p] = append(out[p], r["id"].(int64))
		}
	}
	return out
}

// loadConfigs is the configuration of every load job into table.
func loadConfigs(fake *bqtest.Server, table string) []*bq.JobConfigurationLoad {
	var out []*bq.JobConfigurationLoad
	for _, j := range fake.Jobs() {
		if l := j.Configuration.Load; l != nil && l.DestinationTable.TableId == table {
			out = append(out, l)
		}
	}
	return out
}

// The table a run creates is partitioned and clustered as the contract
// says, and every load states that spec; a change of clustering is made
// in place by the next run; a change of partitioning is refused, changing
// nothing, until Relayout rebuilds the tables, which converges and is
// idempotent.
func TestBigQueryTablesAreLaidOutAsTheContractSays(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	fake := withBigQuery(t, b)
	monthly := &schemas.Partition{Column: "born_on", By: schemas.ByMonth}

	first := laidOut(schemas.Layout{Partition: monthly, Cluster: []string{"code_name", "name"}, Why: "test"})
	require.NoError(t, first.Validate())
	rep := b.run(t, first)
	require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)
	table, ok := fake.Table("proj", "ns", "samples")
	require.True(t, ok)
	require.Equal(t, &bq.TimePartitioning{Type: "MONTH", Field: "born_on"}, table.Meta.TimePartitioning)
	require.Nil(t, table.Meta.RangePartitioning)
	require.Equal(t, []string{"code_name", "name"}, table.Meta.Clustering.Fields)
	// NULL in __NULL__; 0001-01-01, 1582-10-15 and 9999-12-31 outside
	// 1960-2159 in __UNPARTITIONED__.
	require.Equal(t, map[string][]int64{
		"200001": {1}, "202402": {6}, "__NULL__": {-9223372036854775808},
		"__UNPARTITIONED__": {2, 5, 9223372036854775807},
	}, sortedIDs(idsByPartition(t, fake, "samples")))
	loads := loadConfigs(fake, "samples")
	require.Len(t, loads, 1)
	require.Equal(t, "born_on", loads[0].TimePartitioning.Field, "the load states the table's spec")
	require.Equal(t, []string{"code_name", "name"}, loads[0].Clustering.Fields)

	// Clustering alone changes in place, on the table and on __previous
	// (which the run's copy job writes from it).
	second := laidOut(schemas.Layout{Partition: monthly, Cluster: []string{"name"}, Why: "test"})
	rep = b.run(t, second)
	require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)
	for _, name := range []string{"samples", "samples__previous"} {
		table, _ := fake.Table("proj", "ns", name)
		require.Equal(t, []string{"name"}, table.Meta.Clustering.Fields, name)
		require.Equal(t, "MONTH", table.Meta.TimePartitioning.Type, name)
		require.Len(t, table.Rows, 6, name)
	}
	var detail string
	require.NoError(t, b.wh.QueryRow(ctx, `SELECT detail::text FROM nightshift.step_runs
		WHERE run_id = $1 AND step = 'load-bigquery' AND status = 'succeeded'`, rep.Run.ID).Scan(&detail))
	require.Contains(t, detail, `"reclustered": ["samples"]`)

	// Partitioning by ranges of id instead: refused before anything
	// changes, naming the table, both layouts and the way out.
	before, _ := fake.Table("proj", "ns", "samples")
	jobs := len(fake.Jobs())
	third := laidOut(schemas.Layout{Partition: &schemas.Partition{Column: "id", Range: &schemas.IntegerRange{Start: 0, End: 100, Interval: 10}},
		Cluster: []string{"name"}, Why: "test"})
	rep = b.run(t, third)
	require.Equal(t, pipeline.StatusFailed, rep.Status)
	msg := rep.Err.Error()
	require.Contains(t, msg, "(permanent)", "not retried")
	require.Contains(t, msg, "ns.samples has PARTITION BY DATE_TRUNC(born_on, MONTH), CLUSTER BY name")
	require.Contains(t, msg, "ns.samples__previous has PARTITION BY DATE_TRUNC(born_on, MONTH)")
	require.Contains(t, msg, "its contract says PARTITION BY RANGE_BUCKET(id, GENERATE_ARRAY(0, 100, 10)), CLUSTER BY name")
	require.Contains(t, msg, "nightshift bigquery relayout --entity samples")
	after, _ := fake.Table("proj", "ns", "samples")
	require.Equal(t, before.Meta, after.Meta, "the table is untouched")
	require.Equal(t, before.Rows, after.Rows)
	require.Len(t, fake.Jobs(), jobs, "no job was started")

	// Relayout rebuilds both tables; its swap fails once, after the old
	// table was dropped: run again, it finishes from __relayout.
	target := *b.deps.BigQuery
	plan, err := loadbigquery.Relayout(ctx, target, third, true)
	require.NoError(t, err)
	require.Equal(t, []string{"rebuilt", "rebuilt", "absent"}, actions(plan))
	fake.FailJob("nightshift_relayout_samples_swap", "backendError", "copy failed")
	_, err = loadbigquery.Relayout(ctx, target, third, false)
	require.ErrorContains(t, err, "copy failed")
	_, ok = fake.Table("proj", "ns", "samples")
	require.False(t, ok, "dropped before the failed copy")
	kept, ok := fake.Table("proj", "ns", loadbigquery.RelayoutTable("samples"))
	require.True(t, ok, "its rows wait in __relayout")
	require.Len(t, kept.Rows, 6)

	done, err := loadbigquery.Relayout(ctx, target, third, false)
	require.NoError(t, err)
	require.Equal(t, []string{"resumed", "rebuilt", "absent"}, actions(done))
	for _, name := range []string{"samples", "samples__previous"} {
		table, ok := fake.Table("proj", "ns", name)
		require.True(t, ok)
		require.Nil(t, table.Meta.TimePartitioning, name)
		require.Equal(t, &bq.RangePartitioning{Field: "id", Range: &bq.RangePartitioningRange{Start: 0, End: 100, Interval: 10}}, table.Meta.RangePartitioning, name)
		require.Equal(t, []string{"name"}, table.Meta.Clustering.Fields, name)
		require.Len(t, table.Rows, 6, name)
		require.Equal(t, "Every logical type.", table.Meta.Description, "%s keeps its description", name)
		require.Equal(t, "numeric(38,9)", field(table, "amount").Description, "%s keeps its columns' descriptions", name)
		_, leftover := fake.Table("proj", "ns", loadbigquery.RelayoutTable(name))
		require.False(t, leftover)
	}
	require.Equal(t, map[string][]int64{"0": {1, 2, 5, 6}, "__UNPARTITIONED__": {-9223372036854775808, 9223372036854775807}},
		sortedIDs(idsByPartition(t, fake, "samples")))

	// Twice is the same as once.
	jobs = len(fake.Jobs())
	again, err := loadbigquery.Relayout(ctx, target, third, false)
	require.NoError(t, err)
	require.Equal(t, []string{"kept", "kept", "absent"}, actions(again))
	require.Len(t, fake.Jobs(), jobs)

	// And the run that was refused now loads.
	rep = b.run(t, third)
	require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)
	table, _ = fake.Table("proj", "ns", "samples")
	require.Equal(t, "REQUIRED", field(table, "id").Mode, "the load's schema sets the modes the query's result relaxed")
}

func actions(rs []loadbigquery.Relaid) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Action)
	}
	return out
}

func field(t *bqtest.Table, name string) *bq.TableFieldSchema {
	for _, f := range t.Meta.Schema.Fields {
		if f.Name == name {
			return f
		}
	}
	return &bq.TableFieldSchema{}
}

func sortedIDs(m map[string][]int64) map[string][]int64 {
	for _, ids := range m {
		slices.Sort(ids)
	}
	return m
}
