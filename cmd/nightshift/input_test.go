package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
)

// listener is a TCP port that counts the connections it is offered: a
// malformed connection string must reach no server at all.
func listener(t *testing.T) (port int, accepted *atomic.Int64) {
	t.Helper()
	ln, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	accepted = &atomic.Int64{}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			_ = conn.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, accepted
}

// A mistyped connection string — a leading space, one slash, a capital
// scheme, a password with spaces round its =, no host — is refused with exit
// 2 before any connection, naming the setting, with the password masked.
func TestMalformedConnectionStringsReachNoServer(t *testing.T) {
	t.Parallel()
	port, accepted := listener(t)
	wh := newWarehouse(t)
	strings := []string{
		fmt.Sprintf(" postgres://u:hunter2@127.0.0.1:%d/db", port),
		fmt.Sprintf("postgres:/u:hunter2@127.0.0.1:%d/db", port),
		fmt.Sprintf("Postgres://u:hunter2@127.0.0.1:%d/db", port),
		fmt.Sprintf("host=127.0.0.1 port=%d password = hunter2", port),
		fmt.Sprintf("host=127.0.0.1 port=%d sslpassword=hunter2", port),
		fmt.Sprintf("port=%d user=u dbname=db", port),
		fmt.Sprintf("host=127.0.0.1 port=%d hunter2", port),
	}
	for _, s := range strings {
		for _, setting := range []string{"warehouse", "source"} {
			env := []string{"NIGHTSHIFT_WAREHOUSE_URL=" + wh}
			name := "warehouse.url (NIGHTSHIFT_WAREHOUSE_URL)"
			if setting == "warehouse" {
				env = []string{"NIGHTSHIFT_WAREHOUSE_URL=" + s}
			} else {
				env = append(env, "NIGHTSHIFT_SOURCE_REGISTER_URL="+s)
				name = "sources.register.url (NIGHTSHIFT_SOURCE_REGISTER_URL)"
			}
			for _, args := range [][]string{{"run"}, {"check"}, {"runs"}} {
				r := cli(t, append(env, "NIGHTSHIFT_ENV=test"), args...)
				require.Equal(t, exitUsage, r.code, "%q %v: %s", s, args, r.stderr)
				require.Contains(t, r.stderr, name, "%q", s)
				require.NotContains(t, r.stdout+r.stderr, "hunter2", "%q: a password is never printed", s)
			}
		}
	}
	require.Zero(t, accepted.Load(), "no connection was attempted")
}

// Flags are strict: an empty --entity, a run id that is not a positive
// decimal number, and a run that does not exist are usage errors (exit 2)
// in every command.
func TestFlagsAreStrict(t *testing.T) {
	t.Parallel()
	config := writeConfig(t, "environment: test\nwarehouse:\n  url: "+newWarehouse(t)+"\n")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--entity", ""}, "--entity is empty"},
		{[]string{"retry", "1; drop table x"}, `a run id is a positive whole number, not "1; drop table x"`},
		{[]string{"retry", "0x10"}, `not "0x10"`},
		{[]string{"retry", "-3"}, "unknown shorthand flag"},
		{[]string{"retry", "99999"}, "no such run"},
		{[]string{"abort", "--run", "0x10", "--reason", "r"}, `not "0x10"`},
		{[]string{"abort", "--run", "99999", "--reason", "r"}, "no such run"},
		{[]string{"restore", "--entity", "trainees", "--run", "1e3", "--reason", "r"}, `not "1e3"`},
	}
	for _, tc := range cases {
		r := cli(t, nil, append([]string{"--config", config}, tc.args...)...)
		require.Equal(t, exitUsage, r.code, "%v: %s", tc.args, r.stderr)
		require.Contains(t, r.stderr, tc.want, "%v", tc.args)
	}
}

// Text a user typed, or a source sent, reaches a terminal with its control
// characters escaped: a reason cannot clear the screen or forge a line. No
// colour is written where stderr is not a terminal.
func TestTerminalOutputIsEscaped(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.05)
	hostile := "fix\x1b[2J\r\nrun 99 succeeded"
	prod := []string{"NIGHTSHIFT_ENV=production"}
	r := cli(t, prod, "--config", p.config, "run", "--entity", "providers", "--reason", hostile)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.NotContains(t, r.stderr, "\x1b[", "no colour or escape off a terminal")
	require.Contains(t, r.stderr, "*** ENVIRONMENT: PRODUCTION ***")

	r = cli(t, prod, "--config", p.config, "runs")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.NotContains(t, r.stdout, "\x1b")
	require.NotContains(t, r.stdout, "\r")
	require.Contains(t, r.stdout, `fix\x1b[2…`, "escaped, and cut to its column")
	require.Len(t, strings.Split(strings.TrimSpace(r.stdout), "\n"), 2, "the reason is one line")
	r = cli(t, prod, "--config", p.config, "runs", "show", "1")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.NotContains(t, r.stdout, "\x1b")
	require.Contains(t, r.stdout, `reason    fix\x1b[2J\r\nrun 99 succeeded`)

	// The ledger keeps what was typed, verbatim.
	var reason string
	require.NoError(t, pgtest.Pool(t, p.wh).QueryRow(context.Background(), "SELECT reason FROM nightshift.runs WHERE id = 1").Scan(&reason))
	require.Equal(t, hostile, reason)
}

// demo --fresh drops databases: never in production, and on another
// machine's server only when its host is confirmed. Refused before any
// connection (10.255.255.1 would never answer).
func TestDemoFreshIsGuarded(t *testing.T) {
	t.Parallel()
	remote := "postgres://postgres@10.255.255.1:5432/postgres"
	r := cli(t, nil, "demo", "--server", remote, "--fresh")
	require.Equal(t, exitLocked, r.code, r.stderr)
	require.Contains(t, r.stderr, "repeat with --confirm 10.255.255.1")
	r = cli(t, []string{"NIGHTSHIFT_ENV=prod"}, "demo", "--server", pgtest.ServerURL(), "--fresh")
	require.Equal(t, exitLocked, r.code, r.stderr)
	require.Contains(t, r.stderr, `refused in environment "prod"`)
	r = cli(t, nil, "seed", "--config", writeConfig(t, "environment: prod\nwarehouse:\n  url: postgres://u@h/w\n"))
	require.Equal(t, exitLocked, r.code, r.stderr)
}

// Every output of failing commands — stdout, stderr, the ledger, the
// notifications — is searched for planted passwords.
func TestNoOutputCarriesAPassword(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.05)
	hook := newWebhook(t)
	config := writeConfig(t, "environment: test\nwarehouse:\n  url: "+p.wh+"\nsources:\n  register:\n    url: postgres://reader@127.0.0.1:1/register\n"+
		"  rect:\n    url: host=127.0.0.1 port=1 user=reader dbname=rect\nspool:\n  dir: "+t.TempDir()+"\n")
	// A Slack webhook that cannot be reached: its URL's path is its
	// secret, and the HTTP client's errors quote the whole URL.
	env := []string{"NIGHTSHIFT_SOURCE_REGISTER_PASSWORD=hunter2-src", "NIGHTSHIFT_SOURCE_RECT_PASSWORD=hunter2-rect",
		"NIGHTSHIFT_WAREHOUSE_PASSWORD=hunter2-wh", "NIGHTSHIFT_WEBHOOK_URL=" + hook.url,
		"NIGHTSHIFT_SLACK_WEBHOOK_URL=http://127.0.0.1:1/services/T0/B0/hunter2-slack-token"}
	var outputs []string
	for _, args := range [][]string{{"run"}, {"check"}, {"retry", "1"}, {"runs", "--json"}, {"abort", "--reason", "r"}, {"backfill", "--entity", "trainees", "--reason", "r"}} {
		r := cli(t, env, append([]string{"--config", config}, args...)...)
		if args[0] != "runs" {
			require.NotEqual(t, exitOK, r.code, "%v should fail: %s", args, r.stderr)
		}
		outputs = append(outputs, r.stdout, r.stderr)
	}
	rows, err := pgtest.Pool(t, p.wh).Query(context.Background(), `SELECT coalesce(error, '') FROM nightshift.runs
		UNION ALL SELECT coalesce(error, '') FROM nightshift.step_runs`)
	require.NoError(t, err)
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		outputs = append(outputs, s)
	}
	require.NoError(t, rows.Err())
	for _, n := range hook.received(t) {
		outputs = append(outputs, fmt.Sprint(n))
	}
	require.GreaterOrEqual(t, len(hook.received(t)), 2, "the failed runs were notified")
	for _, out := range outputs {
		require.NotContains(t, out, "hunter2")
	}
}
