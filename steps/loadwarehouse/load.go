// Package loadwarehouse loads an entity's rows into the PostgreSQL
// reporting warehouse. The new rows go by binary COPY into a staging table
// in the nightshift_staging schema and are checked against the source
// there; only when every entity of a run is staged does one transaction
// (Publisher) move them all into the reporting schema, keeping each table
// it replaces as <entity>__previous. Readers see the old tables or the new
// ones, never a mix, and a failed or aborted run leaves the warehouse as it
// was.
package loadwarehouse

import (
	"context"
	"fmt"
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
	// Digests, when set, is the directory where a stage keeps each row's
	// key and digest (rowdigest), for the versions' diff to read instead of
	// the staging table.
	Digests string
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

// cleanupTimeout bounds the clean-up after a failed or aborted load.
const cleanupTimeout = 30 * time.Second

// DropStaging removes the staging table after a failure. It runs on a fresh
// connection and a context that outlives ctx's cancellation, because ctx
// may be the very thing that was cancelled (an abort), so that nothing
// half-loaded is left behind.
func (l *Load) DropStaging(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_, _ = l.Pool.Exec(ctx, "DROP TABLE IF EXISTS "+quote(StagingSchema, l.staging())+", "+quote(StagingSchema, ChangesTable(l.staging())))
}

// ChangesTable names the table where the versions' diff leaves the keys
// of a staging table that changed, for the publish: it goes with the
// staging table.
func ChangesTable(staging string) string { return staging + "__changes" }

func quote(parts ...string) string { return pgx.Identifier(parts).Sanitize() }
