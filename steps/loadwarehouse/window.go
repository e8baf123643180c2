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

// ReplaceWindow replaces, in one transaction, the rows of the entity's
// table in the window with the rows of a filled staging table (a backfill
// chunk, staged as WindowStaging; staged is the digest of its rows). The
// staging table is checked against the source first, so the table is never
// left with half a window.
func (l *Load) ReplaceWindow(ctx context.Context, staged reconcile.Checksum, w Window) (Result, error) {
	c := l.Contract
	conn, err := l.Pool.Acquire(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("backfill %s: %w", c.Entity, err)
	}
	defer conn.Release()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", quote(l.Schema, c.Entity)).Scan(&exists); err != nil {
		return Result{}, fmt.Errorf("backfill %s: %w", c.Entity, err)
	}
	if !exists {
		l.DropStaging()
		return Result{}, fmt.Errorf("backfill %s: %w", c.Entity, ErrNoTable)
	}
	// No primary key on the window's staging table: the INSERT into the
	// keyed table below proves the keys unique.
	if err := l.verify(ctx, conn, staged, false); err != nil {
		l.DropStaging()
		return Result{}, fmt.Errorf("backfill %s: %w", c.Entity, err)
	}
	res := Result{Rows: staged.Rows}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '30s'"); err != nil {
			return err
		}
		target, staging := quote(l.Schema, c.Entity), quote(StagingSchema, l.Staging)
		where, args := w.Where()
		tag, err := tx.Exec(ctx, "DELETE FROM "+target+" WHERE "+where, args...)
		if err != nil {
			return err
		}
		res.Previous = tag.RowsAffected()
		if _, err := tx.Exec(ctx, fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s", target, c.CopyColumns(), c.CopyColumns(), staging)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "DROP TABLE "+staging)
		return err
	})
	if err != nil {
		l.DropStaging()
		return Result{}, fmt.Errorf("backfill %s: replace %s %d..%d: %w", c.Entity, w.Key, w.Lo, w.Hi, err)
	}
	return res, nil
}
