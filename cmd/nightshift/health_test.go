package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// syncBuffer is a buffer the daemon writes to while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestScheduleDaemonServesHealthReadinessAndRestoredMetrics(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.05)
	r := cli(t, nil, "--config", p.config, "run")
	require.Equal(t, exitOK, r.code, r.stderr)

	dir := t.TempDir()
	// Once a year, so that it neither fires nor is overdue during the test.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "yearly.yaml"),
		[]byte("name: yearly\ncron: \"0 2 1 1 *\"\ntimezone: Europe/London\nentities: all\ndeadline: \"07:00\"\n"), 0o600))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"--config", p.config, "schedule", "--dir", dir, "--listen", "127.0.0.1:0", "--grace", "1s"}, &out, &errOut, nil)
	}()
	serving := regexp.MustCompile(`serving /healthz, /readyz and /metrics on (http://\S+)`)
	var base string
	require.Eventually(t, func() bool {
		m := serving.FindStringSubmatch(out.String())
		if m != nil {
			base = m[1]
		}
		return m != nil
	}, 30*time.Second, 20*time.Millisecond, "the daemon did not start: %s", errOut.String())

	get := func(path string) (int, string) {
		resp, err := http.Get(base + path) //nolint:noctx // a test
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	code, body := get("/healthz")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"status":"ok"}`, body)

	code, body = get("/readyz")
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"ready":true,"checks":{"warehouse":{"ok":true},"overdue":{"ok":true},"last_run":{"ok":true,"detail":"run 1 succeeded"}}}`, body)

	// The run before the daemon started is in its entity gauges.
	code, body = get("/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Regexp(t, `(?m)^nightshift_entity_rows_published\{entity="trainees"\} [1-9]`, body)
	require.Regexp(t, `(?m)^nightshift_last_success_timestamp_seconds\{entity="trainees"\} `, body)
	require.Regexp(t, `(?m)^nightshift_entity_data_age_seconds\{entity="trainees"\} `, body)

	cancel()
	select {
	case code := <-done:
		require.Equal(t, exitOK, code, errOut.String())
	case <-time.After(30 * time.Second):
		t.Fatal("the daemon did not stop")
	}
}
