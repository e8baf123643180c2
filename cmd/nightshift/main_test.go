package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/internal/seed"
	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	nssql "github.com/dfe-nightshift/nightshift/sql"
	"github.com/dfe-nightshift/nightshift/steps/reconcile"
)

type result struct {
	code           int
	stdout, stderr string
}

// cli runs the command in-process, as main would, with only the
// environment given (never the test process's own NIGHTSHIFT_ variables).
func cli(t *testing.T, env []string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), args, &out, &errOut, env)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nightshift.yaml")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}

func TestBadConfigurationExitsTwoNamingTheSetting(t *testing.T) {
	t.Parallel()
	unreachable := "postgres://nightshift@127.0.0.1:1/warehouse?sslmode=disable"
	cases := []struct {
		name    string
		config  string
		env     []string
		args    []string
		mention string
	}{
		{"unknown key", "warehouse:\n  url: " + unreachable + "\n  schemaa: x\n", nil, []string{"runs"}, "schemaa"},
		{"missing warehouse", "environment: test\n", nil, []string{"runs"}, "warehouse.url"},
		{"password in file", "warehouse:\n  url: postgres://u:hunter2@127.0.0.1/w\n", nil, []string{"runs"}, "must not contain a password"},
		{"unknown entity", "warehouse:\n  url: " + unreachable + "\n", nil, []string{"run", "--entity", "trainess"}, "unknown entity \"trainess\""},
		{"unknown flag", "warehouse:\n  url: " + unreachable + "\n", nil, []string{"run", "--entitty", "x"}, "unknown flag"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := writeConfig(t, tc.config)
			r := cli(t, tc.env, append([]string{"--config", path}, tc.args...)...)
			require.Equal(t, exitUsage, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
			require.Contains(t, r.stderr, tc.mention)
			require.NotContains(t, r.stdout+r.stderr, "hunter2", "a password must never be printed")
		})
	}
}

// A warehouse that does not answer at 02:00 is an outage, not a mistake
// in the configuration: the run fails (exit 1), the notifiers hear of it,
// and the spool directory keeps a record, since the ledger cannot.
func TestUnreachableWarehouseFailsTheRunAndIsReported(t *testing.T) {
	t.Parallel()
	hook := newWebhook(t)
	spool := t.TempDir()
	path := writeConfig(t, "environment: test\nwarehouse:\n  url: postgres://nightshift@127.0.0.1:1/warehouse?sslmode=disable\nspool:\n  dir: "+spool+"\n")
	r := cli(t, []string{"NIGHTSHIFT_WAREHOUSE_PASSWORD=hunter2", "NIGHTSHIFT_WEBHOOK_URL=" + hook.url}, "--config", path, "run")
	require.Equal(t, exitFailed, r.code, r.stderr)
	require.Contains(t, r.stderr, "warehouse.url: cannot connect")
	require.Contains(t, r.stderr, "is not in the ledger")
	require.NotContains(t, r.stdout+r.stderr, "hunter2", "a password must never be printed")
	got := hook.received(t)
	require.Len(t, got, 1, "exactly one notification")
	require.Equal(t, "failed", got[0]["status"])
	require.Contains(t, got[0]["changed"], "Nothing was changed")
	body, err := os.ReadFile(filepath.Join(spool, pipeline.UnrecordedFile))
	require.NoError(t, err)
	require.Contains(t, string(body), "warehouse.url: cannot connect")
	require.NotContains(t, string(body), "hunter2")
}

func TestRunRefusesAnUnmigratedWarehouse(t *testing.T) {
	t.Parallel()
	wh := pgtest.NewDatabase(t)
	path := writeConfig(t, "warehouse:\n  url: "+wh+"\n")
	r := cli(t, nil, "--config", path, "run")
	require.Equal(t, exitUsage, r.code, r.stderr)
	require.Contains(t, r.stderr, "nightshift migrate up")

	latest, err := nssql.LatestVersion()
	require.NoError(t, err)
	want := fmt.Sprintf("version %d of %d", latest, latest)
	r = cli(t, nil, "--config", path, "migrate", "up")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, want)
	r = cli(t, nil, "--config", path, "migrate", "version")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, want)
	r = cli(t, nil, "--config", path, "migrate", "down", "1")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, fmt.Sprintf("version %d of %d", latest-1, latest))
	r = cli(t, nil, "--config", path, "run")
	require.Equal(t, exitUsage, r.code, "a warehouse behind the binary is refused")
	require.Contains(t, r.stderr, fmt.Sprintf("at version %d; this nightshift needs version %d", latest-1, latest))
}

// seedRegister creates and seeds a register source database.
func seedRegister(t *testing.T, scale float64) string {
	t.Helper()
	return seededSource(t, "register", scale)
}

// newWarehouse is a new database migrated to the latest warehouse schema:
// a clone of one migrated once per test process.
func newWarehouse(t *testing.T) string {
	t.Helper()
	return pgtest.NewDatabaseFrom(t, "migrated warehouse", func(_ context.Context, conn *pgx.Conn) error {
		return pgtest.Migrate(conn.Config().ConnString())
	})
}

// seededSource is a new database holding the source's schema seeded at
// scale (seed 1): a clone of one seeded once per test process.
func seededSource(t *testing.T, source string, scale float64) string {
	t.Helper()
	return pgtest.NewDatabaseFrom(t, fmt.Sprintf("%s seeded at scale %g", source, scale), func(ctx context.Context, conn *pgx.Conn) error {
		if err := seed.CreateSchema(ctx, conn, source); err != nil {
			return err
		}
		_, err := seed.Seed(ctx, conn, source, seed.Options{Scale: scale, Seed: 1})
		return err
	})
}

// checksum runs a checksum query on its own short-lived connection: tests
// call it dozens of times, and connections held until the test ends would
// exhaust the server's max_connections when packages run in parallel.
func checksum(t *testing.T, url, sql string) reconcile.Checksum {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	c, err := reconcile.Compute(ctx, conn, sql)
	require.NoError(t, err)
	return c
}

// sourceChecksum checksums what c's extract query returns from the source
// at sourceURL, except the rows that the run whose data the warehouse's
// current table holds quarantined (as make demo checks it).
func sourceChecksum(t *testing.T, sourceURL, whURL string, c *schemas.Contract) reconcile.Checksum {
	t.Helper()
	ctx := context.Background()
	src, err := pgx.Connect(ctx, sourceURL)
	require.NoError(t, err)
	defer src.Close(ctx)
	wh, err := pgx.Connect(ctx, whURL)
	require.NoError(t, err)
	defer wh.Close(ctx)
	sum, _, err := sourceChecksumAsPublished(ctx, src, wh, c)
	require.NoError(t, err)
	return sum
}

func TestRunTwiceLeavesIdenticalTablesAndKeepsPrevious(t *testing.T) {
	t.Parallel()
	src := seedRegister(t, 0.5)
	wh := newWarehouse(t)
	path := writeConfig(t, "environment: test\nwarehouse:\n  url: "+wh+"\nsources:\n  register:\n    url: "+src+"\nspool:\n  dir: "+t.TempDir()+"\n")
	c := &schemas.Trainees

	source := checksum(t, src, c.SourceChecksumSQL())
	require.Greater(t, source.Rows, int64(100))

	r := cli(t, nil, "--config", path, "run", "--entity", "trainees", "--reason", "first")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "succeeded")
	require.Contains(t, r.stderr, "environment: test")
	first := checksum(t, wh, c.ChecksumSQL("reporting.trainees"))
	require.Equal(t, source, first)

	r = cli(t, nil, "--config", path, "run", "--entity", "trainees")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, first, checksum(t, wh, c.ChecksumSQL("reporting.trainees")), "a second run leaves the table identical")
	require.Equal(t, first, checksum(t, wh, c.ChecksumSQL("reporting.trainees__previous")), "__previous holds the load before")

	r = cli(t, nil, "--config", path, "runs", "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var listing struct {
		Version int `json:"version"`
		Runs    []struct {
			ID            int64    `json:"id"`
			Trigger       string   `json:"trigger"`
			Status        string   `json:"status"`
			Entities      []string `json:"entities"`
			RowsRead      int64    `json:"rows_read"`
			RowsPublished int64    `json:"rows_published"`
			Reason        string   `json:"reason"`
			Spec          struct {
				Kind string `json:"kind"`
			} `json:"spec"`
			Results map[string]string `json:"results"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &listing), r.stdout)
	require.Equal(t, 1, listing.Version)
	runs := listing.Runs
	require.Len(t, runs, 2)
	for i, run := range runs {
		require.Equal(t, int64(2-i), run.ID, "newest first")
		require.Equal(t, "succeeded", run.Status)
		require.Equal(t, "manual", run.Trigger)
		require.Equal(t, "full", run.Spec.Kind)
		require.Equal(t, []string{"trainees"}, run.Entities)
		require.Equal(t, source.Rows, run.RowsRead)
		require.Equal(t, source.Rows, run.RowsPublished)
		require.Equal(t, map[string]string{"trainees": "succeeded"}, run.Results)
	}
	require.Equal(t, "first", runs[1].Reason)

	r = cli(t, nil, "--config", path, "runs")
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 3, r.stdout)
	require.Contains(t, lines[0], "PUBLISHED")
	require.Contains(t, lines[2], "first")
	require.Contains(t, lines[2], fmt.Sprintf(" %d ", source.Rows), "the rows published")
	for _, line := range lines {
		require.LessOrEqual(t, utf8.RuneCountInString(line), 100, line)
	}
}

func TestRunNeverWritesToTheSource(t *testing.T) {
	t.Parallel()
	src := seedRegister(t, 0.05)
	wh := newWarehouse(t)
	path := writeConfig(t, "warehouse:\n  url: "+wh+"\nsources:\n  register:\n    url: "+src+"\nspool:\n  dir: "+t.TempDir()+"\n")
	conn := pgtest.Connect(t, src)
	tablesSQL := "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1"
	list := func() []string {
		rows, err := conn.Query(context.Background(), tablesSQL)
		require.NoError(t, err)
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return names
	}
	before := list()
	r := cli(t, nil, "--config", path, "run", "--entity", "trainees", "--entity", "register_statuses")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, before, list(), "nothing is created in the source")
}
