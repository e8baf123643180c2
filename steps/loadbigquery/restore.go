package loadbigquery

import (
	"context"
	"fmt"

	"cloud.google.com/go/bigquery"
)

// Restore puts <entity>__previous back in place of the entity's BigQuery
// table and keeps the table it replaces as the new __previous, with three
// copy jobs, each atomic: current → __restoring, __previous → current,
// __restoring → __previous.
func Restore(ctx context.Context, t Target, entity string, runID int64, attempt int) error {
	ds := t.Client.Dataset(t.Dataset)
	cur, prev, tmp := ds.Table(entity), ds.Table(PreviousTable(entity)), ds.Table(entity+"__restoring")
	if _, err := prev.Metadata(ctx); err != nil {
		return fmt.Errorf("bigquery restore %s: %s: %w", entity, PreviousTable(entity), classify(err))
	}
	l := &Load{Target: t}
	for i, step := range []struct{ dst, src *bigquery.Table }{{tmp, cur}, {cur, prev}, {prev, tmp}} {
		copier := step.dst.CopierFrom(step.src)
		copier.WriteDisposition = bigquery.WriteTruncate
		copier.CreateDisposition = bigquery.CreateIfNeeded
		copier.JobID = fmt.Sprintf("nightshift_run%d_%s_restore%d_attempt%d", runID, entity, i+1, attempt)
		copier.Location = t.Location
		copier.Labels = t.Labels
		if _, err := l.run(ctx, copier.JobID, copier.Run); err != nil {
			return fmt.Errorf("bigquery restore %s: %w", entity, err)
		}
	}
	if err := tmp.Delete(ctx); err != nil && !isNotFound(err) {
		return fmt.Errorf("bigquery restore %s: %w", entity, classify(err))
	}
	return nil
}
