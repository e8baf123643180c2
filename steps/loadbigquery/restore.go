package loadbigquery

import (
	"context"
	"fmt"

	"cloud.google.com/go/bigquery"
)

// Restore puts back, in BigQuery, the version of the entity's table that
// the warehouse's restore put back: the one kept in slot (previous or
// discarded). The current table is first copied to __discarded, so the
// restore can be undone like the warehouse's. Every copy job's id derives
// from the restore run, so a retried restore awaits the jobs an earlier
// attempt started and converges to the same tables; an empty slot means
// the version is already current.
func Restore(ctx context.Context, t Target, entity, slot string, runID int64) error {
	if slot == "" {
		return nil
	}
	ds := t.Client.Dataset(t.Dataset)
	cur, disc := ds.Table(entity), ds.Table(DiscardedTable(entity))
	src := ds.Table(PreviousTable(entity))
	if slot == "discarded" {
		src = disc
	}
	steps := []struct {
		kind     string
		dst, src *bigquery.Table
	}{{"discard", disc, cur}, {"restore", cur, src}}
	if slot == "discarded" {
		// Swapping current and discarded needs a third table in between.
		tmp := ds.Table(entity + "__restoring")
		steps = []struct {
			kind     string
			dst, src *bigquery.Table
		}{{"hold", tmp, cur}, {"restore", cur, disc}, {"discard", disc, tmp}}
	}
	if _, err := src.Metadata(ctx); err != nil && !isNotFound(err) {
		return fmt.Errorf("bigquery restore %s: %w", entity, classify(err))
	}
	for _, step := range steps {
		_, _, err := t.runOnce(ctx, JobID(runID, entity, step.kind), t.copyTo(step.dst, step.src))
		if err != nil {
			return fmt.Errorf("bigquery restore %s: %w", entity, err)
		}
	}
	if slot == "discarded" {
		if err := ds.Table(entity + "__restoring").Delete(ctx); err != nil && !isNotFound(err) {
			return fmt.Errorf("bigquery restore %s: %w", entity, classify(err))
		}
	}
	return nil
}

// DiscardedTable is where a restore keeps the version it took out.
func DiscardedTable(entity string) string { return entity + "__discarded" }
