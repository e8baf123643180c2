package pgtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// Proxy is a TCP proxy between the code under test and a PostgreSQL server
// that can be made to misbehave the way networks do: slow, reset, silent or
// gone. The server itself stays healthy, so a test can tell what the code
// makes of a bad network from what it makes of a bad server (see Cluster).
//
// It runs toxiproxy in-process rather than as a separate server, so there
// is nothing to install and nothing left running after the test.
type Proxy struct {
	proxy *toxiproxy.Proxy
	url   string
}

// NewProxy starts a proxy on 127.0.0.1 and a free port that forwards to the
// host and port of upstreamURL, a postgres:// URL. It is stopped when the
// test ends, closing the connections through it.
func NewProxy(t testing.TB, upstreamURL string) *Proxy {
	t.Helper()
	u, err := url.Parse(upstreamURL)
	if err != nil {
		t.Fatalf("pgtest: proxy: upstream must be a postgres:// URL: %v", err)
	}
	if u.Hostname() == "" {
		t.Fatalf("pgtest: proxy: upstream %q has no host (a unix socket cannot be proxied)", upstreamURL)
	}
	upstream := u.Host
	if u.Port() == "" {
		upstream = net.JoinHostPort(u.Hostname(), "5432")
	}

	// A disabled logger: toxiproxy logs every connection and every toxic,
	// which would bury the test's own output.
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	proxy := toxiproxy.NewProxy(server, "pgtest", "127.0.0.1:0", upstream)
	if err := proxy.Start(); err != nil {
		t.Fatalf("pgtest: proxy: start: %v", err)
	}
	t.Cleanup(proxy.Stop)

	// Start has replaced :0 with the port it got; Restore listens there
	// again, so the URL stays good across Cut.
	u.Host = proxy.Listen
	return &Proxy{proxy: proxy, url: u.String()}
}

// URL returns the upstream URL with its host and port replaced by the
// proxy's.
func (p *Proxy) URL() string {
	return p.url
}

// Latency delays the server's replies by d (rounded up to the millisecond),
// so that each round trip takes at least d longer, as over a slow or
// distant network. Called again, it replaces the delay.
func (p *Proxy) Latency(t testing.TB, d time.Duration) {
	t.Helper()
	ms := (d + time.Millisecond - 1) / time.Millisecond
	p.toxic(t, "latency", "downstream", map[string]any{"latency": int64(ms)}, true)
}

// ResetPeer drops the network: each connection through the proxy, old or
// new, is closed the moment it next carries data, before that data arrives,
// as when a firewall or load balancer forgets a connection. Connections
// made afterwards are reset (RST) rather than closed.
func (p *Proxy) ResetPeer(t testing.TB) {
	t.Helper()
	p.toxic(t, "reset_peer", "upstream", map[string]any{"timeout": 0}, false)
	p.toxic(t, "reset_peer", "downstream", map[string]any{"timeout": 0}, false)
}

// Timeout silences the network: data in either direction is dropped and
// connections stay open, so reads hang until the client's own timeout or
// keepalive gives up, as in a partition. New connections hang in their
// start-up too. Clear closes the connections it silenced.
func (p *Proxy) Timeout(t testing.TB) {
	t.Helper()
	p.toxic(t, "timeout", "upstream", map[string]any{"timeout": 0}, false)
	p.toxic(t, "timeout", "downstream", map[string]any{"timeout": 0}, false)
}

// Clear removes every fault added by Latency, ResetPeer and Timeout, so that
// new connections work again. Connections that Timeout silenced are closed
// rather than revived: they have lost data and are of no further use.
func (p *Proxy) Clear(t testing.TB) {
	t.Helper()
	p.proxy.Toxics.ResetToxics(context.Background())
}

// Cut takes the proxy away: its connections are closed and new ones are
// refused until Restore, as when the server's host is unreachable.
func (p *Proxy) Cut(t testing.TB) {
	t.Helper()
	p.proxy.Stop()
}

// Restore undoes Cut, listening on the same port again.
func (p *Proxy) Restore(t testing.TB) {
	t.Helper()
	if err := p.proxy.Start(); err != nil && !errors.Is(err, toxiproxy.ErrProxyAlreadyStarted) {
		t.Fatalf("pgtest: proxy: restore: %v", err)
	}
}

// toxic adds a toxic named after its type and stream. One of that name
// already in place is replaced when replace is set (toxiproxy's own update
// rewrites the attributes while the connections' goroutines read them) and
// otherwise kept.
func (p *Proxy) toxic(t testing.TB, typ, stream string, attributes map[string]any, replace bool) {
	t.Helper()
	name := typ + "_" + stream
	if p.proxy.Toxics.GetToxic(name) != nil {
		if !replace {
			return
		}
		if err := p.proxy.Toxics.RemoveToxic(context.Background(), name); err != nil {
			t.Fatalf("pgtest: proxy: remove %s: %v", name, err)
		}
	}
	body, err := json.Marshal(map[string]any{
		"name":       name,
		"type":       typ,
		"stream":     stream,
		"toxicity":   1.0,
		"attributes": attributes,
	})
	if err != nil {
		t.Fatalf("pgtest: proxy: %s: %v", name, err)
	}
	if _, err := p.proxy.Toxics.AddToxicJson(bytes.NewReader(body)); err != nil {
		t.Fatalf("pgtest: proxy: %s: %v", name, err)
	}
}
