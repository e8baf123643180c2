package main

// Faults the way operations meet them: a source server restarted in the
// middle of an extract, a network that is slow, resets or goes silent, and a
// role that loses its right to read. Each test asserts on what landed in the
// warehouse, the exit code, the ledger and the message.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/internal/seed"
	"github.com/dfe-nightshift/nightshift/schemas"
)

// rfScale is the seed scale of both sources: a few hundred rows an entity.
const rfScale = 0.05

// rfTrainees is the start of the trainees extract's query
// (schemas.Contract.SelectSQL): the pattern that finds it blocked. Its
// FROM "public"."trainees" comes after the first 1024 bytes, which is all
// pg_stat_activity keeps of a query (track_activity_query_size).
var rfTrainees = schemas.Trainees.SelectSQL()[:100]

// rfSources are the URLs of the two sources.
type rfSources struct{ register, rect string }

func (s rfSources) of(c *schemas.Contract) string {
	if c.Source == "rect" {
		return s.rect
	}
	return s.register
}

// rfURL is serverURL with its database, and its user when user is set,
// replaced.
func rfURL(t *testing.T, serverURL, database, user string) string {
	t.Helper()
	u, err := url.Parse(serverURL)
	require.NoError(t, err)
	if database != "" {
		u.Path = "/" + database
	}
	if user != "" {
		u.User = url.User(user)
	}
	return u.String()
}

// rfCreateDatabase creates a database on a server of the test's own (a
// pgtest.Cluster, removed with its data at the end of the test).
func rfCreateDatabase(t *testing.T, serverURL, name string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, serverURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	require.NoError(t, err)
	return rfURL(t, serverURL, name, "")
}

// rfSeed creates the source's schema in the database at url and seeds it,
// as newProject does, on a connection closed straight after.
func rfSeed(t *testing.T, url, source string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	require.NoError(t, seed.CreateSchema(ctx, conn, source))
	_, err = seed.Seed(ctx, conn, source, seed.Options{Scale: rfScale, Seed: 1})
	require.NoError(t, err)
}

// rfSharedSources seeds both sources on the shared test server.
func rfSharedSources(t *testing.T) rfSources {
	t.Helper()
	return rfSources{register: seededSource(t, "register", rfScale), rect: seededSource(t, "rect", rfScale)}
}

// rfConfig writes a configuration naming the warehouse and the sources;
// run holds the lines under run:, each indented by two spaces.
func rfConfig(t *testing.T, wh string, s rfSources, run string) string {
	t.Helper()
	return writeConfig(t, "environment: test\nwarehouse:\n  url: "+wh+"\nsources:\n  register:\n    url: "+s.register+
		"\n  rect:\n    url: "+s.rect+"\nspool:\n  dir: "+t.TempDir()+"\nrun:\n"+run)
}

// rfRequireSameAsSources checks that every contract's warehouse table holds
// exactly what its source's extract query returns.
func rfRequireSameAsSources(t *testing.T, s rfSources, wh string) {
	t.Helper()
	for _, c := range schemas.All() {
		source := sourceChecksum(t, s.of(c), wh, c)
		require.Positive(t, source.Rows, c.Entity)
		require.Equal(t, source, checksum(t, wh, c.ChecksumSQL("reporting."+pgx.Identifier{c.Entity}.Sanitize())), "%s: warehouse differs from the source", c.Entity)
	}
}

// rfStep is one attempt of a step, as the ledger recorded it.
type rfStep struct {
	Entity, Step string
	Attempt      int
	Status       string
	Error        *string
	Class        *string
	Snapshot     *string
	SnapshotAt   *time.Time
}

// rfSteps reads the ledger's attempts of a run, in order.
func rfSteps(t *testing.T, wh string, runID int64) []rfStep {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, wh)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `
		SELECT entity, step, attempt, status, error, error_class, detail->>'snapshot', (detail->>'snapshot_at')::timestamptz
		FROM nightshift.step_runs WHERE run_id = $1 ORDER BY entity, step, attempt`, runID)
	require.NoError(t, err)
	steps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (rfStep, error) {
		var s rfStep
		err := row.Scan(&s.Entity, &s.Step, &s.Attempt, &s.Status, &s.Error, &s.Class, &s.Snapshot, &s.SnapshotAt)
		return s, err
	})
	require.NoError(t, err)
	return steps
}

// rfAttempts are the attempts of one step of one entity.
func rfAttempts(steps []rfStep, entity, step string) []rfStep {
	var out []rfStep
	for _, s := range steps {
		if s.Entity == entity && s.Step == step {
			out = append(out, s)
		}
	}
	return out
}

// rfTransientFailures are the attempts that failed transient.
func rfTransientFailures(steps []rfStep) []rfStep {
	var out []rfStep
	for _, s := range steps {
		if s.Status == "failed" && s.Class != nil && *s.Class == "transient" {
			out = append(out, s)
		}
	}
	return out
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func rfText(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// rfLastRun is the id of the newest run in the ledger.
func rfLastRun(t *testing.T, wh string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, rfQueryRow(t, wh, "SELECT max(id) FROM nightshift.runs", &id))
	return id
}

// rfQueryRow runs a one-row query on a connection of its own.
func rfQueryRow(t *testing.T, url, sql string, dest ...any) error {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	return conn.QueryRow(ctx, sql).Scan(dest...)
}

// rfExec runs statements on a connection of its own.
func rfExec(t *testing.T, url, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	require.NoError(t, err, sql)
}

// rfStart starts `nightshift args...` in-process, in the background.
func rfStart(t *testing.T, args ...string) <-chan result {
	t.Helper()
	done := make(chan result, 1)
	go func() { done <- cli(t, nil, args...) }()
	return done
}

// rfAwait waits for a run started by rfStart, at most bound.
func rfAwait(t *testing.T, done <-chan result, bound time.Duration) result {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(bound):
		t.Fatalf("the run had not ended after %s: it hangs; where nightshift waits:\n%s", bound, rfStacks())
		return result{}
	}
}

// rfStacks are the stacks of the goroutines running nightshift's code, to
// show where a hung run waits.
func rfStacks() string {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "dfe-nightshift/nightshift/") && !strings.Contains(g, "rfStacks") && !strings.Contains(g, "testing.(*M)") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

// rfWaitUntil polls the warehouse until the query returns true.
func rfWaitUntil(t *testing.T, wh, what, sql string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var ok bool
		if err := rfQueryRow(t, wh, sql, &ok); err == nil && ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("waited 30s for %s", what)
}

// rfUnblocked are the register entities that never read trainees: they
// finish while the trainees extract waits for a lock on its table.
func rfUnblocked() []string {
	var out []string
	for _, c := range schemas.All() {
		if c.Source == "register" && c.Table != "trainees" && c.Reads["trainees"] == nil {
			out = append(out, c.Entity)
		}
	}
	return out
}

func rfQuoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "'" + n + "'"
	}
	return strings.Join(q, ", ")
}

// A maintenance restart (or a failover) of the source server while the
// trainees extract is in flight ends every connection, and with them the
// run's exported snapshot: the extract fails transient, is retried, the
// source exports a fresh snapshot, and the run succeeds with every table
// equal to its source.
func TestRealSourceRestartMidExtractRenewsTheSnapshot(t *testing.T) {
	t.Parallel()
	cluster := pgtest.NewCluster(t)
	s := rfSources{register: rfCreateDatabase(t, cluster.URL(), "register"), rect: rfCreateDatabase(t, cluster.URL(), "rect")}
	rfSeed(t, s.register, "register")
	rfSeed(t, s.rect, "rect")
	wh := newWarehouse(t)
	// The pauses between attempts must outlast the restart (a few hundred
	// milliseconds here, see the log): with retry_base 10ms and retry_max
	// 50ms the three attempts are spent within 50ms, while the server is
	// still down ("connection refused"), and the run fails however well the
	// snapshot is renewed. 1s gives pauses of at least 0.5s and 1s.
	//
	// Two entities read trainees (trainees, register_statuses): with three
	// at once, one goes on while both wait on the lock, whatever order the
	// runner takes the entities in.
	config := rfConfig(t, wh, s, "  parallelism: 3\n  retry_base: 1s\n  retry_max: 2s\n  max_attempts: 3\n")

	reg := pgtest.Pool(t, s.register)
	pgtest.HoldLock(t, reg, "trainees", "ACCESS EXCLUSIVE") // the restart ends it
	start := time.Now()
	done := rfStart(t, "--config", config, "run")
	pgtest.WaitForBlocked(t, reg, rfTrainees)
	// Another register entity has been read at the run's first snapshot.
	rfWaitUntil(t, wh, "a register entity read at the first snapshot", `SELECT EXISTS (SELECT FROM nightshift.step_runs
		WHERE step = 'extract' AND status = 'succeeded' AND entity IN (`+rfQuoteList(rfUnblocked())+`))`)
	restart := time.Now()
	cluster.Restart(t)
	t.Logf("the source server restarted in %s", time.Since(restart).Round(time.Millisecond))

	r := rfAwait(t, done, 60*time.Second)
	t.Logf("run took %s", time.Since(start).Round(time.Millisecond))
	require.Equal(t, exitOK, r.code, r.stderr)
	runID := rfLastRun(t, wh)
	require.Equal(t, "succeeded", project{wh: wh}.status(t, runID))
	rfRequireSameAsSources(t, s, wh)
	sameTrainees(t, s.register, wh)

	steps := rfSteps(t, wh, runID)
	trainees := rfAttempts(steps, "trainees", "extract")
	require.GreaterOrEqual(t, len(trainees), 2, "%+v", trainees)
	require.Equal(t, "failed", trainees[0].Status)
	require.Equal(t, "transient", rfText(trainees[0].Class), rfText(trainees[0].Error))
	last := trainees[len(trainees)-1]
	require.Equal(t, "succeeded", last.Status)
	for _, a := range trainees[:len(trainees)-1] {
		require.Equal(t, "failed", a.Status)
		require.Equal(t, "transient", rfText(a.Class), rfText(a.Error))
	}

	// The trainees were read at a snapshot exported after the restart, not
	// at the one the entities read before it saw.
	var before *rfStep
	for _, e := range rfUnblocked() {
		for _, a := range rfAttempts(steps, e, "extract") {
			if a.Status == "succeeded" && a.SnapshotAt.Before(restart) {
				before = &a
			}
		}
	}
	require.NotNil(t, before, "no register entity was read before the restart")
	require.NotNil(t, last.Snapshot)
	require.NotNil(t, last.SnapshotAt)
	t.Logf("%s read at snapshot %s (%s); trainees at %s (%s)", before.Entity, rfText(before.Snapshot), before.SnapshotAt.Format(time.RFC3339Nano),
		rfText(last.Snapshot), last.SnapshotAt.Format(time.RFC3339Nano))
	require.True(t, last.SnapshotAt.After(restart), "trainees were read at a snapshot taken after the restart")
	require.NotEqual(t, rfText(before.Snapshot), rfText(last.Snapshot), "the snapshot was exported again")
}

// rfProxied is a project whose register source is reached through a fault
// proxy; both sources and the warehouse are on the shared server.
type rfProxied struct {
	direct rfSources // as the test reaches them
	wh     string
	proxy  *pgtest.Proxy
	config string
}

func newRFProxied(t *testing.T, run string) rfProxied {
	t.Helper()
	p := rfProxied{direct: rfSharedSources(t), wh: newWarehouse(t)}
	p.proxy = pgtest.NewProxy(t, p.direct.register)
	p.config = rfConfig(t, p.wh, rfSources{register: p.proxy.URL(), rect: p.direct.rect}, run)
	return p
}

// A source 20ms away: every round trip is slower, nothing else changes.
func TestRealSourceBehindLatencySucceeds(t *testing.T) {
	t.Parallel()
	p := newRFProxied(t, "  retry_base: 10ms\n  retry_max: 50ms\n")
	p.proxy.Latency(t, 20*time.Millisecond)
	start := time.Now()
	r := cli(t, nil, "--config", p.config, "run")
	t.Logf("run through 20ms of latency took %s", time.Since(start).Round(time.Millisecond))
	require.Equal(t, exitOK, r.code, r.stderr)
	rfRequireSameAsSources(t, p.direct, p.wh)
	sameTrainees(t, p.direct.register, p.wh)
}

// A firewall forgets the source's connections while the trainees extract
// waits on a lock: its answer never arrives (the connection is reset), nor
// can a new connection be made, until the network comes back 300ms later.
// The extract is retried and the run succeeds within its attempts.
func TestRealSourceConnectionResetMidExtractIsRetried(t *testing.T) {
	t.Parallel()
	// The attempts must be spaced wider than the fault: two pauses of at
	// least 250ms and 500ms (jitter included) outlast 300ms.
	p := newRFProxied(t, "  retry_base: 500ms\n  retry_max: 1s\n  max_attempts: 3\n")
	reg := pgtest.Pool(t, p.direct.register)
	release := pgtest.HoldLock(t, reg, "trainees", "ACCESS EXCLUSIVE")
	start := time.Now()
	done := rfStart(t, "--config", p.config, "run")
	pgtest.WaitForBlocked(t, reg, rfTrainees)

	p.proxy.ResetPeer(t)
	// A blocked query sends nothing, and toxiproxy resets a connection only
	// when it next carries data: the lock goes while the network is down,
	// so that the server's answer is what meets the reset.
	release()
	time.Sleep(300 * time.Millisecond)
	p.proxy.Clear(t)

	r := rfAwait(t, done, 60*time.Second)
	t.Logf("run took %s", time.Since(start).Round(time.Millisecond))
	require.Equal(t, exitOK, r.code, r.stderr)
	rfRequireSameAsSources(t, p.direct, p.wh)
	steps := rfSteps(t, p.wh, rfLastRun(t, p.wh))
	failed := rfTransientFailures(steps)
	require.NotEmpty(t, failed, "the reset failed no attempt: %+v", steps)
	for _, f := range failed {
		t.Logf("%s %s attempt %d failed transient: %s", f.Entity, f.Step, f.Attempt, rfText(f.Error))
	}
	trainees := rfAttempts(steps, "trainees", "extract")
	require.NotEmpty(t, trainees)
	require.Equal(t, "failed", trainees[0].Status, "the trainees extract met the reset")
	require.Equal(t, "succeeded", trainees[len(trainees)-1].Status)
	require.LessOrEqual(t, len(trainees), 3, "within max_attempts")
}

// The network to the source goes silent mid-extract and stays so: no
// error, no reset, just nothing. Each attempt ends at attempt_timeout, the
// run fails (exit 1) in bounded time naming the timeout, and the warehouse
// is exactly as it was.
func TestRealSilentSourceNetworkFailsWithinTheAttemptTimeout(t *testing.T) {
	t.Parallel()
	// parallelism 3: see TestRealSourceRestartMidExtractRenewsTheSnapshot.
	p := newRFProxied(t, "  parallelism: 3\n  retry_base: 10ms\n  retry_max: 50ms\n  max_attempts: 2\n  attempt_timeout: 2s\n")
	// The healthy first run has no attempt limit: its publish versions
	// every entity, which on a loaded test machine can outlast 2s.
	r := cli(t, []string{"NIGHTSHIFT_RUN_ATTEMPT_TIMEOUT=0s"}, "--config", p.config, "run")
	require.Equal(t, exitOK, r.code, r.stderr)
	rfExec(t, p.direct.register, "UPDATE trainees SET last_name = 'Changed' WHERE id % 3 = 0")
	before := warehouseState(t, p.wh)

	reg := pgtest.Pool(t, p.direct.register)
	release := pgtest.HoldLock(t, reg, "trainees", "ACCESS EXCLUSIVE")
	start := time.Now()
	done := rfStart(t, "--config", p.config, "run")
	pgtest.WaitForBlocked(t, reg, rfTrainees)
	runID := rfLastRun(t, p.wh)
	// The register entities that do not read trainees are read first, so
	// that the silence meets only the extracts of trainees (and of
	// register_statuses, which reads it too).
	rfWaitUntil(t, p.wh, "the other register entities", fmt.Sprintf(`SELECT count(DISTINCT entity) = %d FROM nightshift.step_runs
		WHERE run_id = %d AND step = 'extract' AND status = 'succeeded' AND entity IN (%s)`, len(rfUnblocked()), runID, rfQuoteList(rfUnblocked())))
	p.proxy.Timeout(t)
	faulted := time.Now()
	release() // the answer is lost in the silence

	// Two attempts of 2s each per entity, a pause, and the clean-up: well
	// under a minute, or the nightly schedule hangs.
	const bound = 45 * time.Second
	hung := false
	select {
	case r = <-done:
		t.Logf("the run ended %s after the network went silent (%s in all); stderr:\n%s",
			time.Since(faulted).Round(time.Millisecond), time.Since(start).Round(time.Millisecond), r.stderr)
	case <-time.After(bound):
		hung = true
		next := cli(t, nil, "--config", p.config, "run")
		t.Errorf("the run had not ended %s after the network went silent: it hangs, holding the run lock "+
			"(the next run exits %d: %s).\nWhere nightshift waits:\n%s", bound, next.code, lastLine(next.stderr), rfStacks())
	}

	// What the ledger, the warehouse and the staging schema say holds
	// whether or not the process came back.
	var status, runErr string
	require.NoError(t, rfQueryRow(t, p.wh, fmt.Sprintf("SELECT status, coalesce(error, '') FROM nightshift.runs WHERE id = %d", runID), &status, &runErr))
	require.Equal(t, "failed", status)
	require.Contains(t, runErr, "timed out after 2s", "the ledger's message names the attempt timeout")
	trainees := rfAttempts(rfSteps(t, p.wh, runID), "trainees", "extract")
	require.Len(t, trainees, 2, "max_attempts: 2")
	for _, a := range trainees {
		require.Equal(t, "failed", a.Status)
		require.Equal(t, "transient", rfText(a.Class), rfText(a.Error))
	}
	require.Equal(t, before, warehouseState(t, p.wh), "the warehouse is exactly as before the run")
	require.Empty(t, stagingLeft(t, p.wh), "no staging table is left")
	if hung {
		return
	}
	require.Equal(t, exitFailed, r.code, r.stderr)
	require.Contains(t, r.stderr, "timed out after 2s", "the message names the attempt timeout")
}

// A warehouse 20ms away: the ledger, the COPY and the publish all pay it
// on every round trip, and the run still succeeds.
func TestRealWarehouseBehindLatencySucceeds(t *testing.T) {
	t.Parallel()
	s := rfSharedSources(t)
	wh := newWarehouse(t)
	proxy := pgtest.NewProxy(t, wh)
	config := rfConfig(t, proxy.URL(), s, "  retry_base: 10ms\n  retry_max: 50ms\n")
	proxy.Latency(t, 20*time.Millisecond)
	start := time.Now()
	r := cli(t, nil, "--config", config, "run")
	t.Logf("run with the warehouse 20ms away took %s", time.Since(start).Round(time.Millisecond))
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "succeeded", project{wh: wh}.status(t, rfLastRun(t, wh)))
	rfRequireSameAsSources(t, s, wh)
}

// rfReader is a project whose sources are read by a login role of the
// test's own, granted what nightshift needs and no more.
type rfReader struct {
	role   string
	owner  rfSources // as the tables' owner reaches them
	wh     string
	config string
}

func newRFReader(t *testing.T) rfReader {
	t.Helper()
	ctx := context.Background()
	var buf [6]byte
	_, err := rand.Read(buf[:])
	require.NoError(t, err)
	p := rfReader{role: "reader_" + hex.EncodeToString(buf[:]), owner: rfSharedSources(t), wh: newWarehouse(t)}
	role := pgx.Identifier{p.role}.Sanitize()
	rfExec(t, pgtest.ServerURL(), "CREATE ROLE "+role+" LOGIN")
	// Roles belong to the whole server: drop it before the databases go,
	// after dropping what it holds in each (its grants, the policies naming
	// it).
	t.Cleanup(func() {
		for _, db := range []string{p.owner.register, p.owner.rect} {
			conn, err := pgx.Connect(ctx, db)
			if err != nil {
				t.Errorf("drop owned by %s: %v", p.role, err)
				continue
			}
			if _, err := conn.Exec(ctx, "DROP OWNED BY "+role); err != nil {
				t.Errorf("drop owned by %s: %v", p.role, err)
			}
			_ = conn.Close(ctx)
		}
		conn, err := pgx.Connect(ctx, pgtest.ServerURL())
		if err != nil {
			t.Errorf("drop role %s: %v", p.role, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+role); err != nil {
			t.Errorf("drop role %s: %v", p.role, err)
		}
	})
	var reader rfSources
	for _, db := range []*string{&p.owner.register, &p.owner.rect} {
		u, err := url.Parse(*db)
		require.NoError(t, err)
		name := pgx.Identifier{strings.TrimPrefix(u.Path, "/")}.Sanitize()
		rfExec(t, *db, "GRANT CONNECT ON DATABASE "+name+" TO "+role+"; GRANT USAGE ON SCHEMA public TO "+role+
			"; GRANT SELECT ON ALL TABLES IN SCHEMA public TO "+role)
		readerURL := rfURL(t, *db, "", p.role)
		if db == &p.owner.register {
			reader.register = readerURL
		} else {
			reader.rect = readerURL
		}
	}
	// The server trusts 127.0.0.1: the role connects without a password,
	// is who it says, is no superuser (row security applies to it) and can
	// read.
	var who string
	var super bool
	var n int64
	require.NoError(t, rfQueryRow(t, reader.register, "SELECT current_user::text, rolsuper, (SELECT count(*) FROM trainees) FROM pg_roles WHERE rolname = current_user", &who, &super, &n))
	require.Equal(t, p.role, who)
	require.False(t, super)
	require.Positive(t, n)
	p.config = rfConfig(t, p.wh, reader, "  retry_base: 10ms\n  retry_max: 50ms\n  max_attempts: 3\n")
	return p
}

// A grant revoked before the run: the preflight sees it, names the
// column, and refuses the run (exit 3) before any step; check says so too.
func TestRealRevokedGrantIsRefusedBeforeAnyStep(t *testing.T) {
	t.Parallel()
	p := newRFReader(t)
	r := cli(t, nil, "--config", p.config, "run")
	require.Equal(t, exitOK, r.code, r.stderr)
	rfExec(t, p.owner.register, "UPDATE trainees SET last_name = 'Changed' WHERE id % 3 = 0")
	before := warehouseState(t, p.wh)

	rfExec(t, p.owner.register, "REVOKE SELECT ON trainees FROM "+pgx.Identifier{p.role}.Sanitize())
	start := time.Now()
	r = cli(t, nil, "--config", p.config, "run")
	t.Logf("refused in %s", time.Since(start).Round(time.Millisecond))
	require.Equal(t, exitRefused, r.code, r.stderr)
	require.Contains(t, r.stderr, "no privilege to read column trainees.")
	runID := rfLastRun(t, p.wh)
	require.Equal(t, "refused", project{wh: p.wh}.status(t, runID))
	require.Empty(t, rfSteps(t, p.wh, runID), "no step was attempted")
	require.Equal(t, before, warehouseState(t, p.wh), "the warehouse is unchanged")

	r = cli(t, nil, "--config", p.config, "check")
	require.Equal(t, exitRefused, r.code, r.stderr)
	require.Contains(t, r.stdout, "MISMATCH: source register: no privilege to read column trainees.")
}

// Row-level security that refuses the role mid-run (a policy whose check
// raises 42501): the grant is there, so the preflight passes, but reading
// fails. The error is permanent, so it is not retried; the run fails with
// the server's message, and the warehouse is left exactly as it was.
func TestRealRowSecurityDenialFailsAtOnceAndChangesNothing(t *testing.T) {
	t.Parallel()
	p := newRFReader(t)
	r := cli(t, nil, "--config", p.config, "run")
	require.Equal(t, exitOK, r.code, r.stderr)
	rfExec(t, p.owner.register, "UPDATE trainees SET last_name = 'Changed' WHERE id % 3 = 0")
	before := warehouseState(t, p.wh)

	rfExec(t, p.owner.register, fmt.Sprintf(`
		CREATE FUNCTION deny_reader() RETURNS boolean LANGUAGE plpgsql AS $$
		BEGIN
			RAISE EXCEPTION 'permission denied by policy' USING ERRCODE = '42501';
		END $$;
		ALTER TABLE trainees ENABLE ROW LEVEL SECURITY;
		CREATE POLICY deny ON trainees FOR SELECT TO %s USING (deny_reader())`, pgx.Identifier{p.role}.Sanitize()))

	start := time.Now()
	r = cli(t, nil, "--config", p.config, "run")
	t.Logf("failed in %s; stderr:\n%s", time.Since(start).Round(time.Millisecond), r.stderr)
	require.Equal(t, exitFailed, r.code, r.stderr)
	require.Contains(t, r.stderr, "42501")
	require.Contains(t, r.stderr, "permission denied by policy")
	require.NotContains(t, r.stderr, "query returned 0 columns")
	runID := rfLastRun(t, p.wh)
	require.Equal(t, "failed", project{wh: p.wh}.status(t, runID))

	trainees := rfAttempts(rfSteps(t, p.wh, runID), "trainees", "extract")
	require.Len(t, trainees, 1, "a permanent error is not retried: %+v", trainees)
	a := trainees[0]
	require.Equal(t, "failed", a.Status)
	require.Equal(t, "permanent", rfText(a.Class))
	require.Contains(t, rfText(a.Error), "42501")
	require.Contains(t, rfText(a.Error), "permission denied by policy")
	require.NotContains(t, rfText(a.Error), "query returned 0 columns")

	require.Equal(t, before, warehouseState(t, p.wh), "the warehouse is exactly as before the run")
	require.Empty(t, stagingLeft(t, p.wh), "no staging table is left")
}
