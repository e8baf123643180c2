package pgtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/golang-migrate/migrate/v4"
	"github.com/jackc/pgx/v5/pgxpool"

	nssql "github.com/dfe-nightshift/nightshift/sql"
)

// NewWarehouse creates a database migrated to the latest warehouse schema
// and returns its URL.
func NewWarehouse(t testing.TB) string {
	t.Helper()
	url := NewDatabase(t)
	m, err := nssql.Migrator(url, "")
	if err != nil {
		t.Fatalf("pgtest: migrator: %v", err)
	}
	defer m.Close()
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		t.Fatalf("pgtest: migrate warehouse: %v", err)
	}
	return url
}

// Pool opens a pool that is closed when the test ends.
func Pool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatalf("pgtest: pool: %v", err)
	}
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("pgtest: pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}
