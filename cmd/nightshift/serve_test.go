package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestServeShowsTheRunHistory(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.05)
	require.Equal(t, exitOK, cli(t, nil, "--config", p.config, "run", "--entity", "trainees", "--reason", "serve <me>").code)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut lockedBuffer
	code := make(chan int, 1)
	go func() {
		code <- Main(ctx, []string{"--config", p.config, "serve", "--listen", "127.0.0.1:0"}, &out, &errOut, nil)
	}()
	addr := regexp.MustCompile(`serving the run history on (http://\S+)/`)
	var base string
	require.Eventually(t, func() bool {
		m := addr.FindStringSubmatch(out.String())
		if m != nil {
			base = m[1]
		}
		return m != nil
	}, 15*time.Second, 20*time.Millisecond, "stderr: %s", errOut.String())

	fetch := func(method, path string) (int, string) {
		req, err := http.NewRequestWithContext(ctx, method, base+path, nil)
		require.NoError(t, err)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(body)
	}
	status, body := fetch(http.MethodGet, "/")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, `<a href="/runs/1">1</a>`)
	require.Contains(t, body, "serve &lt;me&gt;")
	status, body = fetch(http.MethodGet, "/runs/1")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, `<span class="bar succeeded`)
	require.Contains(t, body, "Nothing to do.")
	status, body = fetch(http.MethodGet, "/entities")
	require.Equal(t, http.StatusOK, status)
	require.Regexp(t, `(?s)id="entity-trainees".*?run 1</a>`, body)
	status, _ = fetch(http.MethodGet, "/runs/99")
	require.Equal(t, http.StatusNotFound, status)
	status, _ = fetch(http.MethodPost, "/")
	require.Equal(t, http.StatusMethodNotAllowed, status)

	cancel()
	select {
	case c := <-code:
		require.Equal(t, exitOK, c, errOut.String())
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop when its context ended")
	}
	require.NotContains(t, errOut.String(), "not a loopback address")
}
