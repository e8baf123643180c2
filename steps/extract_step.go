package steps

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/extract"
	"github.com/dfe-nightshift/nightshift/steps/reconcile"
	"github.com/dfe-nightshift/nightshift/steps/spool"
)

// extractStep reads the entity at the run's snapshot, once, into its spool
// file and into the warehouse staging table at the same time (stream).
type extractStep struct{ e *entity }

func (s *extractStep) Name() string { return "extract" }

func (s *extractStep) Run(ctx context.Context, _ int) (pipeline.Outcome, error) {
	e := s.e
	c := e.contract
	e.staged = nil
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		return pipeline.Outcome{}, fmt.Errorf("extract %s: %w", c.Entity, err)
	}
	defer conn.Release()
	tx, snap, err := e.source.Begin(ctx, conn)
	if err != nil {
		return pipeline.Outcome{}, fmt.Errorf("extract %s: %w", c.Entity, err)
	}
	defer rollback(ctx, tx)

	w, err := spool.Create(e.deps.SpoolDir, e.runID, c, e.deps.Mem)
	if err != nil {
		return pipeline.Outcome{}, err
	}
	load := e.load()
	st, err := load.Begin(ctx)
	if err != nil {
		w.Abort()
		return pipeline.Outcome{}, err
	}
	out, err := stream(ctx, tx, c, extract.Options{BatchSize: e.deps.BatchSize, Mem: e.deps.Mem}, w, st)
	if err != nil {
		return pipeline.Outcome{}, err
	}
	var sourceSQL *reconcile.Checksum
	if e.deps.ReconcileSQL {
		if sourceSQL, err = sourceChecksumSQL(ctx, tx, c, c.SourceChecksumExcludingSQL(), out); err != nil {
			load.DropStaging(ctx)
			return pipeline.Outcome{}, err
		}
	}
	if err := recordQuarantine(ctx, e.deps.Warehouse, e.runID, c.Entity, out.quarantined, true); err != nil {
		load.DropStaging(ctx)
		return pipeline.Outcome{}, err
	}
	e.out = Extracted{File: out.file, Source: out.source, Snapshot: snap.ID, SnapshotAt: snap.Time,
		Quarantined: len(out.quarantined), StagedRows: out.staged.Rows}
	e.sourceSQL, e.staged = sourceSQL, &out.staged
	return pipeline.Outcome{Rows: out.source.Rows, Bytes: out.file.Bytes, Checksum: out.source.Sum, Detail: e.out}, nil
}

// rollback ends a read-only source transaction, within a bound: after a
// cancelled attempt the source may not answer at all.
func rollback(ctx context.Context, tx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := tx.Rollback(ctx); err != nil {
		_ = tx.Conn().Close(ctx)
	}
}

// sourceChecksumSQL checksums in SQL, at the extract's snapshot, the rows
// the extract read (query takes the quarantined keys as its last
// parameter): the independent check that run.reconcile: sql asks for.
func sourceChecksumSQL(ctx context.Context, tx pgx.Tx, c *schemas.Contract, query string, out streamed, args ...any) (*reconcile.Checksum, error) {
	keys := make([]string, len(out.quarantined))
	for i, q := range out.quarantined {
		keys[i] = q.Key
	}
	sum, err := reconcile.Compute(ctx, tx, query, append(args, keys)...)
	if err != nil {
		return nil, fmt.Errorf("extract %s: source %w", c.Entity, err)
	}
	if sum.Rows != out.source.Rows {
		// The same snapshot cannot change between two queries: this is a bug.
		return nil, pipeline.MarkPermanent(fmt.Errorf("extract %s: read %d rows but the source checksum counts %d at the same snapshot", c.Entity, out.source.Rows, sum.Rows))
	}
	return &sum, nil
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
