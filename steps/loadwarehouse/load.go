// Package loadwarehouse loads an entity's spool file into the PostgreSQL
// reporting warehouse. The new rows go by binary COPY into a staging table
// in the nightshift_staging schema; only when it holds exactly what the
// source held does one short transaction move it into the reporting schema,
// keeping the table it replaces as <entity>__previous. Readers see the old table or the new one, never a mix,
// and a failed or aborted load leaves the warehouse as it was.
package loadwarehouse

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dfe-nightshift/nightshift/schemas"
	nssql "github.com/dfe-nightshift/nightshift/sql"
	"github.com/dfe-nightshift/nightshift/steps/reconcile"
	"github.com/dfe-nightshift/nightshift/steps/spool"
)

// StagingSchema holds tables while they load, out of analysts' sight.
const StagingSchema = "nightshift_staging"

// PreviousTable is the name of the version an entity's table replaced.
func PreviousTable(entity string) string { return entity + "__previous" }

// Load is one load of one entity.
type Load struct {
	Pool     *pgxpool.Pool
	Schema   string // the reporting schema analysts read
	Contract *schemas.Contract
	File     spool.File
	// Source is the digest of the rows read at the source snapshot
	// (reconcile.Digest); staging must match it before the swap.
	Source reconcile.Checksum
	// SourceSQL, when set, is the SQL checksum of the same rows
	// (schemas.Contract.ChecksumSQL): the staging table must match it too,
	// an independent check of what the warehouse stored, at the cost of a
	// scan of the table.
	SourceSQL *reconcile.Checksum
	BatchSize int
	Mem       memory.Allocator
	// Views are the analyst views; those that read this entity are created
	// again in the swap's transaction.
	Views []nssql.View
	// Staging names the staging table (default: the entity's name).
	Staging string
}

func (l *Load) staging() string {
	if l.Staging != "" {
		return l.Staging
	}
	return l.Contract.Entity
}

// Result is what a load did.
type Result struct {
	Rows int64
	// Previous is the number of rows of the table it replaced, now kept as
	// <entity>__previous.
	Previous int64
}

// Run stages the spool file, checks it and swaps it in.
func (l *Load) Run(ctx context.Context) (Result, error) {
	staged, err := l.StageFile(ctx)
	if err != nil {
		return Result{}, err
	}
	return l.Publish(ctx, staged)
}

// Publish checks a filled staging table (staged is the digest of the rows
// copied into it) against the source, builds its primary key and swaps it
// in. On error the staging table is dropped and the reporting table is as
// it was.
func (l *Load) Publish(ctx context.Context, staged reconcile.Checksum) (Result, error) {
	c := l.Contract
	conn, err := l.Pool.Acquire(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("load %s: %w", c.Entity, err)
	}
	defer conn.Release()
	if err := l.verify(ctx, conn, staged, true); err != nil {
		l.DropStaging()
		return Result{}, fmt.Errorf("load %s: %w", c.Entity, err)
	}
	res, err := l.swap(ctx, conn)
	if err != nil {
		l.DropStaging()
		return Result{}, fmt.Errorf("load %s: %w", c.Entity, err)
	}
	res.Rows = staged.Rows
	return res, nil
}

// verify checks the staging table against the source: the digest of the
// rows copied against the source's, and, when SourceSQL is set, a SQL
// checksum of the table as stored. index also builds the primary key — one
// sort after the COPY instead of an index insertion per row, which also
// proves the keys unique — and the planner statistics.
func (l *Load) verify(ctx context.Context, conn *pgxpool.Conn, staged reconcile.Checksum, index bool) error {
	c := l.Contract
	staging := quote(StagingSchema, l.staging())
	if err := reconcile.Compare("staging table "+staging, l.Source, staged); err != nil {
		return err
	}
	if index {
		batch := &pgx.Batch{}
		batch.Queue(c.AddPrimaryKeySQL(StagingSchema, l.staging()))
		batch.Queue("ANALYZE " + staging)
		if err := conn.SendBatch(ctx, batch).Close(); err != nil {
			return fmt.Errorf("index staging: %w", err)
		}
	}
	if l.SourceSQL == nil {
		return nil
	}
	got, err := reconcile.Compute(ctx, conn, c.ChecksumSQL(staging))
	if err != nil {
		return fmt.Errorf("staging: %w", err)
	}
	return reconcile.Compare("staging table "+staging+" (SQL checksum)", *l.SourceSQL, got)
}

// swap moves staging into place in one transaction. The current table and
// its index become __previous, replacing the one before.
func (l *Load) swap(ctx context.Context, conn *pgxpool.Conn) (Result, error) {
	c := l.Contract
	var res Result
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// Analysts' queries hold locks on the table; wait for them a while,
		// then fail (and be retried) rather than queue every reader behind us.
		if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '30s'"); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", quote(l.Schema, c.Entity)).Scan(&exists); err != nil {
			return err
		}
		cur, prev := c.Entity, PreviousTable(c.Entity)
		batch := &pgx.Batch{}
		// CASCADE: a view left on the old version (its other tables were
		// missing when it was last due) must not block the swap; it is
		// created again below.
		batch.Queue("DROP TABLE IF EXISTS " + quote(l.Schema, prev) + " CASCADE")
		if exists {
			batch.Queue("SELECT count(*) FROM " + quote(l.Schema, cur))
			batch.Queue(fmt.Sprintf("ALTER TABLE %s RENAME TO %s", quote(l.Schema, cur), quote(prev)))
			batch.Queue(fmt.Sprintf("ALTER INDEX IF EXISTS %s RENAME TO %s", quote(l.Schema, cur+"_pkey"), quote(prev+"_pkey")))
		}
		batch.Queue(fmt.Sprintf("ALTER TABLE %s SET SCHEMA %s", quote(StagingSchema, cur), quote(l.Schema)))
		br := tx.SendBatch(ctx, batch)
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
		if exists {
			if err := br.QueryRow().Scan(&res.Previous); err != nil {
				br.Close()
				return err
			}
		}
		if err := br.Close(); err != nil {
			return err
		}
		return l.recreateViews(ctx, tx)
	})
	if err != nil {
		return Result{}, fmt.Errorf("swap: %w", err)
	}
	return res, nil
}

// recreateViews points the views that read this entity at its new table.
// A view whose other tables are not loaded yet is left out until they are.
func (l *Load) recreateViews(ctx context.Context, tx pgx.Tx) error {
	var due []nssql.View
	for _, v := range l.Views {
		if slices.Contains(v.DependsOn, l.Contract.Entity) {
			due = append(due, v)
		}
	}
	if len(due) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, "SET LOCAL search_path = "+quote(l.Schema)); err != nil {
		return err
	}
	for _, v := range due {
		if _, err := tx.Exec(ctx, "DROP VIEW IF EXISTS "+quote(l.Schema, v.Name)); err != nil {
			return fmt.Errorf("view %s: %w", v.Name, err)
		}
		var missing int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM unnest($1::text[]) d WHERE to_regclass(quote_ident($2) || '.' || quote_ident(d)) IS NULL",
			v.DependsOn, l.Schema).Scan(&missing); err != nil {
			return fmt.Errorf("view %s: %w", v.Name, err)
		}
		if missing > 0 {
			continue
		}
		if _, err := tx.Exec(ctx, v.SQL); err != nil {
			return fmt.Errorf("view %s: %w", v.Name, err)
		}
	}
	return nil
}

// cleanupTimeout bounds the clean-up after a failed or aborted load.
const cleanupTimeout = 30 * time.Second

// DropStaging removes the staging table after a failure. It runs on a fresh
// connection and a fresh context, because the load's may be the very thing
// that was cancelled (an abort), so that nothing half-loaded is left behind.
func (l *Load) DropStaging() {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	_, _ = l.Pool.Exec(ctx, "DROP TABLE IF EXISTS "+quote(StagingSchema, l.staging()))
}

func quote(parts ...string) string { return pgx.Identifier(parts).Sanitize() }
