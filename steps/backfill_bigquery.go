package steps

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/steps/extract"
	"github.com/dfe-nightshift/nightshift/steps/loadbigquery"
	"github.com/dfe-nightshift/nightshift/steps/spool"
)

// backfillBigQueryStep brings a backfill to BigQuery once the warehouse
// published it: the window's rows, read back from the published warehouse
// table (so BigQuery gets exactly what the warehouse holds, whichever
// attempt staged each chunk), replace the window's rows in BigQuery by a
// MERGE; the rest of the BigQuery table is not touched.
type backfillBigQueryStep struct {
	e        *entity
	backfill Backfill
}

func (s *backfillBigQueryStep) Name() string { return "load-bigquery" }

func (s *backfillBigQueryStep) Run(ctx context.Context, _ int) (pipeline.Outcome, error) {
	e, c := s.e, s.e.contract
	d := e.deps
	path := filepath.Join(filepath.Dir(spool.Path(d.SpoolDir, e.runID, c.Entity)), c.Entity+".window.parquet")
	file, tableRows, err := s.export(ctx, path)
	if err != nil {
		return pipeline.Outcome{}, fmt.Errorf("backfill %s to BigQuery: %w", c.Entity, err)
	}
	m := loadbigquery.Merge{Target: *d.BigQuery, Contract: c, File: file, TableRows: tableRows, RunID: e.runID, BatchSize: d.BatchSize, Mem: d.Mem}
	if !s.backfill.From.IsZero() {
		m.Window = &loadbigquery.Window{Column: BackfillColumn, From: s.backfill.From, To: s.backfill.To}
	}
	res, err := m.Run(ctx)
	if err != nil {
		return pipeline.Outcome{}, err
	}
	// BigQuery's table now holds the backfill run's data, as the
	// warehouse's does: freshness says so.
	if err := recordBigQueryLoad(ctx, d.Warehouse, c.Entity, e.runID, loadbigquery.Result{Rows: res.Rows, KeptPrevious: true}); err != nil {
		return pipeline.Outcome{}, err
	}
	return pipeline.Outcome{Rows: file.Rows, Bytes: file.Bytes, Detail: res}, nil
}

// export writes the window's rows of the published warehouse table to a
// spool file, and counts the whole table, at one snapshot.
func (s *backfillBigQueryStep) export(ctx context.Context, path string) (spool.File, int64, error) {
	e, c := s.e, s.e.contract
	d := e.deps
	tx, err := d.Warehouse.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return spool.File{}, 0, err
	}
	defer rollback(ctx, tx)
	var tableRows int64
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{d.Schema, c.Entity}.Sanitize()).Scan(&tableRows); err != nil {
		return spool.File{}, 0, err
	}
	query := c.WarehouseSelectSQL(d.Schema, c.Entity)
	var args []any
	if !s.backfill.From.IsZero() {
		col := pgx.Identifier{BackfillColumn}.Sanitize()
		query += " WHERE " + col + " >= $1 AND " + col + " < $2"
		args = append(args, s.backfill.From, s.backfill.To)
	}
	w, err := spool.CreateFile(path, c.ArrowSchema(), spool.LowCardinality(c), d.Mem)
	if err != nil {
		return spool.File{}, 0, err
	}
	_, err = extract.Stream(ctx, tx, c, extract.Options{BatchSize: d.BatchSize, Mem: d.Mem, Query: query, Args: args}, func(rec arrow.RecordBatch) error {
		defer rec.Release()
		return w.Write(rec)
	})
	if err != nil {
		w.Abort()
		return spool.File{}, 0, err
	}
	file, err := w.Close()
	return file, tableRows, err
}
