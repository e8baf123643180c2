// Package pgtest gives each test its own throwaway database on a real
// PostgreSQL server, so tests run in parallel and leave nothing behind.
//
// The server is NIGHTSHIFT_TEST_DATABASE_URL, or the local default
// postgres://postgres@127.0.0.1:5432/postgres. A server that cannot be
// reached fails the test: a missing PostgreSQL must never turn into a skip.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is the server the tests use when NIGHTSHIFT_TEST_DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// ServerURL returns the maintenance database URL of the test server.
func ServerURL() string {
	if u := os.Getenv("NIGHTSHIFT_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// NewDatabase creates an empty database with a unique name and returns its
// URL. The database is dropped when the test ends, even if it still has
// connections.
func NewDatabase(t testing.TB) string {
	t.Helper()
	return newDatabase(t, "")
}

// NewSQLASCIIDatabase is NewDatabase with the server encoding SQL_ASCII:
// what a legacy production database can be, where any byte goes in and
// text need not be valid UTF-8.
func NewSQLASCIIDatabase(t testing.TB) string {
	t.Helper()
	return newDatabase(t, " ENCODING 'SQL_ASCII' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'")
}

func newDatabase(t testing.TB, options string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	admin := connect(ctx, t, ServerURL())
	defer admin.Close(ctx)

	var buf [6]byte
	if _, err := rand.Read(buf[:]); err != nil {
		t.Fatalf("pgtest: random name: %v", err)
	}
	name := "nstest_" + hex.EncodeToString(buf[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name+options); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin := connect(ctx, t, ServerURL())
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})

	u, err := url.Parse(ServerURL())
	if err != nil {
		t.Fatalf("pgtest: NIGHTSHIFT_TEST_DATABASE_URL must be a postgres:// URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Connect opens a connection that is closed when the test ends.
func Connect(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := connect(ctx, t, url)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func connect(ctx context.Context, t testing.TB, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("pgtest: the tests need a PostgreSQL server (set NIGHTSHIFT_TEST_DATABASE_URL, or run `make test`, which starts one): %v", err)
	}
	return conn
}
