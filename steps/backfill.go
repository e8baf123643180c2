package steps

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/extract"
	"github.com/dfe-nightshift/nightshift/steps/loadwarehouse"
	"github.com/dfe-nightshift/nightshift/steps/spool"
)

// BackfillColumn is the column a backfill windows on: when the row was
// created, which never changes, so every row belongs to exactly one chunk.
const BackfillColumn = "created_at"

// Chunk is one part of a backfill: the rows created in [From, To).
type Chunk struct {
	From, To      time.Time
	EstimatedRows int64
}

// Name is the chunk's step name, its checkpoint in the ledger.
func (c Chunk) Name() string {
	return "backfill " + c.From.Format("2006-01-02") + ".." + c.To.Format("2006-01-02")
}

// PlanBackfill splits [from, to) — the whole entity when both are zero —
// into chunks of months, weeks or days, and counts each chunk's rows in the
// source.
func PlanBackfill(ctx context.Context, pool *pgxpool.Pool, c *schemas.Contract, from, to time.Time, size string) ([]Chunk, error) {
	if _, ok := c.Column(BackfillColumn); !ok {
		return nil, fmt.Errorf("entity %s has no %s column to backfill by", c.Entity, BackfillColumn)
	}
	col := pgx.Identifier{BackfillColumn}.Sanitize()
	if from.IsZero() && to.IsZero() {
		var lo, hi *time.Time
		if err := pool.QueryRow(ctx, "SELECT min("+col+"), max("+col+") FROM ("+c.SelectSQL()+") t").Scan(&lo, &hi); err != nil {
			return nil, fmt.Errorf("plan backfill of %s: %w", c.Entity, err)
		}
		if lo == nil {
			return nil, nil
		}
		from = time.Date(lo.Year(), lo.Month(), 1, 0, 0, 0, 0, time.UTC)
		to = hi.Add(time.Microsecond)
	}
	if !to.After(from) {
		return nil, fmt.Errorf("--to %s must be after --from %s", to.Format(time.DateOnly), from.Format(time.DateOnly))
	}
	next := map[string]func(time.Time) time.Time{
		"month": func(t time.Time) time.Time { return t.AddDate(0, 1, 0) },
		"week":  func(t time.Time) time.Time { return t.AddDate(0, 0, 7) },
		"day":   func(t time.Time) time.Time { return t.AddDate(0, 0, 1) },
	}[size]
	if next == nil {
		return nil, fmt.Errorf("--chunk must be month, week or day, not %q", size)
	}
	var chunks []Chunk
	for start := from; start.Before(to); start = next(start) {
		end := next(start)
		if end.After(to) {
			end = to
		}
		chunks = append(chunks, Chunk{From: start, To: end})
	}
	countSQL := "SELECT count(*) FROM (" + c.WindowSQL(BackfillColumn) + ") t"
	for i := range chunks {
		if err := pool.QueryRow(ctx, countSQL, chunks[i].From, chunks[i].To).Scan(&chunks[i].EstimatedRows); err != nil {
			return nil, fmt.Errorf("plan backfill of %s: %w", c.Entity, err)
		}
	}
	return chunks, nil
}

// BackfillTask is the chunks of a backfill as steps, in order, leaving out
// those done (checkpoints of an earlier attempt at the same backfill).
// progress is told the rows of each chunk as it completes.
func BackfillTask(runID int64, d Deps, c *schemas.Contract, chunks []Chunk, done map[string]bool, progress func(rows int64)) pipeline.Task {
	task := pipeline.Task{Entity: c.Entity}
	for _, ch := range chunks {
		if done[ch.Name()] {
			continue
		}
		task.Steps = append(task.Steps, &chunkStep{runID: runID, d: d, c: c, chunk: ch, progress: progress})
	}
	return task
}

// chunkStep reloads one chunk: extract it at a snapshot of its own, stage
// it, check it against the source, and replace the chunk's rows in one
// transaction.
type chunkStep struct {
	runID    int64
	d        Deps
	c        *schemas.Contract
	chunk    Chunk
	progress func(int64)
}

func (s *chunkStep) Name() string { return s.chunk.Name() }

func (s *chunkStep) Run(ctx context.Context, _ int) (pipeline.Outcome, error) {
	c, ch := s.c, s.chunk
	pool := s.d.Sources[c.Source]
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return pipeline.Outcome{}, fmt.Errorf("backfill %s: %w", c.Entity, err)
	}
	defer conn.Release()
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return pipeline.Outcome{}, fmt.Errorf("backfill %s: %w", c.Entity, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	path := filepath.Join(filepath.Dir(spool.Path(s.d.SpoolDir, s.runID, c.Entity)), fmt.Sprintf("%s.%s.parquet", c.Entity, ch.From.Format("20060102")))
	w, err := spool.CreateFile(path, c.ArrowSchema(), spool.LowCardinality(c), s.d.Mem)
	if err != nil {
		return pipeline.Outcome{}, err
	}
	load := &loadwarehouse.Load{Pool: s.d.Warehouse, Schema: s.d.Schema, Contract: c, Staging: loadwarehouse.WindowStaging(c.Entity), BatchSize: s.d.BatchSize, Mem: s.d.Mem}
	st, err := load.Begin(ctx)
	if err != nil {
		w.Abort()
		return pipeline.Outcome{}, err
	}
	opts := extract.Options{BatchSize: s.d.BatchSize, Mem: s.d.Mem, Query: c.WindowSQL(BackfillColumn), Args: []any{ch.From, ch.To}}
	out, err := stream(ctx, tx, c, opts, w, st)
	if err != nil {
		return pipeline.Outcome{}, err
	}
	load.File, load.Source = out.file, out.source
	if s.d.ReconcileSQL {
		if load.SourceSQL, err = sourceChecksumSQL(ctx, tx, c, c.WindowChecksumExcludingSQL(BackfillColumn), out, ch.From, ch.To); err != nil {
			load.DropStaging()
			return pipeline.Outcome{}, err
		}
	}
	if err := recordQuarantine(ctx, s.d.Warehouse, s.runID, c.Entity, out.quarantined, false); err != nil {
		load.DropStaging()
		return pipeline.Outcome{}, err
	}
	res, err := load.ReplaceWindow(ctx, out.staged, BackfillColumn, ch.From, ch.To)
	if err != nil {
		return pipeline.Outcome{}, err
	}
	rows := out.source.Rows
	if s.progress != nil {
		s.progress(rows)
	}
	return pipeline.Outcome{Rows: rows, Bytes: out.file.Bytes, Checksum: out.source.Sum,
		Detail: map[string]any{"from": ch.From, "to": ch.To, "replaced_rows": res.Previous, "quarantined": len(out.quarantined)}}, nil
}
