package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	bq "google.golang.org/api/bigquery/v2"

	"github.com/dfe-nightshift/nightshift/internal/bqtest"
	"github.com/dfe-nightshift/nightshift/schemas"
)

// wantLayout is the partitioning and clustering a contract asks of its
// BigQuery table, as the REST resource holds them.
func wantLayout(c *schemas.Contract) (*bq.TimePartitioning, *bq.RangePartitioning, *bq.Clustering) {
	var tp *bq.TimePartitioning
	var rp *bq.RangePartitioning
	var cl *bq.Clustering
	if p := c.BigQuery.Partition; p != nil && p.Range != nil {
		rp = &bq.RangePartitioning{Field: p.Column, Range: &bq.RangePartitioningRange{Start: p.Range.Start, End: p.Range.End, Interval: p.Range.Interval}}
	} else if p != nil {
		tp = &bq.TimePartitioning{Type: string(p.By), Field: p.Column}
	}
	if len(c.BigQuery.Cluster) > 0 {
		cl = &bq.Clustering{Fields: c.BigQuery.Cluster}
	}
	return tp, rp, cl
}

// After a full run, every entity's BigQuery table — and its __previous,
// after a second run — is partitioned and clustered as its contract says,
// as the real client asked the fake to create it.
func TestBigQueryTablesArePartitionedAndClusteredAsTheContractsSay(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.05)
	fake := bqtest.New(t)
	config := withBigQueryConfig(t, p, fake, "hash")
	env := []string{"NIGHTSHIFT_PII_HMAC_KEY=" + piiKey}
	for range 2 {
		r := cli(t, env, "--config", config, "run")
		require.Equal(t, exitOK, r.code, r.stderr)
	}
	partitioned := 0
	for _, c := range schemas.All() {
		tp, rp, cl := wantLayout(c)
		for _, name := range []string{c.Entity, c.Entity + "__previous"} {
			table, ok := fake.Table("analytics", "teacher_training", name)
			require.True(t, ok, name)
			require.Equal(t, tp, table.Meta.TimePartitioning, name)
			require.Equal(t, rp, table.Meta.RangePartitioning, name)
			require.Equal(t, cl, table.Meta.Clustering, name)
		}
		if tp != nil || rp != nil {
			partitioned++
			parts, ok := fake.Partitions("analytics", "teacher_training", c.Entity)
			require.True(t, ok)
			require.NotContains(t, parts, "__UNPARTITIONED__", "%s: the seed's values are all inside the partitions", c.Entity)
		}
	}
	require.Equal(t, 12, partitioned, "trainees, teachers, five periods, declarations, two statuses, audits and events")
	parts, _ := fake.Partitions("analytics", "teacher_training", "declarations")
	require.Greater(t, len(parts), 3, "declarations spread over months")
}

// A table partitioned otherwise than its contract says is refused, and
// left as it was, until `nightshift bigquery relayout` rebuilds it;
// relayout is guarded like the other production commands, converges, and
// done twice is the same as once; then the refused run is retried.
func TestAChangedPartitioningIsRefusedUntilRelayout(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.05)
	fake := bqtest.New(t)
	config := withBigQueryConfig(t, p, fake, "drop")
	for range 2 {
		r := cli(t, nil, "--config", config, "run", "--entity", "declarations")
		require.Equal(t, exitOK, r.code, r.stderr)
	}

	// The tables as an earlier contract laid them out: by day, clustered
	// by type.
	byDay := &bq.TimePartitioning{Type: "DAY", Field: "declaration_date"}
	for _, name := range []string{"declarations", "declarations__previous"} {
		require.True(t, fake.SetLayout("analytics", "teacher_training", name, byDay, nil, &bq.Clustering{Fields: []string{"declaration_type"}}))
	}
	before, _ := fake.Table("analytics", "teacher_training", "declarations")
	previous, _ := fake.Table("analytics", "teacher_training", "declarations__previous")
	jobs := jobsInto(fake, "declarations")

	r := cli(t, nil, "--config", config, "run", "--entity", "declarations")
	require.Equal(t, exitFailed, r.code, r.stderr)
	for _, want := range []string{
		"teacher_training.declarations has PARTITION BY TIMESTAMP_TRUNC(declaration_date, DAY), CLUSTER BY declaration_type",
		"its contract says PARTITION BY TIMESTAMP_TRUNC(declaration_date, MONTH), CLUSTER BY payment_statement_id, declaration_type, payment_status, training_period_id",
		"BigQuery cannot change a table's partitioning in place",
		"nightshift bigquery relayout --entity declarations --reason TEXT",
		"nightshift retry",
	} {
		require.Contains(t, r.stderr, want)
	}
	require.Contains(t, r.stderr, "teacher_training.declarations__previous has PARTITION BY TIMESTAMP_TRUNC(declaration_date, DAY)",
		"__previous is refused too: keeping the table there would be a copy into another partitioning")
	after, _ := fake.Table("analytics", "teacher_training", "declarations")
	require.Equal(t, before.Meta, after.Meta, "the table is untouched")
	require.Equal(t, before.Rows, after.Rows)
	require.Equal(t, jobs, jobsInto(fake, "declarations"), "no job started: neither __previous nor the table was written")
	refused := rfLastRun(t, p.wh)

	// The guard: a reason always, the confirmation in production.
	r = cli(t, nil, "--config", config, "bigquery", "relayout", "--entity", "declarations")
	require.Equal(t, exitUsage, r.code, r.stderr)
	require.Contains(t, r.stderr, "--reason is required")
	prod := []string{"NIGHTSHIFT_ENV=production"}
	r = cli(t, prod, "--config", config, "bigquery", "relayout", "--entity", "declarations", "--reason", "monthly")
	require.Equal(t, exitLocked, r.code, r.stderr)
	require.Contains(t, r.stderr, "--confirm production")
	r = cli(t, nil, "--config", config, "bigquery", "relayout", "--entity", "nope", "--reason", "x")
	require.Equal(t, exitUsage, r.code)
	after, _ = fake.Table("analytics", "teacher_training", "declarations")
	require.Equal(t, before.Meta, after.Meta, "refusals change nothing")

	// The plan, then the migration.
	r = cli(t, nil, "--config", config, "bigquery", "relayout", "--entity", "declarations", "--dry-run")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "dry run: nothing changes")
	require.Regexp(t, `declarations\s+rebuilt\s+\d+\s+PARTITION BY TIMESTAMP_TRUNC\(declaration_date, DAY\)`, r.stdout)
	require.Regexp(t, `declarations__previous\s+rebuilt`, r.stdout)
	require.Regexp(t, `declarations__discarded\s+absent`, r.stdout)
	after, _ = fake.Table("analytics", "teacher_training", "declarations")
	require.Equal(t, before.Meta, after.Meta, "a dry run changes nothing")

	r = cli(t, prod, "--config", config, "bigquery", "relayout", "--entity", "declarations", "--reason", "monthly", "--confirm", "production")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stderr, "reason=monthly", "the reason is logged")
	c, _ := schemas.Lookup("declarations")
	tp, _, cl := wantLayout(c)
	for _, name := range []string{"declarations", "declarations__previous"} {
		table, ok := fake.Table("analytics", "teacher_training", name)
		require.True(t, ok, name)
		require.Equal(t, tp, table.Meta.TimePartitioning, name)
		require.Equal(t, cl, table.Meta.Clustering, name)
		rows := before.Rows
		if name == "declarations__previous" {
			rows = previous.Rows
		}
		require.ElementsMatch(t, rows, table.Rows, "%s: every row, unchanged", name)
	}
	r = cli(t, nil, "--config", config, "bigquery", "relayout", "--entity", "declarations", "--reason", "again")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Regexp(t, `declarations\s+kept`, r.stdout)
	require.Regexp(t, `declarations__previous\s+kept`, r.stdout)

	r = cli(t, nil, "--config", config, "retry", fmt.Sprint(refused), "--reason", "layout migrated")
	require.Equal(t, exitOK, r.code, r.stderr+r.stdout)
	table, _ := fake.Table("analytics", "teacher_training", "declarations")
	require.Equal(t, tp, table.Meta.TimePartitioning)
	require.Len(t, table.Rows, len(before.Rows))
	require.False(t, strings.Contains(r.stderr, "relayout"), r.stderr)
}

// jobsInto counts the load and copy jobs whose destination is one of the
// entity's tables.
func jobsInto(fake *bqtest.Server, entity string) int {
	n := 0
	for _, j := range fake.Jobs() {
		var dst *bq.TableReference
		switch cfg := j.Configuration; {
		case cfg.Load != nil:
			dst = cfg.Load.DestinationTable
		case cfg.Copy != nil:
			dst = cfg.Copy.DestinationTable
		}
		if dst != nil && strings.HasPrefix(dst.TableId, entity) {
			n++
		}
	}
	return n
}
