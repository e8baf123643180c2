package steps

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/extract"
	"github.com/dfe-nightshift/nightshift/steps/loadwarehouse"
	"github.com/dfe-nightshift/nightshift/steps/spool"
)

// BackfillColumn is the column a backfill window is on: when the row was
// created, which never changes, so a row stays in the window it was in.
const BackfillColumn = "created_at"

// DefaultChunkRows is how many rows a backfill chunk holds unless told:
// a few seconds of work, so that the progress bar moves and an abort or a
// failure loses little, and few enough chunks that each one's fixed cost
// (a snapshot, a staging table, a transaction) does not show.
const DefaultChunkRows = 100_000

// Backfill is what a backfill reloads: the whole entity, or only the rows
// created in [From, To) when From is set.
type Backfill struct {
	From, To time.Time
}

// Chunk is one part of a backfill: the rows whose primary key is in
// [Lo, Hi]. The chunks of a plan cover every key, so a row deleted from the
// source is deleted from the warehouse by the chunk its key falls in.
type Chunk struct {
	Lo, Hi int64
	// First and Last are the keys of the chunk's first and last rows when
	// planned, and EstimatedRows its rows.
	First, Last   int64
	EstimatedRows int64
}

// Name is the chunk's step name, its checkpoint in the ledger.
func (c Chunk) Name() string {
	bound := func(v int64) string {
		if v == math.MinInt64 || v == math.MaxInt64 {
			return ""
		}
		return strconv.FormatInt(v, 10)
	}
	return "backfill ids " + bound(c.Lo) + ".." + bound(c.Hi)
}

// backfillKey checks that the entity can be backfilled: chunks are ranges
// of a single integer primary key, and a window needs its column.
func backfillKey(c *schemas.Contract, b Backfill) error {
	if len(c.PrimaryKey) != 1 {
		return fmt.Errorf("entity %s cannot be backfilled: its primary key (%v) is not a single column", c.Entity, c.PrimaryKey)
	}
	if col, _ := c.Column(c.PrimaryKey[0]); col.Type != schemas.Int64 && col.Type != schemas.Int32 {
		return fmt.Errorf("entity %s cannot be backfilled: its primary key %s is not an integer", c.Entity, col.Name)
	}
	if _, ok := c.Column(BackfillColumn); !ok && !b.From.IsZero() {
		return fmt.Errorf("entity %s has no %s column to take a window of", c.Entity, BackfillColumn)
	}
	if !b.From.IsZero() && !b.To.After(b.From) {
		return fmt.Errorf("--to %s must be after --from %s", b.To.Format(time.DateOnly), b.From.Format(time.DateOnly))
	}
	return nil
}

// PlanBackfill splits the rows of the backfill into chunks of about
// chunkRows rows each, by primary key, in one pass over the source's keys.
func PlanBackfill(ctx context.Context, pool *pgxpool.Pool, c *schemas.Contract, b Backfill, chunkRows int64) ([]Chunk, error) {
	if err := backfillKey(c, b); err != nil {
		return nil, err
	}
	if chunkRows < 1 {
		return nil, fmt.Errorf("--chunk-rows must be at least 1, not %d", chunkRows)
	}
	// Every key, within the window if there is one.
	where, args := backfillWindow(c, b, math.MinInt64, math.MaxInt64).Where()
	key := pgx.Identifier{c.PrimaryKey[0]}.Sanitize()
	rows, err := pool.Query(ctx, fmt.Sprintf(`SELECT min(k)::int8, max(k)::int8, count(*) FROM (
		SELECT w.%s AS k, (row_number() OVER (ORDER BY w.%s) - 1) / $%d AS chunk
		FROM (%s) w WHERE %s) s GROUP BY chunk ORDER BY chunk`, key, key, len(args)+1, c.SelectSQL(), where), append(args, chunkRows)...)
	if err != nil {
		return nil, fmt.Errorf("plan backfill of %s: %w", c.Entity, err)
	}
	chunks, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Chunk, error) {
		var ch Chunk
		err := row.Scan(&ch.First, &ch.Last, &ch.EstimatedRows)
		ch.Lo = ch.First
		return ch, err
	})
	if err != nil {
		return nil, fmt.Errorf("plan backfill of %s: %w", c.Entity, err)
	}
	if len(chunks) == 0 {
		// Nothing in the source: one chunk still clears the warehouse's
		// rows of the window.
		return []Chunk{{Lo: math.MinInt64, Hi: math.MaxInt64}}, nil
	}
	// Stretch the chunks over the gaps between them and beyond both ends.
	chunks[0].Lo = math.MinInt64
	for i := range chunks[:len(chunks)-1] {
		chunks[i].Hi = chunks[i+1].Lo - 1
	}
	chunks[len(chunks)-1].Hi = math.MaxInt64
	return chunks, nil
}

// BackfillPlan plans a backfill: each chunk not done (done holds the
// checkpoints of an earlier attempt at the same backfill) is read at a
// snapshot of its own and gathered into the backfill's staging table;
// then the entity's new table is staged — the current rows outside the
// window and the backfill's — and published like a full load, so the
// table it replaces is kept as __previous. progress is told the rows of
// each chunk as it is staged.
func BackfillPlan(runID int64, d Deps, c *schemas.Contract, b Backfill, chunks []Chunk, done map[string]bool, progress func(rows int64)) *pipeline.Plan {
	e := &entity{runID: runID, deps: d, contract: c, pool: d.Sources[c.Source]}
	// Chunks hold disjoint rows: the entity's rows are their sum.
	task := pipeline.Task{Entity: c.Entity, SumRows: true}
	for _, ch := range chunks {
		if done[ch.Name()] {
			continue
		}
		task.Steps = append(task.Steps, &chunkStep{runID: runID, d: d, c: c, backfill: b, chunk: ch, progress: progress})
	}
	window := backfillWindow(c, b, math.MinInt64, math.MaxInt64)
	e.window = &window
	task.Steps = append(task.Steps, &mergeStep{e: e, window: window})
	var propagate []pipeline.Task
	if d.BigQuery != nil {
		propagate = append(propagate, pipeline.Task{Entity: c.Entity, Steps: []pipeline.Step{&backfillBigQueryStep{e: e, backfill: b}}})
	}
	return &pipeline.Plan{
		Propagate: propagate,
		Stage:     []pipeline.Task{task},
		// Checked for lost rows like a run's publish: a source that lost
		// rows loses them in the backfilled window too.
		Publish: &publishStep{runID: runID, deps: d, entities: []*entity{e}, drop: []string{loadwarehouse.BackfillTable(c.Entity)}, checkLoss: true},
		// The chunks gathered so far are kept, so that a retry resumes;
		// only the merged table goes.
		Discard: func(ctx context.Context) { e.load().DropStaging(ctx) },
	}
}

// mergeStep stages the backfilled entity's new table from the current one
// and the chunks.
type mergeStep struct {
	e      *entity
	window loadwarehouse.Window
}

func (s *mergeStep) Name() string { return "merge" }

func (s *mergeStep) Run(ctx context.Context, _ int) (pipeline.Outcome, error) {
	m, err := s.e.load().MergeBackfill(ctx, s.window)
	if errors.Is(err, loadwarehouse.ErrNoTable) {
		return pipeline.Outcome{}, pipeline.MarkPermanent(err)
	}
	if err != nil {
		return pipeline.Outcome{}, err
	}
	s.e.rows = m.Rows
	// The merge's rows are counted by the chunks already.
	return pipeline.Outcome{Detail: m}, nil
}

// chunkStep stages one chunk: extract it at a snapshot of its own, stage
// it, check it against the source, and replace the chunk's rows in the
// backfill's staging table in one transaction.
type chunkStep struct {
	runID    int64
	d        Deps
	c        *schemas.Contract
	backfill Backfill
	chunk    Chunk
	progress func(int64)
}

// backfillWindow is the rows of the backfill whose key is in [lo, hi].
func backfillWindow(c *schemas.Contract, b Backfill, lo, hi int64) loadwarehouse.Window {
	w := loadwarehouse.Window{Key: c.PrimaryKey[0], Lo: lo, Hi: hi}
	if !b.From.IsZero() {
		w.Column, w.From, w.To = BackfillColumn, b.From, b.To
	}
	return w
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
	defer rollback(ctx, tx)

	win := backfillWindow(c, s.backfill, ch.Lo, ch.Hi)
	where, args := win.Where()
	query := "SELECT * FROM (" + c.SelectSQL() + ") w WHERE " + where
	path := filepath.Join(filepath.Dir(spool.Path(s.d.SpoolDir, s.runID, c.Entity)), fmt.Sprintf("%s.%d.parquet", c.Entity, ch.First))
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
	opts := extract.Options{BatchSize: s.d.BatchSize, Mem: s.d.Mem, Query: query, Args: args}
	out, err := stream(ctx, tx, c, opts, w, st)
	if err != nil {
		return pipeline.Outcome{}, err
	}
	load.File, load.Source = out.file, out.source
	if s.d.ReconcileSQL {
		if load.SourceSQL, err = sourceChecksumSQL(ctx, tx, c, c.ChecksumExcludingSQL(query, len(args)+1), out, args...); err != nil {
			load.DropStaging(ctx)
			return pipeline.Outcome{}, err
		}
	}
	if err := recordQuarantine(ctx, s.d.Warehouse, s.runID, c.Entity, out.quarantined, false); err != nil {
		load.DropStaging(ctx)
		return pipeline.Outcome{}, err
	}
	if err := load.Accumulate(ctx, out.staged, win); err != nil {
		return pipeline.Outcome{}, err
	}
	rows := out.source.Rows
	if s.progress != nil {
		s.progress(rows)
	}
	return pipeline.Outcome{Rows: rows, Bytes: out.file.Bytes, Checksum: out.source.Sum,
		Detail: map[string]any{"lo": ch.Lo, "hi": ch.Hi, "from": s.backfill.From, "to": s.backfill.To, "quarantined": len(out.quarantined)}}, nil
}
