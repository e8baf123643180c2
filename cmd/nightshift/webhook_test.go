package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// webhook is a local endpoint standing in for NIGHTSHIFT_WEBHOOK_URL: it
// keeps every notification it receives, decoded.
type webhook struct {
	url  string
	mu   sync.Mutex
	got  []map[string]any
	errs []error
}

func newWebhook(t *testing.T) *webhook {
	t.Helper()
	h := &webhook{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var n map[string]any
		if err == nil {
			err = json.Unmarshal(body, &n)
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if err != nil {
			h.errs = append(h.errs, err)
		}
		h.got = append(h.got, n)
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

// received returns the notifications so far.
func (h *webhook) received(t *testing.T) []map[string]any {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, err := range h.errs {
		t.Errorf("webhook: %v", err)
	}
	return append([]map[string]any(nil), h.got...)
}
