package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/schemas"
)

// `nightshift runs` and `runs show` for every way a run ends: one line of
// at most 100 columns per run, with what it published (nothing, for those
// that did not), what it set aside, where it failed; and one run in full.
func TestRunsTellEveryKindOfRunInOneHundredColumns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newProject(t, 0.05)
	src, wh := pgtest.Pool(t, p.src), pgtest.Pool(t, p.wh)
	require.Equal(t, exitOK, cli(t, nil, "--config", p.config, "run", "--reason", "nightly").code) // 1 succeeded

	r := cli(t, nil, "--config", p.config, "backfill", "--entity", "trainees", "--from", "2024-01-01", "--to", "2025-01-01", "--reason", "surname fix")
	require.Equal(t, exitOK, r.code, r.stderr) // 2 backfill

	_, err := src.Exec(ctx, "ALTER TABLE providers RENAME COLUMN name TO provider_name")
	require.NoError(t, err)
	require.Equal(t, exitRefused, cli(t, nil, "--config", p.config, "run").code) // 3 refused
	_, err = src.Exec(ctx, "ALTER TABLE providers RENAME COLUMN provider_name TO name")
	require.NoError(t, err)

	release := pgtest.HoldLock(t, src, "providers", "ACCESS EXCLUSIVE")
	r = cli(t, []string{"NIGHTSHIFT_RUN_ATTEMPT_TIMEOUT=300ms", "NIGHTSHIFT_RUN_MAX_ATTEMPTS=1"}, "--config", p.config, "run", "--entity", "providers", "--entity", "schools")
	require.Equal(t, exitFailed, r.code, r.stderr) // 4 failed
	release()

	release = pgtest.HoldLock(t, wh, "reporting.trainees", "ACCESS SHARE")
	done := make(chan result, 1)
	go func() { done <- cli(t, nil, "--config", p.config, "run", "--reason", "to abort") }() // 5 aborted
	pgtest.WaitForBlocked(t, wh, "LOCK TABLE")
	require.Equal(t, exitOK, cli(t, nil, "--config", p.config, "abort", "--reason", "wrong night").code)
	select {
	case r = <-done:
		require.Equal(t, exitAborted, r.code, r.stderr)
		final := lastLine(r.stderr)
		require.Equal(t, "nightshift: run 5 aborted: aborted by "+startedBy()+" at", final[:len("nightshift: run 5 aborted: aborted by "+startedBy()+" at")])
		require.Equal(t, 1, strings.Count(final, "wrong night"), "the cause, said once: %s", final)
		require.NotContains(t, r.stderr, "context canceled", "not its symptoms")
	case <-time.After(20 * time.Second):
		t.Fatal("the run did not stop")
	}
	release()

	r = cli(t, nil, "--config", p.config, "runs")
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	require.Len(t, lines, 6, r.stdout)
	for _, line := range lines {
		require.LessOrEqual(t, utf8.RuneCountInString(line), 100, "%q", line)
	}
	var trainees, all int64
	require.NoError(t, wh.QueryRow(ctx, "SELECT count(*) FROM reporting.trainees").Scan(&trainees))
	for _, c := range schemas.All() {
		var n int64
		require.NoError(t, wh.QueryRow(ctx, "SELECT count(*) FROM reporting."+c.Entity).Scan(&n))
		all += n
	}
	// Newest first: aborted, failed, refused, backfill, succeeded.
	fields := strings.Fields
	require.Equal(t, []string{"5", "manual", "aborted"}, fields(lines[1])[:3])
	require.Equal(t, "-", fields(lines[1])[8], "an aborted run published nothing")
	require.Equal(t, []string{"4", "manual", "failed"}, fields(lines[2])[:3])
	require.Equal(t, "2 entities", strings.Join(fields(lines[2])[6:8], " "))
	require.Contains(t, lines[2], "providers/ex…", "where it failed")
	require.Equal(t, []string{"3", "manual", "refused"}, fields(lines[3])[:3])
	require.Equal(t, []string{"2", "backfill", "succeeded"}, fields(lines[4])[:3])
	require.Contains(t, lines[4], "trainees 20…", "a backfill's scope is its window")
	require.Contains(t, lines[4], fmt.Sprintf(" %d ", trainees), "a backfill publishes the entity's whole new table")
	require.Equal(t, []string{"1", "manual", "succeeded"}, fields(lines[5])[:3])
	require.Contains(t, lines[5], fmt.Sprintf("all %d", len(schemas.All())))
	require.Contains(t, lines[5], fmt.Sprintf(" %d ", all), "the rows the full run published")

	r = cli(t, nil, "--config", p.config, "runs", "show", "4")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "published no: the warehouse was not changed")
	require.Regexp(t, `providers\s+extract\s+failed\s+1\s+-`, r.stdout)
	require.Regexp(t, `schools\s+stage\s+staged`, strings.ReplaceAll(r.stdout, "succeeded", "staged"))
	require.Equal(t, 1, strings.Count(r.stdout, "attempt 1 timed out after 300ms"), "the error once: %s", r.stdout)
	require.Contains(t, r.stdout, "next: Read the error above; fix its cause, then `nightshift retry 4`")

	r = cli(t, nil, "--config", p.config, "runs", "show", "2", "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var shown struct {
		Version int `json:"version"`
		Run     struct {
			Spec struct {
				Kind string `json:"kind"`
				From string `json:"from"`
			} `json:"spec"`
			RowsRead int64 `json:"rows_read"`
		} `json:"run"`
		Steps []struct {
			Entity, Step, Status string
		} `json:"steps"`
		NextAction string `json:"next_action"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &shown), r.stdout)
	require.Equal(t, 1, shown.Version)
	require.Equal(t, "backfill", shown.Run.Spec.Kind)
	require.Equal(t, "2024-01-01", shown.Run.Spec.From)
	require.Positive(t, shown.Run.RowsRead)
	require.Equal(t, "publish", shown.Steps[len(shown.Steps)-1].Step)
	require.Equal(t, "Nothing to do.", shown.NextAction)

	r = cli(t, nil, "--config", p.config, "runs", "show", "99")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "no such run")
}

// Every command that starts a run says, in its help, how it ends and what
// production asks of it.
func TestRunCommandsHelpListExitCodesAndProduction(t *testing.T) {
	t.Parallel()
	for _, command := range []string{"run", "backfill", "restore", "retry"} {
		r := cli(t, nil, command, "--help")
		require.Equal(t, exitOK, r.code, r.stderr)
		for _, want := range []string{"Exit codes: 0 succeeded", "3 preflight refused", "130 aborted", "--reason is required", "--confirm <env>"} {
			require.Contains(t, r.stdout, want, "%s --help", command)
		}
	}
}

// The data dictionary covers every table, view and function of the
// warehouse an analyst may query, beyond the entities too: checked against
// a migrated warehouse's own catalog.
func TestDocsCoverEverythingAnAnalystMayQuery(t *testing.T) {
	t.Parallel()
	r := cli(t, nil, "docs")
	require.Equal(t, exitOK, r.code, r.stderr)
	rows, err := pgtest.Pool(t, pgtest.NewWarehouse(t)).Query(context.Background(), `
		SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname IN ('nightshift', 'reporting') AND c.relkind IN ('r', 'v')
		UNION ALL
		SELECT n.nspname || '.' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'reporting'`)
	require.NoError(t, err)
	var names []string
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		names = append(names, name)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, names)
	for _, name := range names {
		require.Contains(t, r.stdout, "`"+name, "docs describe %s", name)
	}
	for _, view := range []string{"trainees_current", "teacher_timeline", "data_quality_issues"} {
		require.Contains(t, r.stdout, "view `reporting."+view+"`")
	}
}
