package loadwarehouse

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dfe-nightshift/nightshift/steps/reconcile"
)

// ErrNoTable means the entity has never been loaded, so there is no table
// to replace a window of.
var ErrNoTable = errors.New("the entity's table does not exist yet: run it once in full first")

// WindowStaging names the staging table of a backfill chunk.
func WindowStaging(entity string) string { return entity + "__window" }

// Window is the rows of an entity that a backfill chunk replaces: those
// whose Key is in [Lo, Hi] and, when Column is set, whose Column is in
// [From, To). The same clause selects them in the source (on the extract
// query's output, whose columns bear the warehouse's names) and in the
// warehouse, so the two cannot disagree.
type Window struct {
	Key      string
	Lo, Hi   int64
	Column   string
	From, To time.Time
}

// Where is the window as a WHERE clause on unqualified column names, with
// its arguments as $1, $2, ….
func (w Window) Where() (string, []any) {
	key := quote(w.Key)
	clause, args := key+" BETWEEN $1 AND $2", []any{w.Lo, w.Hi}
	if w.Column != "" {
		col := quote(w.Column)
		clause += " AND " + col + " >= $3 AND " + col + " < $4"
		args = append(args, w.From, w.To)
	}
	return clause, args
}

// BackfillTable names the staging table where a backfill gathers its
// chunks until it publishes; it outlives a failed or aborted run, so that
// the backfill resumes where it stopped.
func BackfillTable(entity string) string { return entity + "__backfill" }

// Accumulate moves a filled chunk staging table (WindowStaging; staged is
// the digest of its rows) into the backfill's table, replacing the rows of
// the chunk's window there, in one transaction: a chunk is in it whole or
// not at all. The chunk is checked against the source first.
func (l *Load) Accumulate(ctx context.Context, staged reconcile.Checksum, w Window) error {
	c := l.Contract
	conn, err := l.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("backfill %s: %w", c.Entity, err)
	}
	defer conn.Release()
	// No primary key on the chunk's staging table: the merge's primary key
	// proves the keys unique.
	if err := l.verify(ctx, conn, staged, false); err != nil {
		l.DropStaging(ctx)
		return fmt.Errorf("backfill %s: %w", c.Entity, err)
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		acc, staging := quote(StagingSchema, BackfillTable(c.Entity)), quote(StagingSchema, l.staging())
		if _, err := tx.Exec(ctx, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (LIKE %s)", acc, staging)); err != nil {
			return err
		}
		where, args := w.Where()
		if _, err := tx.Exec(ctx, "DELETE FROM "+acc+" WHERE "+where, args...); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s", acc, stagingColumns(c), stagingColumns(c), staging)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "DROP TABLE "+staging)
		return err
	})
	if err != nil {
		l.DropStaging(ctx)
		return fmt.Errorf("backfill %s: stage %s %d..%d: %w", c.Entity, w.Key, w.Lo, w.Hi, err)
	}
	return nil
}

// HasBackfill reports whether the entity's backfill table exists, and how
// many rows it holds.
func (l *Load) HasBackfill(ctx context.Context) (bool, error) {
	var ok bool
	err := l.Pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", quote(StagingSchema, BackfillTable(l.Contract.Entity))).Scan(&ok)
	return ok, err
}

// DropBackfill removes the backfill's table: a new backfill starts afresh.
func (l *Load) DropBackfill(ctx context.Context) error {
	_, err := l.Pool.Exec(ctx, "DROP TABLE IF EXISTS "+quote(StagingSchema, BackfillTable(l.Contract.Entity)))
	return err
}

// Merged is what a backfill's merge staged.
type Merged struct {
	// Rows is the rows of the new table, Kept those of the current table
	// outside the window, Backfilled those the backfill read.
	Rows, Kept, Backfilled int64
}

// MergeBackfill stages the entity's new table: the current table's rows
// outside the backfill's window w, and the backfill's rows. The publish
// swaps it in like any other load, so the current table becomes
// __previous and the backfill can be restored away.
func (l *Load) MergeBackfill(ctx context.Context, w Window) (Merged, error) {
	c := l.Contract
	var m Merged
	conn, err := l.Pool.Acquire(ctx)
	if err != nil {
		return m, fmt.Errorf("backfill %s: %w", c.Entity, err)
	}
	defer conn.Release()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", quote(l.Schema, c.Entity)).Scan(&exists); err != nil {
		return m, fmt.Errorf("backfill %s: %w", c.Entity, err)
	}
	if !exists {
		return m, fmt.Errorf("backfill %s: %w", c.Entity, ErrNoTable)
	}
	staging, acc, target := quote(StagingSchema, l.staging()), quote(StagingSchema, BackfillTable(c.Entity)), quote(l.Schema, c.Entity)
	where, args := w.Where()
	batch := &pgx.Batch{}
	batch.Queue("DROP TABLE IF EXISTS " + staging)
	for _, stmt := range createStagingSQL(c, l.staging()) {
		batch.Queue(stmt)
	}
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		return m, fmt.Errorf("backfill %s: create staging: %w", c.Entity, err)
	}
	err = func() error {
		// coalesce: a row whose window column is NULL is outside the window.
		// Those rows are not versioned again, so their digest stays NULL.
		tag, err := conn.Exec(ctx, fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s WHERE NOT coalesce((%s), false)",
			staging, c.CopyColumns(), c.CopyColumns(), target, where), args...)
		if err != nil {
			return err
		}
		m.Kept = tag.RowsAffected()
		tag, err = conn.Exec(ctx, fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s", staging, stagingColumns(c), stagingColumns(c), acc))
		if err != nil {
			return err
		}
		m.Backfilled = tag.RowsAffected()
		m.Rows = m.Kept + m.Backfilled
		batch := &pgx.Batch{}
		batch.Queue(c.AddPrimaryKeySQL(StagingSchema, l.staging()))
		batch.Queue("ANALYZE " + staging)
		return conn.SendBatch(ctx, batch).Close()
	}()
	if err != nil {
		l.DropStaging(ctx)
		return m, fmt.Errorf("backfill %s: merge: %w", c.Entity, err)
	}
	return m, nil
}
