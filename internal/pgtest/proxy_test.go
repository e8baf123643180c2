package pgtest

import (
	"context"
	"testing"
	"time"
)

func TestProxyLatency(t *testing.T) {
	t.Parallel()
	p := NewProxy(t, ServerURL())
	conn := Connect(t, p.URL())
	mustQuery(t, conn)

	p.Latency(t, 200*time.Millisecond)
	start := time.Now()
	mustQuery(t, conn)
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Fatalf("a query with 200ms of latency took %v", took)
	}

	p.Clear(t)
	start = time.Now()
	mustQuery(t, conn)
	if took := time.Since(start); took >= 200*time.Millisecond {
		t.Fatalf("a query after Clear took %v", took)
	}
}

func TestProxyResetPeer(t *testing.T) {
	t.Parallel()
	p := NewProxy(t, ServerURL())
	conn := Connect(t, p.URL())
	mustQuery(t, conn)

	p.ResetPeer(t)
	if err := query(conn); err == nil {
		t.Fatalf("a query after ResetPeer worked")
	}
	if err := tryConnect(p.URL()); err == nil {
		t.Fatalf("connected after ResetPeer")
	}

	p.Clear(t)
	mustQuery(t, Connect(t, p.URL()))
}

func TestProxyTimeout(t *testing.T) {
	t.Parallel()
	p := NewProxy(t, ServerURL())
	conn := Connect(t, p.URL())
	mustQuery(t, conn)

	p.Timeout(t)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err == nil {
		t.Fatalf("a query after Timeout worked")
	}
	// It hung until its own deadline (timers may fire a hair early).
	if took := time.Since(start); took < 450*time.Millisecond {
		t.Fatalf("a query after Timeout failed after %v, before its own timeout", took)
	}

	p.Clear(t)
	mustQuery(t, Connect(t, p.URL()))
}

func TestProxyCut(t *testing.T) {
	t.Parallel()
	p := NewProxy(t, ServerURL())
	conn := Connect(t, p.URL())
	mustQuery(t, conn)

	p.Cut(t)
	if err := query(conn); err == nil {
		t.Fatalf("a query after Cut worked")
	}
	if err := tryConnect(p.URL()); err == nil {
		t.Fatalf("connected after Cut")
	}

	p.Restore(t)
	mustQuery(t, Connect(t, p.URL()))
}
