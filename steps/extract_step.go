package steps

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/steps/extract"
	"github.com/dfe-nightshift/nightshift/steps/reconcile"
	"github.com/dfe-nightshift/nightshift/steps/spool"
)

// extractStep reads the entity at the run's snapshot into its spool file,
// and checksums the same rows at the same snapshot for the loads to match.
type extractStep struct{ e *entity }

func (s *extractStep) Name() string { return "extract" }

func (s *extractStep) Run(ctx context.Context, _ int) (pipeline.Outcome, error) {
	e := s.e
	c := e.contract
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		return pipeline.Outcome{}, fmt.Errorf("extract %s: %w", c.Entity, err)
	}
	defer conn.Release()
	tx, err := e.snapshot.Begin(ctx, conn)
	if err != nil {
		return pipeline.Outcome{}, fmt.Errorf("extract %s: %w", c.Entity, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	w, err := spool.Create(e.deps.SpoolDir, e.runID, c, e.deps.Mem)
	if err != nil {
		return pipeline.Outcome{}, err
	}
	// Decoding and Parquet encoding each take a core: the writer runs in its
	// own goroutine, two batches behind the reader at most.
	batches := make(chan arrow.RecordBatch, 2)
	g, gctx := errgroup.WithContext(ctx)
	var rows int64
	var quarantined []extract.Quarantined
	opts := extract.Options{BatchSize: e.deps.BatchSize, Mem: e.deps.Mem, Quarantine: func(q extract.Quarantined) error {
		quarantined = append(quarantined, q)
		return nil
	}}
	g.Go(func() error {
		defer close(batches)
		var err error
		rows, err = extract.Stream(gctx, tx, c, opts, func(rec arrow.RecordBatch) error {
			select {
			case batches <- rec:
				return nil
			case <-gctx.Done():
				rec.Release()
				return gctx.Err()
			}
		})
		return err
	})
	g.Go(func() error {
		for rec := range batches {
			err := w.Write(rec)
			rec.Release()
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		w.Abort()
		return pipeline.Outcome{}, err
	}
	file, err := w.Close()
	if err != nil {
		return pipeline.Outcome{}, err
	}
	keys := make([]string, len(quarantined))
	for i, q := range quarantined {
		keys[i] = q.Key
	}
	sum, err := reconcile.Compute(ctx, tx, c.SourceChecksumExcludingSQL(), keys)
	if err != nil {
		return pipeline.Outcome{}, fmt.Errorf("extract %s: source %w", c.Entity, err)
	}
	if sum.Rows != rows {
		// The same snapshot cannot change between two queries: this is a bug.
		return pipeline.Outcome{}, pipeline.MarkPermanent(fmt.Errorf("extract %s: read %d rows but the source checksum counts %d at the same snapshot", c.Entity, rows, sum.Rows))
	}
	if err := recordQuarantine(ctx, e.deps.Warehouse, e.runID, e.contract.Entity, quarantined, true); err != nil {
		return pipeline.Outcome{}, err
	}
	e.file, e.source = file, sum
	return pipeline.Outcome{
		Rows: rows, Bytes: file.Bytes, Checksum: sum.Sum,
		Detail: map[string]any{"spool": file.Path, "sha256": file.SHA256, "snapshot": e.snapshot.ID, "quarantined": len(quarantined)},
	}, nil
}

// recordQuarantine records rows set aside by a run, so that a retried
// extract does not count a row twice: a whole-entity extract (replaceAll)
// replaces the run's rows of the entity, a backfill chunk only its own.
func recordQuarantine(ctx context.Context, wh *pgxpool.Pool, runID int64, entity string, rows []extract.Quarantined, replaceAll bool) error {
	return pgx.BeginFunc(ctx, wh, func(tx pgx.Tx) error {
		keys := make([]string, len(rows))
		for i, q := range rows {
			keys[i] = q.Key
		}
		if _, err := tx.Exec(ctx, "DELETE FROM nightshift.quarantine WHERE run_id = $1 AND entity = $2 AND ($3 OR key = ANY($4))",
			runID, entity, replaceAll, keys); err != nil {
			return fmt.Errorf("quarantine %s: %w", entity, err)
		}
		if len(rows) == 0 {
			return nil
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"nightshift", "quarantine"},
			[]string{"run_id", "entity", "key", "column_name", "value", "reason"},
			pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
				q := rows[i]
				return []any{runID, entity, q.Key, q.Column, q.Value, q.Reason}, nil
			}))
		if err != nil {
			return fmt.Errorf("quarantine %s: %w", entity, err)
		}
		return nil
	})
}
