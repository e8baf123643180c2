package extract

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
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

// Close ends the exporting transaction; joined transactions keep their view.
func (s *Snapshot) Close(ctx context.Context) {
	_ = s.tx.Rollback(ctx)
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
