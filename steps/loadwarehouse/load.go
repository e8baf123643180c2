// Package loadwarehouse loads an entity's spool file into the PostgreSQL
// reporting warehouse. The new rows go by binary COPY into a staging table
// in the nightshift_staging schema; only when it holds exactly what the
// source held does one short transaction move it into the reporting schema,
// keeping the table it replaces as <entity>__previous. Readers see the old table or the new one, never a mix,
// and a failed or aborted load leaves the warehouse as it was.
package loadwarehouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
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
	// Source is the checksum of the rows at the source snapshot; staging must
	// match it before the swap.
	Source    reconcile.Checksum
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

// Run stages, verifies and swaps in the entity's table.
func (l *Load) Run(ctx context.Context) (Result, error) {
	c := l.Contract
	if err := spool.Verify(l.File); err != nil {
		return Result{}, fmt.Errorf("load %s: %w", c.Entity, err)
	}
	conn, err := l.Pool.Acquire(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("load %s: %w", c.Entity, err)
	}
	defer conn.Release()

	if err := l.stage(ctx, conn); err != nil {
		l.dropStaging()
		return Result{}, fmt.Errorf("load %s: %w", c.Entity, err)
	}
	res, err := l.swap(ctx, conn)
	if err != nil {
		l.dropStaging()
		return Result{}, fmt.Errorf("load %s: %w", c.Entity, err)
	}
	return res, nil
}

// stage creates the staging table, copies the spool file into it, builds
// its primary key and checks it against the source.
func (l *Load) stage(ctx context.Context, conn *pgxpool.Conn) error {
	c := l.Contract
	staging := quote(StagingSchema, l.staging())
	batch := &pgx.Batch{}
	// A staging table left by a run that was killed is stale by definition:
	// only one run holds the warehouse at a time.
	batch.Queue("DROP TABLE IF EXISTS " + staging)
	for _, stmt := range c.CreateTableSQL(StagingSchema, l.staging()) {
		batch.Queue(stmt)
	}
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("create staging: %w", err)
	}

	rr, closeFile, err := spool.Open(ctx, l.File.Path, l.BatchSize, l.Mem)
	if err != nil {
		return err
	}
	defer func() { _ = closeFile() }()
	stream := newCopyStream(c, func() (arrow.RecordBatch, error) {
		if !rr.Next() {
			if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			return nil, io.EOF
		}
		rec := rr.RecordBatch()
		rec.Retain()
		return rec, nil
	})
	defer stream.close()
	copySQL := fmt.Sprintf("COPY %s (%s) FROM STDIN (FORMAT binary)", staging, c.CopyColumns())
	tag, err := conn.Conn().PgConn().CopyFrom(ctx, stream, copySQL)
	if err != nil {
		return fmt.Errorf("copy into staging: %w", err)
	}
	if tag.RowsAffected() != l.File.Rows {
		return fmt.Errorf("copy into staging: %d rows copied, the spool file has %d", tag.RowsAffected(), l.File.Rows)
	}

	// The primary key is built after the COPY: one sort instead of millions
	// of index insertions. It also proves the keys are unique.
	batch = &pgx.Batch{}
	batch.Queue(c.AddPrimaryKeySQL(StagingSchema, l.staging()))
	batch.Queue("ANALYZE " + staging)
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("index staging: %w", err)
	}

	got, err := reconcile.Compute(ctx, conn, c.ChecksumSQL(staging))
	if err != nil {
		return fmt.Errorf("staging: %w", err)
	}
	return reconcile.Compare("staging table "+staging, l.Source, got)
}

// swap moves staging into place in one transaction. The current table and
// its index become __previous, replacing the one before.
func (l *Load) swap(ctx context.Context, conn *pgxpool.Conn) (Result, error) {
	c := l.Contract
	res := Result{Rows: l.File.Rows}
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

// dropStaging removes a staging table after a failure. It runs on a fresh
// connection and a fresh context, because the load's may be the very thing
// that was cancelled (an abort), so that nothing half-loaded is left behind.
func (l *Load) dropStaging() {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	_, _ = l.Pool.Exec(ctx, "DROP TABLE IF EXISTS "+quote(StagingSchema, l.staging()))
}

func quote(parts ...string) string { return pgx.Identifier(parts).Sanitize() }
