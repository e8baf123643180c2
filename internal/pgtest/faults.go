package pgtest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// HoldLock takes a lock on a table in a transaction of its own, as a busy
// application or an analyst's long query would, until release is called or
// the test ends.
func HoldLock(t testing.TB, pool *pgxpool.Pool, table, mode string) (release func()) {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatalf("pgtest: hold lock: %v", err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE "+table+" IN "+mode+" MODE"); err != nil {
		t.Fatalf("pgtest: lock %s: %v", table, err)
	}
	release = func() { _ = tx.Rollback(ctx) }
	t.Cleanup(release)
	return release
}

// WaitForBlocked returns the pid of a backend of the pool's database that
// waits on a lock while running a query containing pattern.
func WaitForBlocked(t testing.TB, pool *pgxpool.Pool, pattern string) int32 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var pid int32
		err := pool.QueryRow(context.Background(), `
			SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%' || $1 || '%'
			LIMIT 1`, pattern).Scan(&pid)
		if err == nil {
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("pgtest: no backend blocked on a query like %q", pattern)
	return 0
}

// Terminate ends a backend, as a failover or an administrator would, and
// waits until it is gone, so that it is not found blocked a second time.
func Terminate(t testing.TB, pool *pgxpool.Pool, pid int32) {
	t.Helper()
	ctx := context.Background()
	var ok bool
	if err := pool.QueryRow(ctx, "SELECT pg_terminate_backend($1, 10000)", pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("pgtest: terminate backend %d: %v", pid, err)
	}
}
