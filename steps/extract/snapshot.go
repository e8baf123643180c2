package extract

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Snapshot pins one consistent view of a source for a whole run, so that
// every entity read from it, and every retry of a read, sees the same data.
// It holds a read-only transaction open on its own connection and exports
// its snapshot; readers join it with SET TRANSACTION SNAPSHOT.
type Snapshot struct {
	ID string
	// Time is when the snapshot was taken, by the source's clock: the
	// moment every status read from it was observed.
	Time time.Time
	conn *pgxpool.Conn
	tx   pgx.Tx
}

// OpenSnapshot starts the exporting transaction on a connection of pool.
func OpenSnapshot(ctx context.Context, pool *pgxpool.Pool) (*Snapshot, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("open snapshot: %w", err)
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		conn.Release()
		return nil, fmt.Errorf("open snapshot: %w", err)
	}
	s := &Snapshot{conn: conn, tx: tx}
	if err := tx.QueryRow(ctx, "SELECT pg_export_snapshot(), now()").Scan(&s.ID, &s.Time); err != nil {
		s.Close(ctx)
		return nil, fmt.Errorf("open snapshot: export: %w", err)
	}
	return s, nil
}

// Begin starts a read-only transaction on conn that sees the snapshot.
func (s *Snapshot) Begin(ctx context.Context, conn *pgxpool.Conn) (pgx.Tx, error) {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("begin at snapshot %s: %w", s.ID, err)
	}
	// The snapshot id comes from the server, but it is still passed as a
	// literal: SET TRANSACTION SNAPSHOT takes no parameters.
	if _, err := tx.Exec(ctx, "SET TRANSACTION SNAPSHOT "+quoteLiteral(s.ID)); err != nil {
		_ = tx.Rollback(ctx)
		return nil, fmt.Errorf("join snapshot %s: %w", s.ID, err)
	}
	return tx, nil
}

// closeTimeout bounds the rollback that ends a snapshot: a source whose
// network went silent must not keep a finished run, and its run lock,
// waiting for an answer that will not come.
const closeTimeout = 5 * time.Second

// Close ends the exporting transaction; joined transactions keep their
// view. If the source does not answer in time, the connection is closed
// instead, which ends the transaction as surely.
func (s *Snapshot) Close(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	if err := s.tx.Rollback(ctx); err != nil {
		_ = s.conn.Conn().Close(ctx)
	}
	s.conn.Release()
}

func quoteLiteral(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}

// Tx is the exporting transaction, for reading the source's catalog at the
// snapshot. It must not be used concurrently with other calls.
func (s *Snapshot) Tx() pgx.Tx { return s.tx }

// Source is a source's snapshot for a whole run, renewed when lost: a
// snapshot lives only as long as the transaction that exported it, so a
// restarted server or a dropped connection ends it, and every later join
// fails with "invalid snapshot identifier". Source exports a fresh one
// then; the entities read before keep the data of the old one, and each
// read learns the snapshot it got, for the ledger.
type Source struct {
	pool *pgxpool.Pool
	mu   sync.Mutex
	cur  *Snapshot
}

// OpenSource exports the run's first snapshot of the source.
func OpenSource(ctx context.Context, pool *pgxpool.Pool) (*Source, error) {
	snap, err := OpenSnapshot(ctx, pool)
	if err != nil {
		return nil, err
	}
	return &Source{pool: pool, cur: snap}, nil
}

// Current is the snapshot readers join now.
func (s *Source) Current() *Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// Begin starts a read-only transaction on conn at the source's snapshot,
// exporting a new snapshot if the current one was lost.
func (s *Source) Begin(ctx context.Context, conn *pgxpool.Conn) (pgx.Tx, *Snapshot, error) {
	snap := s.Current()
	tx, err := snap.Begin(ctx, conn)
	if err == nil || !lostSnapshot(err) {
		return tx, snap, err
	}
	if snap, err = s.renew(ctx, snap); err != nil {
		return nil, nil, err
	}
	tx, err = snap.Begin(ctx, conn)
	return tx, snap, err
}

// renew replaces the lost snapshot, once however many readers found it
// lost.
func (s *Source) renew(ctx context.Context, lost *Snapshot) (*Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != lost {
		return s.cur, nil
	}
	fresh, err := OpenSnapshot(ctx, s.pool)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s was lost, and a new one could not be exported: %w", lost.ID, err)
	}
	lost.Close(context.WithoutCancel(ctx))
	s.cur = fresh
	return fresh, nil
}

// Close ends the current snapshot.
func (s *Source) Close(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur.Close(ctx)
}

// lostSnapshot recognises a join refused because the exporting transaction
// is gone (SQLSTATE 22023, invalid_parameter_value, on SET TRANSACTION
// SNAPSHOT).
func lostSnapshot(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == pgerrcode.InvalidParameterValue
}
