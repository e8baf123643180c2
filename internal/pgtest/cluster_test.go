package pgtest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// A restart closes every connection; a new one works at once, at the same
// URL.
func TestClusterRestart(t *testing.T) {
	t.Parallel()
	c := NewCluster(t)
	conn := Connect(t, c.URL())
	mustQuery(t, conn)

	c.Restart(t)

	if err := query(conn); err == nil {
		t.Fatalf("a connection from before the restart still works")
	}
	mustQuery(t, Connect(t, c.URL()))
}

// A stopped server refuses connections until it starts again; a killed one
// drops them, and starts again with its committed data.
func TestClusterStopStartKill(t *testing.T) {
	t.Parallel()
	c := NewCluster(t)

	c.Stop(t)
	if err := tryConnect(c.URL()); err == nil {
		t.Fatalf("connected to a stopped server")
	}
	c.Start(t)
	conn := Connect(t, c.URL())
	if _, err := conn.Exec(context.Background(), "CREATE TABLE kept AS SELECT 42 AS answer"); err != nil {
		t.Fatalf("create table: %v", err)
	}

	c.Kill(t)
	if err := query(conn); err == nil {
		t.Fatalf("a connection to a killed server still works")
	}
	if err := tryConnect(c.URL()); err == nil {
		t.Fatalf("connected to a killed server")
	}

	c.Start(t)
	var answer int
	if err := Connect(t, c.URL()).QueryRow(context.Background(), "SELECT answer FROM kept").Scan(&answer); err != nil || answer != 42 {
		t.Fatalf("after the crash: answer %d, %v; want 42", answer, err)
	}
}

// query runs a trivial query, giving up after a few seconds.
func query(conn *pgx.Conn) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

func mustQuery(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	if err := query(conn); err != nil {
		t.Fatalf("query: %v", err)
	}
}

// tryConnect connects and disconnects, giving up after a few seconds.
func tryConnect(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}
