package loadbigquery

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/bigquery"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
)

// Relaid is what Relayout did, or would do, to one table of an entity.
type Relaid struct {
	Table string
	// Action is "rebuilt", "reclustered", "resumed" (a rebuild an earlier
	// call left half done, finished), "kept" (already as the contract says)
	// or "absent"; with a dry run, what would be done.
	Action string
	// From and To are the table's layout before and after.
	From, To string
	Rows     int64
}

// RelayoutTable is where Relayout builds a table's new version before it
// swaps it in.
func RelayoutTable(table string) string { return table + "__relayout" }

// Relayout gives each table of the entity (the table, __previous and
// __discarded) the contract's partitioning and clustering: the explicit
// migration a load refuses to make (LayoutChangeError). BigQuery cannot
// repartition a table in place, so each one partitioned otherwise is
// rebuilt:
//
//  1. a query job copies every row into <table>__relayout, created with the
//     contract's layout (SELECT * FROM the table, with a destination table
//     and its partitioning: what CREATE TABLE … PARTITION BY … CLUSTER BY …
//     AS SELECT does), and the new table gets the old one's descriptions
//     and labels;
//  2. its row count must equal the table's, or nothing is swapped;
//  3. the table is dropped and <table>__relayout copied to its name (a copy
//     keeps the source's layout), then dropped.
//
// Between the drop and the copy, seconds, the table does not exist: a
// query of it then fails, never sees part of it. The caller holds the run
// lock, so no run loads the entity meanwhile. Every step is decided by
// what the tables are, so calling Relayout again after a failure at any
// point finishes the job (a missing table whose __relayout exists is
// copied back), and calling it on tables already laid out changes
// nothing. A table only clustered otherwise has its clustering changed in
// place, as a load would.
func Relayout(ctx context.Context, t Target, c *schemas.Contract, dryRun bool) ([]Relaid, error) {
	want := layoutOf(c)
	ds := t.Client.Dataset(t.Dataset)
	var out []Relaid
	for _, name := range slots(c.Entity) {
		r, err := relayoutTable(ctx, t, ds, name, want, dryRun)
		if err != nil {
			return out, fmt.Errorf("bigquery relayout %s: %w", name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func relayoutTable(ctx context.Context, t Target, ds *bigquery.Dataset, name string, want layout, dryRun bool) (Relaid, error) {
	table, tmp := ds.Table(name), ds.Table(RelayoutTable(name))
	r := Relaid{Table: name, To: want.String()}
	md, err := metadata(ctx, table)
	if err != nil {
		return r, err
	}
	tmd, err := metadata(ctx, tmp)
	if err != nil {
		return r, err
	}
	switch {
	case md == nil && tmd == nil:
		r.Action = "absent"
		return r, nil
	case md == nil:
		// An earlier call dropped the table after building its new
		// version: the rows are in __relayout, waiting to be copied back.
		r.Action, r.From, r.Rows = "resumed", layoutOfTable(tmd).String(), int64(tmd.NumRows) //nolint:gosec // row counts fit
		if dryRun {
			return r, nil
		}
		return r, swapIn(ctx, t, table, tmp, tmd.NumRows)
	}
	have := layoutOfTable(md)
	r.From, r.Rows = have.String(), int64(md.NumRows) //nolint:gosec // row counts fit
	switch {
	case have.samePartitioning(want) && have.sameClustering(want):
		r.Action = "kept"
		if tmd != nil && !dryRun {
			// A leftover of an earlier call that finished its swap.
			if err := drop(ctx, tmp); err != nil {
				return r, err
			}
		}
		return r, nil
	case have.samePartitioning(want):
		r.Action = "reclustered"
		if dryRun {
			return r, nil
		}
		if _, err := table.Update(ctx, want.clusteringUpdate(), ""); err != nil {
			return r, classify(err)
		}
		return r, nil
	}
	r.Action = "rebuilt"
	if dryRun {
		return r, nil
	}
	// The table still holds the rows: a __relayout left by an earlier
	// call is only a draft, built again from them.
	if tmd != nil {
		if err := drop(ctx, tmp); err != nil {
			return r, err
		}
	}
	if err := build(ctx, t, table, tmp, want, md); err != nil {
		return r, err
	}
	return r, swapIn(ctx, t, table, tmp, md.NumRows)
}

// build copies every row of table into tmp, created with the layout, and
// gives tmp the table's descriptions and labels. A query's result has
// every column NULLABLE and none described; the descriptions are patched
// back, and the next load's schema sets the modes again.
func build(ctx context.Context, t Target, table, tmp *bigquery.Table, want layout, md *bigquery.TableMetadata) error {
	q := t.Client.Query(fmt.Sprintf("SELECT * FROM `%s.%s.%s`", table.ProjectID, table.DatasetID, table.TableID))
	q.Dst = tmp
	q.CreateDisposition, q.WriteDisposition = bigquery.CreateIfNeeded, bigquery.WriteEmpty
	q.TimePartitioning, q.RangePartitioning, q.Clustering = want.time, want.ranges, want.cluster
	q.Location, q.Labels = t.Location, t.Labels
	q.JobID = relayoutJobID(table.TableID, "build")
	job, err := q.Run(ctx)
	if err != nil {
		return classify(err)
	}
	if _, err := wait(ctx, job, q.JobID); err != nil {
		return fmt.Errorf("copy the rows into %s: %w", tmp.TableID, err)
	}
	tmd, err := tmp.Metadata(ctx)
	if err != nil {
		return classify(err)
	}
	if tmd.NumRows != md.NumRows {
		return pipeline.MarkPermanent(fmt.Errorf("%s holds %d rows, %s %d: nothing was swapped; drop %s and look into it",
			tmp.TableID, tmd.NumRows, table.TableID, md.NumRows, tmp.TableID))
	}
	described := map[string]string{}
	for _, f := range md.Schema {
		described[f.Name] = f.Description
	}
	schema := make(bigquery.Schema, len(tmd.Schema))
	for i, f := range tmd.Schema {
		g := *f
		g.Description = described[f.Name]
		schema[i] = &g
	}
	update := bigquery.TableMetadataToUpdate{Schema: schema, Description: md.Description}
	for k, v := range md.Labels {
		update.SetLabel(k, v)
	}
	if _, err := tmp.Update(ctx, update, ""); err != nil {
		return fmt.Errorf("describe %s: %w", tmp.TableID, classify(err))
	}
	return nil
}

// swapIn puts tmp in table's place: table is dropped (if still there) and
// tmp copied to its name, then dropped. rows is what table must hold.
func swapIn(ctx context.Context, t Target, table, tmp *bigquery.Table, rows uint64) error {
	if err := drop(ctx, table); err != nil {
		return err
	}
	copier := table.CopierFrom(tmp)
	copier.CreateDisposition, copier.WriteDisposition = bigquery.CreateIfNeeded, bigquery.WriteEmpty
	copier.Location, copier.Labels = t.Location, t.Labels
	copier.JobID = relayoutJobID(table.TableID, "swap")
	job, err := copier.Run(ctx)
	if err != nil {
		return classify(err)
	}
	if _, err := wait(ctx, job, copier.JobID); err != nil {
		return fmt.Errorf("copy %s to %s: %w", tmp.TableID, table.TableID, err)
	}
	md, err := table.Metadata(ctx)
	if err != nil {
		return classify(err)
	}
	if md.NumRows != rows {
		return pipeline.MarkPermanent(fmt.Errorf("%s holds %d rows after the swap, not %d; %s is kept", table.TableID, md.NumRows, rows, tmp.TableID))
	}
	return drop(ctx, tmp)
}

// relayoutJobID names a relayout's job. Relayout is not part of a run,
// and its steps are decided by what the tables are, not by job ids, so
// each job has an id of its own, readable in the console.
func relayoutJobID(table, step string) string {
	return fmt.Sprintf("nightshift_relayout_%s_%s_%d", table, step, time.Now().UnixNano())
}

// metadata is the table's metadata, nil when it does not exist.
func metadata(ctx context.Context, table *bigquery.Table) (*bigquery.TableMetadata, error) {
	md, err := table.Metadata(ctx)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, classify(err)
	}
	return md, nil
}

func drop(ctx context.Context, table *bigquery.Table) error {
	if err := table.Delete(ctx); err != nil && !isNotFound(err) {
		return fmt.Errorf("drop %s: %w", table.TableID, classify(err))
	}
	return nil
}
