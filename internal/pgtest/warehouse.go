package pgtest

import (
	"context"
	"errors"
	"fmt"
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
	if err := Migrate(url); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return url
}

// Migrate migrates the database at url to the latest warehouse schema.
func Migrate(url string) error {
	m, err := nssql.Migrator(url, "")
	if err != nil {
		return fmt.Errorf("migrator: %w", err)
	}
	defer m.Close()
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate warehouse: %w", err)
	}
	return nil
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
