package loadbigquery

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/spool"
)

// Window is the rows of an entity a backfill replaced: Column in [From,
// To). A nil window is the whole entity.
type Window struct {
	Column   string
	From, To time.Time
}

// Merge replaces the rows of a backfill's window in the entity's BigQuery
// table with File's, and leaves every other row alone: the file is loaded
// into a staging table, then one MERGE statement updates the rows both
// hold, inserts the new ones and deletes the window's rows the file no
// longer has. The table before is kept as __previous first, as a load
// keeps it, so a backfill can be restored away in BigQuery too.
//
// Quotas (bigquery-load-api.md): a backfill costs one load job on the
// staging table, one copy job and one DML statement on the entity's table,
// whatever its size — far inside 1,500 load jobs per table per day and
// BigQuery's DML limits — and every job id is the run's, so a retry
// repeats none of them.
type Merge struct {
	Target
	Contract *schemas.Contract
	// File holds the window's rows as the warehouse published them.
	File   spool.File
	Window *Window
	// TableRows is the rows the warehouse's table holds: the BigQuery
	// table must hold as many after the merge.
	TableRows int64
	RunID     int64
	BatchSize int
	Mem       memory.Allocator
}

// StagingTable is where a backfill's window waits for its MERGE.
func StagingTable(entity string, runID int64) string {
	return fmt.Sprintf("%s__backfill_run%d", entity, runID)
}

// MergeResult is what a merge did.
type MergeResult struct {
	JobID string `json:"job"`
	// Affected is the rows the MERGE inserted, updated or deleted.
	Affected int64 `json:"affected"`
	Bytes    int64 `json:"bytes_processed"`
	Rows     int64 `json:"rows"`
}

// Run merges the window. Re-running it after any failure converges: each
// job is the run's and runs once.
func (m *Merge) Run(ctx context.Context) (MergeResult, error) {
	c := m.Contract
	if m.Mem == nil {
		m.Mem = memory.DefaultAllocator
	}
	ds := m.Client.Dataset(m.Dataset)
	table := ds.Table(c.Entity)
	mergeID := JobID(m.RunID, c.Entity, "merge")
	if status, done, err := m.succeeded(ctx, mergeID); err != nil {
		return MergeResult{}, fmt.Errorf("bigquery %s: %w", c.Entity, err)
	} else if done {
		return m.verify(ctx, table, mergeID, status)
	}
	if _, err := table.Metadata(ctx); isNotFound(err) {
		return MergeResult{}, pipeline.MarkPermanent(fmt.Errorf("bigquery %s: the table does not exist yet, so a backfill has nothing to merge into: run `nightshift run --entity %s` first", c.Entity, c.Entity))
	} else if err != nil {
		return MergeResult{}, fmt.Errorf("bigquery %s: %w", c.Entity, classify(err))
	}

	path := strings.TrimSuffix(m.File.Path, ".parquet") + ".bigquery.parquet"
	file, err := loadFile(ctx, m.File, path, c, m.PII, m.Key, m.BatchSize, m.Mem)
	if err != nil {
		return MergeResult{}, fmt.Errorf("bigquery %s: %w", c.Entity, err)
	}
	schema := tableSchema(c, m.PII)
	staging := ds.Table(StagingTable(c.Entity, m.RunID))
	err = staging.Create(ctx, &bigquery.TableMetadata{
		Schema:         schema,
		Description:    fmt.Sprintf("Rows of backfill run %d of %s waiting for their MERGE; dropped after it.", m.RunID, c.Entity),
		ExpirationTime: time.Now().Add(7 * 24 * time.Hour), // a failed backfill leaves no litter for long
		Labels:         m.Labels,
	})
	if err != nil && !isDuplicate(err) {
		return MergeResult{}, fmt.Errorf("bigquery %s: create staging table: %w", c.Entity, classify(err))
	}
	if _, _, err := m.runOnce(ctx, JobID(m.RunID, c.Entity, "backfill_stage"), m.loadFrom(file, staging, nil)); err != nil {
		return MergeResult{}, fmt.Errorf("bigquery %s: stage the backfill: %w", c.Entity, err)
	}
	if _, _, err := m.runOnce(ctx, JobID(m.RunID, c.Entity, "keep_previous"), m.copyTo(ds.Table(PreviousTable(c.Entity)), table)); err != nil {
		return MergeResult{}, fmt.Errorf("bigquery %s: keep previous version: %w", c.Entity, err)
	}
	status, jid, err := m.runOnce(ctx, mergeID, m.query(mergeSQL(m.Client.Project(), m.Dataset, c, m.PII, StagingTable(c.Entity, m.RunID), m.Window), m.params()))
	if err != nil {
		return MergeResult{}, fmt.Errorf("bigquery %s: merge the backfill: %w", c.Entity, err)
	}
	res, err := m.verify(ctx, table, jid, status)
	if err != nil {
		return res, err
	}
	if err := staging.Delete(ctx); err != nil && !isNotFound(err) {
		return res, fmt.Errorf("bigquery %s: drop the staging table: %w", c.Entity, classify(err))
	}
	return res, nil
}

// verify checks the table after the merge against the warehouse's.
func (m *Merge) verify(ctx context.Context, table *bigquery.Table, jobID string, status *bigquery.JobStatus) (MergeResult, error) {
	c := m.Contract
	res := MergeResult{JobID: jobID}
	if status != nil && status.Statistics != nil {
		res.Bytes = status.Statistics.TotalBytesProcessed
		if q, ok := status.Statistics.Details.(*bigquery.QueryStatistics); ok && q != nil {
			res.Affected = q.NumDMLAffectedRows
		}
	}
	md, err := table.Metadata(ctx)
	if err != nil {
		return res, fmt.Errorf("bigquery %s: read the table after merge job %s: %w", c.Entity, jobID, classify(err))
	}
	if md.NumRows > math.MaxInt64 {
		return res, pipeline.MarkPermanent(fmt.Errorf("bigquery %s: the table reports %d rows", c.Entity, md.NumRows))
	}
	res.Rows = int64(md.NumRows)
	if res.Rows != m.TableRows {
		return res, pipeline.MarkPermanent(fmt.Errorf("bigquery %s: after merge job %s the table holds %d rows, the warehouse's %d: "+
			"its rows outside the window differ from the warehouse's; a full run (`nightshift run --entity %s`) brings it in line",
			c.Entity, jobID, res.Rows, m.TableRows, c.Entity))
	}
	return res, nil
}

func (m *Merge) params() []bigquery.QueryParameter {
	if m.Window == nil {
		return nil
	}
	return []bigquery.QueryParameter{{Name: "from", Value: m.Window.From.UTC()}, {Name: "to", Value: m.Window.To.UTC()}}
}

// query starts a standard-SQL query job.
func (t Target) query(sql string, params []bigquery.QueryParameter) starter {
	return func(ctx context.Context, id string) (*bigquery.Job, error) {
		q := t.Client.Query(sql)
		q.Parameters = params
		q.JobID, q.Location, q.Labels = id, t.Location, t.Labels
		return q.Run(ctx)
	}
}

// mergeSQL is the MERGE of a backfill: rows matched by key take every
// column from the staging table, new rows are inserted, and the window's
// rows the staging table does not hold are deleted; rows outside the
// window are not touched.
func mergeSQL(project, dataset string, c *schemas.Contract, pii PIIPolicy, staging string, w *Window) string {
	ident := func(name string) string { return "`" + name + "`" }
	key := c.PrimaryKey[0]
	var set []string
	for _, col := range columns(c, pii) {
		if col.Name != key {
			set = append(set, ident(col.Name)+" = S."+ident(col.Name))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "MERGE `%s.%s.%s` AS T\nUSING `%s.%s.%s` AS S\nON T.%s = S.%s\n", project, dataset, c.Entity, project, dataset, staging, ident(key), ident(key))
	fmt.Fprintf(&b, "WHEN MATCHED THEN UPDATE SET %s\n", strings.Join(set, ", "))
	b.WriteString("WHEN NOT MATCHED BY TARGET THEN INSERT ROW\nWHEN NOT MATCHED BY SOURCE")
	if w != nil {
		fmt.Fprintf(&b, " AND T.%s >= @from AND T.%s < @to", ident(w.Column), ident(w.Column))
	}
	b.WriteString(" THEN DELETE")
	return b.String()
}
