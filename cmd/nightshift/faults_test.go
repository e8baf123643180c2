package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/reconcile"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds nightshift once per test process, for the tests that must
// kill a real process.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nightshift-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "nightshift")
		args := []string{"build", "-o", binPath}
		if raceDetector {
			args = append(args, "-race")
		}
		out, err := exec.CommandContext(context.Background(), "go", append(args, ".")...).CombinedOutput()
		if err != nil {
			buildErr = &exec.ExitError{Stderr: out}
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if err := pgtest.DropTemplates(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = max(code, 1)
	}
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// project is a seeded register source, a migrated warehouse and a config
// file naming them.
type project struct {
	src, wh, config string
}

func newProject(t *testing.T, scale float64) project {
	t.Helper()
	p := project{src: seedRegister(t, scale), wh: newWarehouse(t)}
	rect := seededSource(t, "rect", 0.05)
	p.config = writeConfig(t, "environment: test\nwarehouse:\n  url: "+p.wh+"\nsources:\n  register:\n    url: "+p.src+
		"\n  rect:\n    url: "+rect+"\nspool:\n  dir: "+t.TempDir()+"\nrun:\n  retry_base: 10ms\n  retry_max: 50ms\n")
	return p
}

func (p project) status(t *testing.T, runID int64) string {
	t.Helper()
	var status string
	require.NoError(t, pgtest.Pool(t, p.wh).QueryRow(context.Background(), "SELECT status FROM nightshift.runs WHERE id = $1", runID).Scan(&status))
	return status
}

func TestMissingColumnIsRefusedWithExitThree(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.05)
	src := pgtest.Pool(t, p.src)
	_, err := src.Exec(context.Background(), "ALTER TABLE trainees RENAME COLUMN trn TO teacher_reference_number")
	require.NoError(t, err)

	start := time.Now()
	r := cli(t, nil, "--config", p.config, "run")
	require.Equal(t, exitRefused, r.code, r.stderr)
	require.Less(t, time.Since(start), 10*time.Second)
	require.Contains(t, r.stderr, "source register: table trainees has no column trn (entity trainees expects varchar)")
	require.Equal(t, "refused", p.status(t, 1))
	var steps int
	require.NoError(t, pgtest.Pool(t, p.wh).QueryRow(context.Background(), "SELECT count(*) FROM nightshift.step_runs").Scan(&steps))
	require.Zero(t, steps, "no step was attempted")

	r = cli(t, nil, "--config", p.config, "check")
	require.Equal(t, exitRefused, r.code, r.stderr)
	require.Contains(t, r.stdout, "MISMATCH: source register: table trainees has no column trn")
	require.Contains(t, r.stdout, "column trainees.teacher_reference_number (varchar) is new")
}

func TestSecondRunExitsFourAndAbortExits130(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.05)
	require.Equal(t, exitOK, cli(t, nil, "--config", p.config, "run").code)
	wh := pgtest.Pool(t, p.wh)
	before := checksum(t, p.wh, schemas.Trainees.ChecksumSQL("reporting.trainees"))
	_, err := pgtest.Pool(t, p.src).Exec(context.Background(), "UPDATE trainees SET last_name = 'Changed' WHERE id % 3 = 0")
	require.NoError(t, err)

	// An analyst's query holds the table, so run 2 waits in its publish.
	release := pgtest.HoldLock(t, wh, "reporting.trainees", "ACCESS SHARE")
	first := make(chan result, 1)
	go func() { first <- cli(t, nil, "--config", p.config, "run", "--reason", "nightly catch-up") }()
	pgtest.WaitForBlocked(t, wh, "LOCK TABLE")

	r := cli(t, nil, "--config", p.config, "run")
	require.Equal(t, exitLocked, r.code, r.stderr)
	require.Contains(t, r.stderr, "run 2 holds the warehouse's run lock since")
	require.Contains(t, r.stderr, `reason "nightly catch-up"`)

	r = cli(t, nil, "--config", p.config, "abort")
	require.Equal(t, exitUsage, r.code, "abort needs a reason")
	r = cli(t, nil, "--config", p.config, "abort", "--reason", "wrong night")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "abort requested for run 2")

	select {
	case r := <-first:
		require.Equal(t, exitAborted, r.code, r.stderr)
		require.Contains(t, r.stderr, "wrong night")
	case <-time.After(15 * time.Second):
		t.Fatal("the run did not stop after abort")
	}
	release()
	require.Equal(t, "aborted", p.status(t, 2))
	require.Equal(t, before, checksum(t, p.wh, schemas.Trainees.ChecksumSQL("reporting.trainees")), "the warehouse is as it was before the run")

	// The refused run is in the ledger too, as run 3.
	require.Equal(t, "refused", p.status(t, 3))

	r = cli(t, nil, "--config", p.config, "retry", "2")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "retrying run 2: full of")
	require.Equal(t, checksum(t, p.src, schemas.Trainees.SourceChecksumSQL()), checksum(t, p.wh, schemas.Trainees.ChecksumSQL("reporting.trainees")))
	r = cli(t, nil, "--config", p.config, "retry", "4")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "nothing to retry")
}

// blockedRun is a second run of a real nightshift process, changed data
// and all, stuck in its publish behind an analyst's lock on
// reporting.trainees.
type blockedRun struct {
	cmd     *exec.Cmd
	before  reconcile.Checksum // reporting.trainees before the run
	release func()             // the analyst's lock
}

func startBlockedRun(t *testing.T, p project) blockedRun {
	t.Helper()
	bin := binary(t)
	require.Equal(t, exitOK, cli(t, nil, "--config", p.config, "run").code)
	wh := pgtest.Pool(t, p.wh)
	b := blockedRun{before: checksum(t, p.wh, schemas.Trainees.ChecksumSQL("reporting.trainees"))}
	_, err := pgtest.Pool(t, p.src).Exec(context.Background(), "UPDATE trainees SET first_names = 'Changed' WHERE id % 2 = 0")
	require.NoError(t, err)
	b.release = pgtest.HoldLock(t, wh, "reporting.trainees", "ACCESS SHARE")
	b.cmd = exec.CommandContext(context.Background(), bin, "--config", p.config, "run")
	b.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	require.NoError(t, b.cmd.Start())
	pgtest.WaitForBlocked(t, wh, "LOCK TABLE")
	return b
}

func TestKilledProcessLeavesTargetsIntactAndIsMarkedAbandoned(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.05)
	b := startBlockedRun(t, p)
	require.NoError(t, b.cmd.Process.Kill()) // SIGKILL: no clean-up of any kind
	_ = b.cmd.Wait()
	b.release()

	require.Equal(t, b.before, checksum(t, p.wh, schemas.Trainees.ChecksumSQL("reporting.trainees")), "the target is intact")
	require.Equal(t, "running", p.status(t, 2), "nobody has noticed yet")

	r := cli(t, nil, "--config", p.config, "runs", "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stderr, "run 2 had died without finishing; it is now marked abandoned")
	var listing struct {
		Runs []struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
			Error  string `json:"error"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &listing))
	runs := listing.Runs
	require.Equal(t, "abandoned", runs[0].Status)
	require.Contains(t, runs[0].Error, "the process running it died")

	r = cli(t, nil, "--config", p.config, "run")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, checksum(t, p.src, schemas.Trainees.SourceChecksumSQL()), checksum(t, p.wh, schemas.Trainees.ChecksumSQL("reporting.trainees")))
}

func TestInterruptAbortsTheRunWithExit130(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.05)
	b := startBlockedRun(t, p)
	require.NoError(t, b.cmd.Process.Signal(os.Interrupt))
	err := b.cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	require.Equal(t, exitAborted, exit.ExitCode())
	b.release()

	require.Equal(t, "aborted", p.status(t, 2))
	require.Equal(t, b.before, checksum(t, p.wh, schemas.Trainees.ChecksumSQL("reporting.trainees")))
	var leftover *string
	require.NoError(t, pgtest.Pool(t, p.wh).QueryRow(context.Background(), "SELECT to_regclass('nightshift_staging.trainees')::text").Scan(&leftover))
	require.Nil(t, leftover, "the staging table was dropped")
}
