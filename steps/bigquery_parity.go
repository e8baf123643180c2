package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dfe-nightshift/nightshift/pipeline"
	nssql "github.com/dfe-nightshift/nightshift/sql"
	"github.com/dfe-nightshift/nightshift/steps/loadbigquery"
	"github.com/dfe-nightshift/nightshift/steps/spool"
)

// BigQuery holds what the warehouse holds, not only the entity tables: the
// status history and its as-of function, the views, what each run set
// aside and how fresh each table is (finishBigQueryStep), and the statuses
// of the entity tables leave out what the warehouse's leave out
// (bigQueryFile).

// withFinishBigQuery ends a plan that reaches BigQuery — a full run, a
// backfill, a restore, or `nightshift retry` of any of them — with the
// step that brings the rest of BigQuery level with the warehouse, once
// every entity's table is there. Its jobs' ids derive from the run whose
// data BigQuery holds.
func (e *Engine) withFinishBigQuery(p *pipeline.Plan, run *pipeline.Run, spec pipeline.Spec) {
	if p == nil || e.Deps.BigQuery == nil || len(p.Propagate) == 0 {
		return
	}
	data := run.ID
	if spec.Kind == pipeline.KindPropagate {
		data = spec.DataRun
	}
	p.AfterPropagate = FinishBigQuery(e.Deps, data)
}

// FinishBigQuery is the step that brings BigQuery level with the
// warehouse beyond the entity tables (loadbigquery.Parity), for the data
// of run runID; the Engine ends every plan that reaches BigQuery with it.
func FinishBigQuery(d Deps, runID int64) pipeline.Step {
	return &finishBigQueryStep{d: d, runID: runID}
}

// finishBigQueryStep is loadbigquery.Parity as a step of the whole run.
type finishBigQueryStep struct {
	d     Deps
	runID int64
}

func (s *finishBigQueryStep) Name() string { return "finish-bigquery" }

func (s *finishBigQueryStep) Run(ctx context.Context, _ int) (pipeline.Outcome, error) {
	functions, err := nssql.Functions()
	if err != nil {
		return pipeline.Outcome{}, pipeline.MarkPermanent(err)
	}
	p := loadbigquery.Parity{
		Target: *s.d.BigQuery, RunID: s.runID, Schema: s.d.Schema, Views: s.d.Views, Functions: functions,
		Dir: filepath.Dir(spool.Path(s.d.SpoolDir, s.runID, "")), BatchSize: s.d.BatchSize, Mem: s.d.Mem,
	}
	res, err := p.Run(ctx, s.d.Warehouse)
	if err != nil {
		return pipeline.Outcome{}, err
	}
	var rows int64
	for _, n := range res.Tables {
		rows += n
	}
	return pipeline.Outcome{Rows: rows, Detail: res}, nil
}

// bigQueryFile is the file BigQuery's table of the entity is loaded from:
// the spool file, less, for a statuses entity, the statuses the warehouse's
// publish withheld because the row they describe is quarantined (recorded
// in nightshift.quarantine under the statuses entity, keyed
// <entity_type>/<entity_id>; see withholdQuarantined). It returns the rows
// left out; remove removes the copy, if one was made.
func bigQueryFile(ctx context.Context, e *entity) (file spool.File, left int64, remove func(), err error) {
	c := e.contract
	if len(c.StatusOf) == 0 {
		return e.out.File, 0, func() {}, nil
	}
	rows, err := e.deps.Warehouse.Query(ctx, `SELECT key FROM nightshift.quarantine WHERE run_id = $1 AND entity = $2`, e.runID, c.Entity)
	if err != nil {
		return spool.File{}, 0, nil, fmt.Errorf("bigquery %s: withheld statuses: %w", c.Entity, err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return spool.File{}, 0, nil, fmt.Errorf("bigquery %s: withheld statuses: %w", c.Entity, err)
	}
	if len(keys) == 0 {
		return e.out.File, 0, func() {}, nil
	}
	withheld := make(map[string]bool, len(keys))
	for _, k := range keys {
		withheld[k] = true
	}
	mem := e.deps.Mem
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	dst := strings.TrimSuffix(e.out.File.Path, ".parquet") + ".withheld.parquet"
	file, left, err = loadbigquery.WithoutStatuses(ctx, e.out.File, dst, withheld, spool.LowCardinality(c), e.deps.BatchSize, mem)
	if err != nil {
		return spool.File{}, 0, nil, fmt.Errorf("bigquery %s: withheld statuses: %w", c.Entity, err)
	}
	return file, left, func() { _ = os.Remove(file.Path) }, nil
}

// recordBigQueryLoad records in nightshift.table_versions that BigQuery's
// table of entity holds run dataRun's rows, and the version it replaced
// is kept as __previous. Recording it again changes nothing; a load found
// done for a run older than the one BigQuery holds (a retry of an old run
// after a later one loaded) records nothing, since it loaded nothing.
func recordBigQueryLoad(ctx context.Context, wh *pgxpool.Pool, entity string, dataRun int64, res loadbigquery.Result) error {
	err := pgx.BeginFunc(ctx, wh, func(tx pgx.Tx) error {
		var current int64
		err := tx.QueryRow(ctx, `SELECT run_id FROM nightshift.table_versions
			WHERE target = 'bigquery' AND entity = $1 AND slot = 'current' FOR UPDATE`, entity).Scan(&current)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		case current == dataRun, current > dataRun && !res.KeptPrevious:
			return nil
		}
		batch := &pgx.Batch{}
		batch.Queue(`DELETE FROM nightshift.table_versions WHERE target = 'bigquery' AND entity = $1 AND slot = 'previous'`, entity)
		batch.Queue(`UPDATE nightshift.table_versions SET slot = 'previous', placed_by = $2, placed_at = now()
			WHERE target = 'bigquery' AND entity = $1 AND slot = 'current'`, entity, dataRun)
		batch.Queue(`INSERT INTO nightshift.table_versions (target, entity, slot, run_id, rows, placed_by) VALUES ('bigquery', $1, 'current', $2, $3, $2)`,
			entity, dataRun, res.Rows)
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return fmt.Errorf("bigquery %s: record its version: %w", entity, err)
	}
	return nil
}

// recordBigQueryRestore records what loadbigquery.Restore did to the
// entity's BigQuery tables: the version in slot from (previous or
// discarded) is current, and the one it replaced discarded. Once per
// restore run, as the copies are.
func recordBigQueryRestore(ctx context.Context, wh *pgxpool.Pool, entity, from string, restoreRun int64) error {
	if from == "" {
		return nil
	}
	err := pgx.BeginFunc(ctx, wh, func(tx pgx.Tx) error {
		var placedBy int64
		err := tx.QueryRow(ctx, `SELECT placed_by FROM nightshift.table_versions
			WHERE target = 'bigquery' AND entity = $1 AND slot = 'current' FOR UPDATE`, entity).Scan(&placedBy)
		if err == nil && placedBy == restoreRun {
			return nil
		}
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		batch := &pgx.Batch{}
		if from == "previous" {
			batch.Queue(`DELETE FROM nightshift.table_versions WHERE target = 'bigquery' AND entity = $1 AND slot = 'discarded'`, entity)
		}
		batch.Queue(`WITH moved AS (
				DELETE FROM nightshift.table_versions WHERE target = 'bigquery' AND entity = $1 AND slot IN ('current', $3)
				RETURNING target, entity, slot, run_id, rows)
			INSERT INTO nightshift.table_versions (target, entity, slot, run_id, rows, placed_by)
			SELECT target, entity, CASE slot WHEN 'current' THEN 'discarded' ELSE 'current' END, run_id, rows, $2 FROM moved`,
			entity, restoreRun, from)
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return fmt.Errorf("bigquery restore %s: record its version: %w", entity, err)
	}
	return nil
}
