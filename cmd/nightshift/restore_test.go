package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/schemas"
)

func TestRestoreBringsBackThePreviousVersionExactly(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.05)
	trainees := schemas.Trainees.ChecksumSQL("reporting.trainees")
	discarded := schemas.Trainees.ChecksumSQL("reporting.trainees__discarded")
	require.Equal(t, exitOK, cli(t, nil, "--config", p.config, "run").code)
	first := checksum(t, p.wh, trainees)
	_, err := pgtest.Pool(t, p.src).Exec(context.Background(), "UPDATE trainees SET last_name = 'Changed' WHERE id % 4 = 0")
	require.NoError(t, err)
	require.Equal(t, exitOK, cli(t, nil, "--config", p.config, "run").code)
	second := checksum(t, p.wh, trainees)
	require.NotEqual(t, first, second)

	r := cli(t, nil, "--config", p.config, "restore", "--entity", "trainees")
	require.Equal(t, exitUsage, r.code, "a restore needs a reason")
	require.Contains(t, r.stderr, "--reason is required")

	r = cli(t, nil, "--config", p.config, "restore", "--entity", "trainees", "--reason", "bad surnames")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, first, checksum(t, p.wh, trainees), "the previous version is back, exactly")
	require.Equal(t, second, checksum(t, p.wh, discarded), "and the version it replaced is kept")

	// A restore done twice is the same as once: not a toggle.
	r = cli(t, nil, "--config", p.config, "restore", "--entity", "trainees", "--reason", "bad surnames, again")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, first, checksum(t, p.wh, trainees), "a second restore changes nothing")
	require.Equal(t, second, checksum(t, p.wh, discarded))
	var view int64
	require.NoError(t, pgtest.Pool(t, p.wh).QueryRow(context.Background(),
		"SELECT count(*) FROM reporting.trainees_current WHERE last_name = 'Changed'").Scan(&view))
	require.Zero(t, view, "views read the restored table")

	r = cli(t, nil, "--config", p.config, "runs")
	require.Equal(t, exitOK, r.code)
	require.Contains(t, strings.Split(r.stdout, "\n")[2], "restore")
	require.Contains(t, strings.Split(r.stdout, "\n")[2], "bad surna…", "the reason, cut to its column")

	// The restore is undone by naming the run that loaded the version it
	// took out; the ledger says which run's data each table holds.
	r = cli(t, nil, "--config", p.config, "restore", "--entity", "trainees", "--run", "2", "--reason", "the surnames were right")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, second, checksum(t, p.wh, trainees))
	require.Equal(t, first, checksum(t, p.wh, discarded))
	var current int64
	require.NoError(t, pgtest.Pool(t, p.wh).QueryRow(context.Background(),
		"SELECT run_id FROM nightshift.table_versions WHERE target = 'warehouse' AND entity = 'trainees' AND slot = 'current'").Scan(&current))
	require.EqualValues(t, 2, current)

	// A run whose version is not kept fails the restore; a run that does
	// not exist is a usage error, as in every command.
	r = cli(t, nil, "--config", p.config, "restore", "--entity", "trainees", "--run", "3", "--reason", "no such version")
	require.Equal(t, exitFailed, r.code, r.stderr)
	require.Contains(t, r.stderr, "no kept version of trainees was loaded by run 3")
	r = cli(t, nil, "--config", p.config, "restore", "--entity", "trainees", "--run", "99", "--reason", "no such run")
	require.Equal(t, exitUsage, r.code, r.stderr)
	require.Contains(t, r.stderr, "no such run: run 99")
	require.Equal(t, second, checksum(t, p.wh, trainees), "a refused restore changes nothing")
}

func TestProductionRestoreNeedsConfirmation(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.05)
	require.Equal(t, exitOK, cli(t, nil, "--config", p.config, "run").code)
	require.Equal(t, exitOK, cli(t, nil, "--config", p.config, "run").code)
	before := checksum(t, p.wh, schemas.Trainees.ChecksumSQL("reporting.trainees"))
	prod := []string{"NIGHTSHIFT_ENV=production"}

	r := cli(t, prod, "--config", p.config, "restore", "--entity", "trainees", "--reason", "oops")
	require.Equal(t, exitLocked, r.code, r.stderr)
	require.Contains(t, r.stderr, "ENVIRONMENT: PRODUCTION")
	require.Contains(t, r.stderr, "--confirm production")
	r = cli(t, prod, "--config", p.config, "restore", "--entity", "trainees", "--reason", "oops", "--confirm", "staging")
	require.Equal(t, exitLocked, r.code, r.stderr)
	require.Equal(t, before, checksum(t, p.wh, schemas.Trainees.ChecksumSQL("reporting.trainees")), "nothing changed")

	r = cli(t, prod, "--config", p.config, "run")
	require.Equal(t, exitUsage, r.code, "a manual production run needs a reason")
	require.Contains(t, r.stderr, "--reason is required")

	r = cli(t, prod, "--config", p.config, "restore", "--entity", "trainees", "--reason", "oops", "--confirm", "production")
	require.Equal(t, exitOK, r.code, r.stderr)
}

func TestScheduleRefusesAnInvalidScheduleFileAtStart(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.05)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "nightly.yaml"), []byte("name: nightly\ncron: \"0 2 * * *\"\ntimezone: Mars/Olympus\n"), 0o600))
	r := cli(t, nil, "--config", p.config, "schedule", "--dir", dir)
	require.Equal(t, exitUsage, r.code, r.stderr)
	require.Contains(t, r.stderr, "nightly.yaml: timezone: \"Mars/Olympus\" is not a time zone")
}
