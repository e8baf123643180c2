package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/bqtest"
	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/schemas"
)

// warehouseState fingerprints every relation analysts can read in the
// reporting schema — entity tables, their __previous and __discarded
// versions, status history, views — with SQL that knows nothing of the
// contracts: the rows' text, sorted and hashed.
func warehouseState(t *testing.T, url string) map[string]string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'reporting' AND c.relkind IN ('r', 'v') ORDER BY 1`)
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	out := map[string]string{}
	for _, name := range names {
		var n int64
		var sum string
		require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf(
			`SELECT count(*), coalesce(md5(string_agg(t::text, E'\n' ORDER BY t::text)), '') FROM reporting.%s t`,
			pgx.Identifier{name}.Sanitize())).Scan(&n, &sum))
		out[name] = fmt.Sprintf("%d rows, %s", n, sum)
	}
	return out
}

// bigQueryState fingerprints every table nightshift keeps in the fake
// BigQuery dataset: each entity, its __previous and __discarded, and the
// daily history tables.
func bigQueryState(t *testing.T, fake *bqtest.Server) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, c := range schemas.All() {
		for _, name := range []string{c.Entity, c.Entity + "__previous", c.Entity + "__discarded", c.Entity + "_daily"} {
			table, ok := fake.Table("analytics", "teacher_training", name)
			if !ok {
				continue
			}
			lines := make([]string, len(table.Rows))
			for i, row := range table.Rows {
				b, err := json.Marshal(row)
				require.NoError(t, err)
				lines[i] = string(b)
			}
			slices.Sort(lines)
			h := sha256.New()
			for _, l := range lines {
				h.Write([]byte(l + "\n"))
			}
			out[name] = fmt.Sprintf("%d rows, %s", len(lines), hex.EncodeToString(h.Sum(nil)))
		}
	}
	return out
}

// sameTrainees compares, value by value and with SQL that knows nothing of
// the contracts, the trainees of the source with those of the warehouse.
func sameTrainees(t *testing.T, src, wh string) {
	t.Helper()
	rows := func(url, table string) []string {
		conn := pgtest.Connect(t, url)
		// Rails keeps UTC in timestamp; the warehouse keeps timestamptz.
		_, err := conn.Exec(context.Background(), "SET TIME ZONE 'UTC'")
		require.NoError(t, err)
		r, err := conn.Query(context.Background(), `SELECT concat_ws('|', id, slug, provider_id, first_names, last_name, created_at::timestamp)
			FROM `+table+` ORDER BY id`)
		require.NoError(t, err)
		out, err := pgx.CollectRows(r, pgx.RowTo[string])
		require.NoError(t, err)
		return out
	}
	want := rows(src, "public.trainees")
	require.NotEmpty(t, want)
	require.Equal(t, want, rows(wh, "reporting.trainees"), "the warehouse holds the source's trainees, value for value")
}

// stagingLeft lists the tables a run left in nightshift_staging.
func stagingLeft(t *testing.T, url string) []string {
	t.Helper()
	rows, err := pgtest.Pool(t, url).Query(context.Background(), "SELECT tablename::text FROM pg_tables WHERE schemaname = 'nightshift_staging' ORDER BY 1")
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return names
}

// waitForQuery waits until a backend of the pool's database runs a query
// containing pattern.
func waitForQuery(t *testing.T, url, pattern string) {
	t.Helper()
	pool := pgtest.Pool(t, url)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND state = 'active' AND query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()`, pattern).Scan(&n))
		if n > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no backend ran a query like %q", pattern)
}

// waitForLock waits until a backend waits for a lock on table: the
// extract's query is too long for pg_stat_activity to show its FROM.
func waitForLock(t *testing.T, url, table string) {
	t.Helper()
	pool := pgtest.Pool(t, url)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		require.NoError(t, pool.QueryRow(context.Background(),
			"SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = to_regclass($1)", table).Scan(&n))
		if n > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no backend waited for a lock on %s", table)
}

// faultPoint holds a run at one moment of its life, so that a test can
// stop it there: arm is called before the run starts, and returns a
// function that waits until the run is held, and one that lets go.
type faultPoint struct {
	name string
	arm  func(t *testing.T, p project, fake *bqtest.Server) (wait, release func())
	// published says the run's warehouse publish has committed by then.
	published bool
}

var faultPoints = []faultPoint{
	{name: "extract", arm: func(t *testing.T, p project, _ *bqtest.Server) (func(), func()) {
		t.Helper()
		// A lock on a source table: the trainees extract waits, the other
		// entities stage.
		release := pgtest.HoldLock(t, pgtest.Pool(t, p.src), "trainees", "ACCESS EXCLUSIVE")
		return func() { waitForLock(t, p.src, "trainees") }, release
	}},
	{name: "staging", arm: func(t *testing.T, p project, _ *bqtest.Server) (func(), func()) {
		t.Helper()
		// The staged trainees table's primary key takes forever: the run is
		// in its stage step, the extract done.
		wh := pgtest.Pool(t, p.wh)
		_, err := wh.Exec(context.Background(), `
			CREATE FUNCTION stall_staging() RETURNS event_trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF EXISTS (SELECT FROM pg_event_trigger_ddl_commands() c WHERE c.object_identity = 'nightshift_staging.trainees') THEN
					PERFORM pg_sleep(60);
				END IF;
			END $$;
			CREATE EVENT TRIGGER stall_staging ON ddl_command_end WHEN TAG IN ('ALTER TABLE') EXECUTE FUNCTION stall_staging()`)
		require.NoError(t, err)
		return func() { waitForQuery(t, p.wh, "PRIMARY KEY") }, func() {
			_, err := wh.Exec(context.Background(), `DROP EVENT TRIGGER stall_staging;
				SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%PRIMARY KEY%' AND pid <> pg_backend_pid()`)
			require.NoError(t, err)
		}
	}},
	{name: "publish", arm: func(t *testing.T, p project, _ *bqtest.Server) (func(), func()) {
		t.Helper()
		// An analyst's query holds a reporting table: every entity is
		// staged, and the publish waits for its locks.
		release := pgtest.HoldLock(t, pgtest.Pool(t, p.wh), "reporting.trainees", "ACCESS SHARE")
		return func() { pgtest.WaitForBlocked(t, pgtest.Pool(t, p.wh), "LOCK TABLE") }, release
	}},
	{name: "mid-publish", arm: func(t *testing.T, p project, _ *bqtest.Server) (func(), func()) {
		t.Helper()
		// Every table is swapped in and the views are being created again
		// when the run is stopped: the publish transaction has done all
		// its work but commit.
		wh := pgtest.Pool(t, p.wh)
		_, err := wh.Exec(context.Background(), `
			CREATE FUNCTION stall_views() RETURNS event_trigger LANGUAGE plpgsql AS $$
			BEGIN PERFORM pg_sleep(60); END $$;
			CREATE EVENT TRIGGER stall_views ON ddl_command_end WHEN TAG IN ('CREATE VIEW') EXECUTE FUNCTION stall_views()`)
		require.NoError(t, err)
		return func() { waitForQuery(t, p.wh, "CREATE VIEW") }, func() {
			_, err := wh.Exec(context.Background(), `DROP EVENT TRIGGER stall_views;
				SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%CREATE VIEW%' AND pid <> pg_backend_pid()`)
			require.NoError(t, err)
		}
	}},
	{name: "bigquery", published: true, arm: func(t *testing.T, _ project, fake *bqtest.Server) (func(), func()) {
		t.Helper()
		// The trainees load job is still running when the run is stopped;
		// it finishes a few polls later, for the retry to find.
		fake.DelayJob("nightshift_run2_trainees_load", 5)
		return func() {
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) {
				for _, j := range fake.Jobs() {
					if j.JobReference != nil && j.JobReference.JobId == "nightshift_run2_trainees_load" {
						return
					}
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Fatal("the trainees load job never started")
		}, func() {}
	}},
}

// TestStoppedRunLeavesEveryTargetAsItWas stops a run — with nightshift
// abort, SIGTERM or SIGKILL — at each point of its life, after the source
// changed, and checks every table of the warehouse and of BigQuery: as
// before the run if it had not published, fully published if it had, with
// BigQuery then finished by `nightshift retry`. Every run gets exactly one
// terminal notification.
func TestStoppedRunLeavesEveryTargetAsItWas(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	for _, point := range faultPoints {
		for _, stop := range []string{"abort", "SIGTERM", "SIGKILL"} {
			if point.name == "staging" && stop == "abort" {
				continue // the same path as SIGTERM: a cancelled context
			}
			t.Run(point.name+"/"+stop, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				p := newProject(t, 0.05)
				fake := bqtest.New(t)
				hook := newWebhook(t)
				config := withBigQueryConfig(t, p, fake, "hash")
				env := []string{"NIGHTSHIFT_PII_HMAC_KEY=" + piiKey, "NIGHTSHIFT_WEBHOOK_URL=" + hook.url}
				r := cli(t, env, "--config", config, "run")
				require.Equal(t, exitOK, r.code, r.stderr)
				whBefore, bqBefore := warehouseState(t, p.wh), bigQueryState(t, fake)
				_, err := pgtest.Pool(t, p.src).Exec(ctx, "UPDATE trainees SET last_name = 'Changed' WHERE id % 2 = 0; UPDATE providers SET name = name || ' (renamed)'")
				require.NoError(t, err)

				wait, release := point.arm(t, p, fake)
				cmd := exec.CommandContext(context.Background(), bin, "--config", config, "run", "--reason", "to be stopped")
				cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
				stderr := &lockedBuffer{}
				cmd.Stderr = stderr
				t.Cleanup(func() {
					if t.Failed() {
						t.Logf("the stopped run's stderr:\n%s", stderr.String())
					}
				})
				require.NoError(t, cmd.Start())
				wait()
				switch stop {
				case "abort":
					r := cli(t, env, "--config", config, "abort", "--reason", "stopped at "+point.name)
					require.Equal(t, exitOK, r.code, r.stderr)
				case "SIGTERM":
					require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
				case "SIGKILL":
					require.NoError(t, cmd.Process.Kill())
				}
				waited := make(chan error, 1)
				go func() { waited <- cmd.Wait() }()
				select {
				case err = <-waited:
				case <-time.After(20 * time.Second):
					_ = cmd.Process.Kill()
					t.Fatalf("the run did not stop within 20 s of %s", stop)
				}
				release()
				var exit *exec.ExitError
				require.ErrorAs(t, err, &exit)
				if stop == "SIGKILL" {
					// Whoever looks next finds it dead, and reports it: once
					// PostgreSQL has ended the killed process's session, which
					// holds the run lock until then (a moment, on a busy machine).
					require.Eventually(t, func() bool {
						r := cli(t, env, "--config", config, "runs")
						return r.code == exitOK && p.status(t, 2) == "abandoned"
					}, 15*time.Second, 200*time.Millisecond, "the killed run is found abandoned")
				} else {
					require.Equal(t, exitAborted, exit.ExitCode())
					require.Equal(t, "aborted", p.status(t, 2))
				}
				if stop != "SIGKILL" {
					// A killed process cannot clean up; the next run replaces
					// what it left in nightshift_staging, which analysts never see.
					require.Empty(t, stagingLeft(t, p.wh), "no staging table is left behind")
				}

				notices := func(run float64) []map[string]any {
					var out []map[string]any
					for _, n := range hook.received(t) {
						if n["run_id"] == run {
							out = append(out, n)
						}
					}
					return out
				}
				got := notices(2)
				require.Len(t, got, 1, "exactly one notification for the stopped run")
				require.Equal(t, point.published, got[0]["published"])

				if !point.published {
					require.Equal(t, whBefore, warehouseState(t, p.wh), "the warehouse is exactly as before the run")
					require.Equal(t, bqBefore, bigQueryState(t, fake), "BigQuery is exactly as before the run")
					require.Contains(t, got[0]["changed"], "Nothing was changed")
					return
				}
				// Published: the warehouse holds the new run in full, and a
				// retry finishes BigQuery with the same run's data.
				require.Equal(t, checksum(t, p.src, schemas.Trainees.SourceChecksumSQL()), checksum(t, p.wh, schemas.Trainees.ChecksumSQL("reporting.trainees")))
				sameTrainees(t, p.src, p.wh)
				require.Contains(t, got[0]["next_action"], "nightshift retry 2")
				r = cli(t, env, "--config", config, "retry", "2")
				require.Equal(t, exitOK, r.code, r.stderr)
				require.Contains(t, r.stdout, "propagate run 2")
				require.Len(t, notices(2), 1, "the stopped run is still notified once")
				r = cli(t, env, "--config", config, "retry", "2")
				require.Equal(t, exitOK, r.code, r.stderr)
				require.Contains(t, r.stdout, "nothing to retry", "run 2 has reached BigQuery now")
				wh := pgtest.Pool(t, p.wh)
				for _, c := range schemas.All() {
					var rows int
					require.NoError(t, wh.QueryRow(ctx, "SELECT count(*) FROM reporting."+pgx.Identifier{c.Entity}.Sanitize()).Scan(&rows))
					table, ok := fake.Table("analytics", "teacher_training", c.Entity)
					require.True(t, ok, c.Entity)
					require.Len(t, table.Rows, rows, "%s: BigQuery has the published run", c.Entity)
				}
				require.NotEqual(t, bqBefore["trainees"], bigQueryState(t, fake)["trainees"], "BigQuery has the changed trainees, not only as many rows")
				// __previous was written once, from the table before run 2.
				require.Equal(t, bqBefore["trainees"], bigQueryState(t, fake)["trainees__previous"])
				require.Equal(t, 1, fake.Executions("nightshift_run2_trainees_keep_previous"))
				require.Equal(t, 1, fake.Executions("nightshift_run2_trainees_load"))
			})
		}
	}
}

// lockedBuffer is a buffer a child process writes to while a test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
