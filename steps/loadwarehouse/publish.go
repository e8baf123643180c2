package loadwarehouse

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dfe-nightshift/nightshift/schemas"
	nssql "github.com/dfe-nightshift/nightshift/sql"
	"github.com/dfe-nightshift/nightshift/steps/reconcile"
)

// DiscardedTable is where a restore keeps the version it took out, so that
// the restore itself can be undone by naming that version's run.
func DiscardedTable(entity string) string { return entity + "__discarded" }

// DefaultLockTimeout bounds how long the publish waits for analysts'
// queries to release the tables it swaps. It then fails, to be retried,
// rather than queue every new reader behind it.
const DefaultLockTimeout = 10 * time.Second

// Prepare checks a filled staging table (staged is the digest of the rows
// copied into it) against the source, and builds its primary key and
// planner statistics, so that the publish is renames only. On error the
// staging table is dropped.
func (l *Load) Prepare(ctx context.Context, staged reconcile.Checksum) (int64, error) {
	c := l.Contract
	conn, err := l.Pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("load %s: %w", c.Entity, err)
	}
	defer conn.Release()
	if err := l.verify(ctx, conn, staged, true); err != nil {
		l.DropStaging(ctx)
		return 0, fmt.Errorf("load %s: %w", c.Entity, err)
	}
	return staged.Rows, nil
}

// HasStaging reports whether the entity's staging table exists.
func (l *Load) HasStaging(ctx context.Context) (bool, error) {
	var ok bool
	err := l.Pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", quote(StagingSchema, l.staging())).Scan(&ok)
	return ok, err
}

// Publisher is one warehouse publish transaction: the staged tables of a
// run swapped in together, the views rebuilt once, the versions recorded.
type Publisher struct {
	Tx     pgx.Tx
	Schema string
	RunID  int64
	Views  []nssql.View
	// LockTimeout is DefaultLockTimeout unless set.
	LockTimeout time.Duration

	// exists says which reporting tables there were when Begin locked
	// them; only this transaction changes them after that.
	exists map[string]bool
}

// Begin prepares the transaction: it bounds lock waits and takes, in one
// order (views, then tables, each by name), every lock the publish needs,
// so that two publishes, or a publish and a reader, cannot deadlock on the
// way; a deadlock with a reader that takes its locks piecemeal is detected
// by the server and the publish retried.
func (p *Publisher) Begin(ctx context.Context, entities []string) error {
	if _, err := p.Tx.Exec(ctx, fmt.Sprintf("SET LOCAL lock_timeout = '%dms'", cmp.Or(p.LockTimeout, DefaultLockTimeout).Milliseconds())); err != nil {
		return err
	}
	var names []string
	for _, v := range p.Views {
		names = append(names, v.Name)
	}
	tables := slices.Clone(entities)
	slices.Sort(tables)
	for _, e := range tables {
		names = append(names, e, PreviousTable(e), DiscardedTable(e))
	}
	// One round trip to learn which exist, one statement to lock them: a
	// LOCK of several tables takes them in the order listed.
	rows, err := p.Tx.Query(ctx, `SELECT n FROM unnest($1::text[]) WITH ORDINALITY AS t(n, i)
		WHERE to_regclass(quote_ident($2) || '.' || quote_ident(n)) IS NOT NULL ORDER BY i`, names, p.Schema)
	if err != nil {
		return err
	}
	present, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	p.exists = map[string]bool{}
	quoted := make([]string, len(present))
	for i, n := range present {
		p.exists[n] = true
		quoted[i] = quote(p.Schema, n)
	}
	if len(quoted) > 0 {
		if _, err := p.Tx.Exec(ctx, "LOCK TABLE "+strings.Join(quoted, ", ")+" IN ACCESS EXCLUSIVE MODE"); err != nil {
			return fmt.Errorf("lock the tables to publish: %w", err)
		}
	}
	// Views follow the table they were created on through renames, so
	// they are dropped first and created again on the new tables at the end.
	for _, v := range p.Views {
		if _, err := p.Tx.Exec(ctx, "DROP VIEW IF EXISTS "+quote(p.Schema, v.Name)); err != nil {
			return fmt.Errorf("view %s: %w", v.Name, err)
		}
	}
	return nil
}

// SwapIn moves the entity's staging table into the reporting schema. The
// table it replaces becomes __previous; the one before that, and any
// version a restore discarded, are dropped. It returns the rows of the
// replaced table, as recorded when it was placed: counting them here would
// scan it while every table of the run is locked.
func (p *Publisher) SwapIn(ctx context.Context, c *schemas.Contract, staging string, rows int64) (int64, error) {
	cur, prev := c.Entity, PreviousTable(c.Entity)
	exists := p.exists[cur]
	batch := &pgx.Batch{}
	batch.Queue("DROP TABLE IF EXISTS " + quote(p.Schema, prev) + " CASCADE")
	batch.Queue("DROP TABLE IF EXISTS " + quote(p.Schema, DiscardedTable(c.Entity)) + " CASCADE")
	if exists {
		p.rename(batch, cur, prev)
	}
	batch.Queue(fmt.Sprintf("ALTER TABLE %s SET SCHEMA %s", quote(StagingSchema, staging), quote(p.Schema)))
	if staging != cur {
		batch.Queue(fmt.Sprintf("ALTER TABLE %s RENAME TO %s", quote(p.Schema, staging), quote(cur)))
		batch.Queue(fmt.Sprintf("ALTER INDEX IF EXISTS %s RENAME TO %s", quote(p.Schema, staging+"_pkey"), quote(cur+"_pkey")))
	}
	// Off while it was staged (createStagingSQL); analysts' tables are
	// vacuumed like any other.
	batch.Queue(fmt.Sprintf("ALTER TABLE %s RESET (autovacuum_enabled)", quote(p.Schema, cur)))
	if err := p.Tx.SendBatch(ctx, batch).Close(); err != nil {
		return 0, fmt.Errorf("swap %s: %w", c.Entity, err)
	}
	p.exists[prev], p.exists[DiscardedTable(c.Entity)], p.exists[cur] = exists, false, true
	return p.placed(ctx, c.Entity, rows)
}

// rename queues the rename of a table and of its primary key index.
func (p *Publisher) rename(batch *pgx.Batch, from, to string) {
	batch.Queue(fmt.Sprintf("ALTER TABLE %s RENAME TO %s", quote(p.Schema, from), quote(to)))
	batch.Queue(fmt.Sprintf("ALTER INDEX IF EXISTS %s RENAME TO %s", quote(p.Schema, from+"_pkey"), quote(to+"_pkey")))
}

// placed records that the entity's current table now holds this run's data
// and that the one it replaced is the previous version, and returns the
// rows of the replaced one (0 when none was recorded).
func (p *Publisher) placed(ctx context.Context, entity string, rows int64) (int64, error) {
	batch := &pgx.Batch{}
	batch.Queue(`DELETE FROM nightshift.table_versions WHERE target = 'warehouse' AND entity = $1 AND slot IN ('previous', 'discarded')`, entity)
	batch.Queue(`UPDATE nightshift.table_versions SET slot = 'previous', placed_by = $2, placed_at = now()
		WHERE target = 'warehouse' AND entity = $1 AND slot = 'current' RETURNING coalesce(rows, 0)`, entity, p.RunID)
	batch.Queue(`INSERT INTO nightshift.table_versions (target, entity, slot, run_id, rows, placed_by) VALUES ('warehouse', $1, 'current', $2, $3, $2)`,
		entity, p.RunID, rows)
	br := p.Tx.SendBatch(ctx, batch)
	var previous int64
	_, err := br.Exec()
	if err == nil {
		err = br.QueryRow().Scan(&previous)
		if errors.Is(err, pgx.ErrNoRows) {
			err = nil
		}
	}
	if err == nil {
		_, err = br.Exec()
	}
	if err = errors.Join(err, br.Close()); err != nil {
		return 0, fmt.Errorf("record version of %s: %w", entity, err)
	}
	return previous, nil
}

// Finish creates the views again on the tables now in place; a view whose
// tables are not all loaded yet is left out until they are.
func (p *Publisher) Finish(ctx context.Context) error {
	if _, err := p.Tx.Exec(ctx, "SET LOCAL search_path = "+quote(p.Schema)); err != nil {
		return err
	}
	for _, v := range p.Views {
		var missing int
		if err := p.Tx.QueryRow(ctx, "SELECT count(*) FROM unnest($1::text[]) d WHERE to_regclass(quote_ident($2) || '.' || quote_ident(d)) IS NULL",
			v.DependsOn, p.Schema).Scan(&missing); err != nil {
			return fmt.Errorf("view %s: %w", v.Name, err)
		}
		if missing > 0 {
			continue
		}
		if _, err := p.Tx.Exec(ctx, v.SQL); err != nil {
			return fmt.Errorf("view %s: %w", v.Name, err)
		}
	}
	_, err := p.Tx.Exec(ctx, "RESET search_path")
	return err
}

// Version is which run's data a slot of an entity's table holds.
type Version struct {
	Slot     string
	RunID    int64
	PlacedBy int64
	// Rows is the table's rows when it was placed (nil: not recorded).
	Rows *int64
}

// Versions reads the slots of an entity's tables in a target.
func Versions(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, target, entity string) (map[string]Version, error) {
	rows, err := q.Query(ctx, `SELECT slot, run_id, placed_by, rows FROM nightshift.table_versions WHERE target = $1 AND entity = $2`, target, entity)
	if err != nil {
		return nil, fmt.Errorf("versions of %s: %w", entity, err)
	}
	vs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Version, error) {
		var v Version
		return v, row.Scan(&v.Slot, &v.RunID, &v.PlacedBy, &v.Rows)
	})
	if err != nil {
		return nil, fmt.Errorf("versions of %s: %w", entity, err)
	}
	out := map[string]Version{}
	for _, v := range vs {
		out[v.Slot] = v
	}
	return out, nil
}
