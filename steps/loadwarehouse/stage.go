package loadwarehouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/reconcile"
	"github.com/dfe-nightshift/nightshift/steps/rowdigest"
	"github.com/dfe-nightshift/nightshift/steps/spool"
)

// errStageAborted is what the COPY reads when its stage is aborted: the
// COPY then fails, and PostgreSQL discards what it had received.
var errStageAborted = errors.New("staging aborted")

// Stage is a binary COPY into a new staging table, in progress. Batches
// handed to Write are encoded and sent as they come, so the warehouse loads
// while the source is still being read; memory stays at the few batches
// queued. A Stage ends with Close, which returns the digest of the rows
// copied, or with Abort, which leaves no staging table behind.
type Stage struct {
	load    *Load
	conn    *pgxpool.Conn
	stream  *copyStream
	batches chan arrow.RecordBatch
	abort   chan struct{}
	once    sync.Once
	// done is closed when the COPY has returned, with copied and err.
	done   chan struct{}
	copied int64
	err    error
	// keys collects the rows' keys and digests (Load.Digests).
	keys *rowdigest.Set
}

// RowDigestColumn is the staging tables' one column beyond the contract's:
// each row's digest (reconcile.Digest's hash of the row as copied),
// computed as the row streams by. The versions of the entity are kept by
// comparing it with the digest the current version was stored with, so a
// run finds what changed without comparing values; the publish drops it
// once the versions are written (a catalog-only change), so analysts
// never see it.
const RowDigestColumn = "nightshift_row_digest"

// createStagingSQL creates a staging table: the contract's columns, then
// RowDigestColumn.
func createStagingSQL(c *schemas.Contract, table string) []string {
	return append(c.CreateTableSQL(StagingSchema, table),
		fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s bigint", quote(StagingSchema, table), quote(RowDigestColumn)),
		// The load analyzes the table itself. An autovacuum woken by the
		// COPY would hold a lock that the primary key and the publish's
		// swap wait a second (deadlock_timeout) for before it gives way;
		// the swap turns autovacuum back on (SwapIn).
		fmt.Sprintf("ALTER TABLE %s SET (autovacuum_enabled = false)", quote(StagingSchema, table)))
}

// stagingColumns is the column list of a COPY or INSERT into a staging
// table, the digest included.
func stagingColumns(c *schemas.Contract) string {
	return c.CopyColumns() + ", " + quote(RowDigestColumn)
}

// stageQueue is how many batches may wait for the COPY: enough to ride out
// a hiccup on either side, few enough to bound memory.
const stageQueue = 2

// Begin creates the staging table, replacing one a killed run left behind
// (only one run holds the warehouse at a time), and starts the COPY.
func (l *Load) Begin(ctx context.Context) (*Stage, error) {
	c := l.Contract
	conn, err := l.Pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("stage %s: %w", c.Entity, err)
	}
	staging := quote(StagingSchema, l.staging())
	batch := &pgx.Batch{}
	batch.Queue("DROP TABLE IF EXISTS " + staging)
	for _, stmt := range createStagingSQL(c, l.staging()) {
		batch.Queue(stmt)
	}
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		conn.Release()
		return nil, fmt.Errorf("stage %s: create staging: %w", c.Entity, err)
	}
	s := &Stage{load: l, conn: conn, batches: make(chan arrow.RecordBatch, stageQueue), abort: make(chan struct{}), done: make(chan struct{})}
	if l.Digests != "" {
		// A digest set of an earlier attempt is of other rows.
		if err := os.RemoveAll(l.Digests); err != nil {
			conn.Release()
			return nil, fmt.Errorf("stage %s: %w", c.Entity, err)
		}
		s.keys = rowdigest.New(l.Digests)
	}
	s.stream = newCopyStream(c, func() (arrow.RecordBatch, error) {
		select {
		case rec, ok := <-s.batches:
			if !ok {
				return nil, io.EOF
			}
			return rec, nil
		case <-s.abort:
			return nil, errStageAborted
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}, s.keys)
	copySQL := fmt.Sprintf("COPY %s (%s) FROM STDIN (FORMAT binary)", staging, stagingColumns(c))
	go func() {
		defer close(s.done)
		tag, err := conn.Conn().PgConn().CopyFrom(ctx, s.stream, copySQL)
		s.copied, s.err = tag.RowsAffected(), err
	}()
	return s, nil
}

// Write queues a batch for the COPY and takes ownership of it. It fails if
// the COPY has already failed.
func (s *Stage) Write(ctx context.Context, rec arrow.RecordBatch) error {
	select {
	case s.batches <- rec:
		return nil
	case <-s.done:
		rec.Release()
		if s.err != nil {
			return fmt.Errorf("stage %s: copy into staging: %w", s.load.Contract.Entity, s.err)
		}
		return fmt.Errorf("stage %s: copy into staging ended early", s.load.Contract.Entity)
	case <-ctx.Done():
		rec.Release()
		return ctx.Err()
	}
}

// Close ends the COPY and returns the digest of the rows it copied, as
// encoded. On error the staging table is dropped.
func (s *Stage) Close(ctx context.Context) (reconcile.Checksum, error) {
	if s.conn == nil {
		return reconcile.Checksum{}, fmt.Errorf("stage %s: already ended", s.load.Contract.Entity)
	}
	close(s.batches)
	<-s.done
	s.finish()
	c := s.load.Contract
	if s.err != nil {
		s.load.DropStaging(ctx)
		return reconcile.Checksum{}, fmt.Errorf("stage %s: copy into staging: %w", c.Entity, s.err)
	}
	got := s.stream.digest.Checksum()
	if s.copied != got.Rows {
		s.load.DropStaging(ctx)
		return reconcile.Checksum{}, fmt.Errorf("stage %s: copy into staging: %d rows copied, %d sent", c.Entity, s.copied, got.Rows)
	}
	if s.keys != nil {
		// Without them the diff reads the staging table instead: slower,
		// never wrong, so a failure here is not the stage's.
		if err := s.keys.Save(); err != nil {
			_ = os.RemoveAll(s.load.Digests)
		}
	}
	return got, nil
}

// Abort cancels the COPY and drops the staging table. After Close it does
// nothing, so it can be deferred.
func (s *Stage) Abort(ctx context.Context) {
	if s.conn == nil {
		return
	}
	s.once.Do(func() { close(s.abort) })
	<-s.done
	s.finish()
	s.load.DropStaging(ctx)
	if s.keys != nil {
		s.keys.Close()
		_ = os.RemoveAll(s.load.Digests)
	}
}

// finish releases what the COPY left — batches still queued, one half
// encoded, the connection — once the COPY has returned.
func (s *Stage) finish() {
drain:
	for {
		select {
		case rec, ok := <-s.batches:
			if !ok {
				break drain
			}
			rec.Release()
		default:
			break drain
		}
	}
	s.stream.close()
	s.conn.Release()
	s.conn = nil
}

// StageFile copies the spool file into a new staging table and returns
// the digest of the rows copied: the load's path when the extract did not
// stage as it read (a retried load, or one in a later process).
func (l *Load) StageFile(ctx context.Context) (reconcile.Checksum, error) {
	c := l.Contract
	if err := spool.Verify(l.File); err != nil {
		return reconcile.Checksum{}, fmt.Errorf("load %s: %w", c.Entity, err)
	}
	rr, closeFile, err := spool.Open(ctx, l.File.Path, l.BatchSize, l.Mem)
	if err != nil {
		return reconcile.Checksum{}, fmt.Errorf("load %s: %w", c.Entity, err)
	}
	defer func() { _ = closeFile() }()
	st, err := l.Begin(ctx)
	if err != nil {
		return reconcile.Checksum{}, err
	}
	for rr.Next() {
		rec := rr.RecordBatch()
		rec.Retain()
		if err := st.Write(ctx, rec); err != nil {
			st.Abort(ctx)
			return reconcile.Checksum{}, err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		st.Abort(ctx)
		return reconcile.Checksum{}, fmt.Errorf("load %s: read spool: %w", c.Entity, err)
	}
	got, err := st.Close(ctx)
	if err != nil {
		return reconcile.Checksum{}, err
	}
	if got.Rows != l.File.Rows {
		l.DropStaging(ctx)
		return reconcile.Checksum{}, fmt.Errorf("load %s: %d rows copied, the spool file has %d", c.Entity, got.Rows, l.File.Rows)
	}
	return got, nil
}
