package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/pipeline"
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
	r = cli(t, []string{"NIGHTSHIFT_RUN_ATTEMPT_TIMEOUT=2s", "NIGHTSHIFT_RUN_MAX_ATTEMPTS=1"}, "--config", p.config, "run", "--entity", "providers", "--entity", "schools")
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
	require.Equal(t, 1, strings.Count(r.stdout, "attempt 1 timed out after 2s"), "the error once: %s", r.stdout)
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
	rows, err := pgtest.Pool(t, newWarehouse(t)).Query(context.Background(), `
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
	for _, view := range []string{"trainees_current", "teacher_timeline", "trainee_timeline", "data_quality_issues"} {
		require.Contains(t, r.stdout, "view `reporting."+view+"`")
	}
}

// Quarantine and additions are visible (issue 11): two trainees whose
// outcome date no target can hold (beside what the seed plants), a column added to trainees, twelve to
// providers and one of its columns retyped losslessly, and a register
// migrated past the schema.rb the contracts were checked against. The run's
// summary, the ledger, `runs`, `runs show`, both JSONs and every
// notification say so, per entity.
func TestQuarantineAndAdditionsAreShownWhereverTheRunIs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newProject(t, 0.05)
	hook, slack, teams := newWebhook(t), newWebhook(t), newWebhook(t)
	src, wh := pgtest.Pool(t, p.src), pgtest.Pool(t, p.wh)
	extra := make([]string, 12)
	for i := range extra {
		extra[i] = fmt.Sprintf("ADD COLUMN extra_%02d int4", i+1)
	}
	_, err := src.Exec(ctx, `ALTER TABLE trainees ADD COLUMN favourite_colour varchar;
		UPDATE trainees SET outcome_date = 'infinity' WHERE id IN (SELECT id FROM trainees ORDER BY id LIMIT 2);
		ALTER TABLE providers ALTER COLUMN name TYPE text, `+strings.Join(extra, ", ")+`;
		INSERT INTO schema_migrations (version) VALUES ('20260701000000')`)
	require.NoError(t, err)
	register, ok := schemas.UpstreamOf("register")
	require.True(t, ok)
	rect, ok := schemas.UpstreamOf("rect")
	require.True(t, ok)
	newer := "source register is at schema version 20260701000000, newer than " + register.Version + " that the contracts were checked against"

	r := cli(t, []string{"NIGHTSHIFT_WEBHOOK_URL=" + hook.url, "NIGHTSHIFT_SLACK_WEBHOOK_URL=" + slack.url, "NIGHTSHIFT_TEAMS_WEBHOOK_URL=" + teams.url},
		"--config", p.config, "run", "--reason", "issue 11")
	require.Equal(t, exitOK, r.code, r.stderr)
	// The two trainees are set aside, beside whatever the seed plants (and
	// their statuses with them): every report must agree with the ledger.
	var planted int
	require.NoError(t, wh.QueryRow(ctx, `SELECT count(*) FROM nightshift.quarantine
		WHERE run_id = 1 AND entity = 'trainees' AND column_name = 'outcome_date'`).Scan(&planted))
	require.Equal(t, 2, planted)
	rows, err := wh.Query(ctx, "SELECT entity, count(*) FROM nightshift.quarantine WHERE run_id = 1 GROUP BY entity")
	require.NoError(t, err)
	quarantined := map[string]int64{}
	var total int64
	for rows.Next() {
		var entity string
		var n int64
		require.NoError(t, rows.Scan(&entity, &n))
		quarantined[entity], total = n, total+n
	}
	require.NoError(t, rows.Err())

	// The run's own summary: quarantined rows per entity, and the additions
	// with long lists cut.
	for _, entity := range schemas.Names() {
		require.Regexp(t, fmt.Sprintf(`(?m)^%s\s+succeeded\s+\d+\s+%d\s`, entity, quarantined[entity]), r.stdout)
	}
	for _, want := range []string{newer, "trainees: new source column: trainees.favourite_colour (varchar)",
		"providers: 12 new source columns: providers.extra_01 (int4)", "providers.extra_10 (int4) and 2 more",
		"providers: compatible type change: providers.name is text, the contract says varchar", "`nightshift runs show 1` lists it all"} {
		require.Contains(t, r.stdout, want)
	}
	require.NotContains(t, r.stdout, "extra_11")
	for entity, n := range quarantined {
		require.Regexp(t, fmt.Sprintf(`quarantined="[^"]*\b%s %d\b`, entity, n), r.stderr, "the log's notification")
	}
	require.Contains(t, r.stderr, "preflight: providers: 12 new source columns", "the log line of old, kept")

	// The ledger, with every addition.
	var additions pipeline.Additions
	require.NoError(t, wh.QueryRow(ctx, "SELECT additions FROM nightshift.runs WHERE id = 1").Scan(&additions))
	require.Equal(t, []pipeline.SourceVersion{
		{Source: "register", Version: "20260701000000", CheckedAgainst: register.Version, Newer: true},
		{Source: "rect", Version: rect.Version, CheckedAgainst: rect.Version},
	}, additions.Sources)
	byEntity := map[string]pipeline.EntityAdditions{}
	for _, e := range additions.Entities {
		byEntity[e.Entity] = e
	}
	require.Contains(t, byEntity["trainees"].NewColumns, pipeline.NewColumn{Table: "trainees", Column: "favourite_colour", Type: "varchar"})
	require.Len(t, byEntity["providers"].NewColumns, 12)
	require.Equal(t, pipeline.NewColumn{Table: "providers", Column: "extra_12", Type: "int4"}, byEntity["providers"].NewColumns[11])
	require.Equal(t, []pipeline.TypeChange{{Table: "providers", Column: "name", Contract: "varchar", Found: "text"}}, byEntity["providers"].TypeChanges)
	require.Zero(t, byEntity["providers"].MoreColumns, "the ledger is never cut")

	// nightshift runs: the quarantined rows and the number of additions.
	r = cli(t, nil, "--config", p.config, "runs")
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	require.Len(t, lines, 2, r.stdout)
	require.Contains(t, lines[0], " QUAR NEW ")
	for _, line := range lines {
		require.LessOrEqual(t, utf8.RuneCountInString(line), 100, "%q", line)
	}
	fields := strings.Fields(lines[1])
	require.Equal(t, []string{strconv.FormatInt(total, 10), strconv.Itoa(additions.Count()), "issue"}, fields[9:12], lines[1])

	// nightshift runs show: all of it, per entity.
	r = cli(t, nil, "--config", p.config, "runs", "show", "1")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "  sources   register 20260701000000: NEWER than "+register.Version+", which the contracts were checked against\n"+
		"            rect "+rect.Version+": the version the contracts were checked against\n")
	require.Contains(t, r.stdout, "quarantined (nightshift.quarantine WHERE run_id = 1):\n")
	for entity, n := range quarantined {
		require.Regexp(t, fmt.Sprintf(`(?m)^  %s\s+%d rows$`, entity, n), r.stdout)
	}
	for _, want := range []string{newer, "trainees: new source column: trainees.favourite_colour (varchar)",
		"providers.extra_11 (int4), providers.extra_12 (int4)\n", "providers: compatible type change: providers.name is text"} {
		require.Contains(t, r.stdout, want)
	}
	require.NotContains(t, r.stdout, "more")

	// nightshift check: the newer version is a note, not a mismatch.
	r = cli(t, nil, "--config", p.config, "check")
	require.Equal(t, exitOK, r.code, r.stdout)
	require.Contains(t, r.stdout, "note:     "+newer)
	require.Contains(t, r.stdout, "source register: schema version 20260701000000 (contracts checked against "+register.Version)

	// --json, both: the new fields beside the old.
	r = cli(t, nil, "--config", p.config, "runs", "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var listing struct {
		Version int `json:"version"`
		Runs    []struct {
			Quarantined   int64               `json:"rows_quarantined"`
			QuarantinedBy map[string]int64    `json:"rows_quarantined_by_entity"`
			Additions     *pipeline.Additions `json:"additions"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &listing), r.stdout)
	require.Equal(t, 1, listing.Version)
	require.Equal(t, total, listing.Runs[0].Quarantined)
	require.Equal(t, quarantined, listing.Runs[0].QuarantinedBy)
	require.Equal(t, &additions, listing.Runs[0].Additions)
	r = cli(t, nil, "--config", p.config, "runs", "show", "1", "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var shown struct {
		Run struct {
			QuarantinedBy map[string]int64    `json:"rows_quarantined_by_entity"`
			Additions     *pipeline.Additions `json:"additions"`
		} `json:"run"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &shown), r.stdout)
	require.Equal(t, quarantined, shown.Run.QuarantinedBy)
	require.Equal(t, &additions, shown.Run.Additions)

	// The webhook: the entity that set rows aside says how many, the others
	// nothing; the additions, lists cut to ten and the rest counted.
	got := hook.received(t)
	require.Len(t, got, 1)
	body, err := json.Marshal(got[0])
	require.NoError(t, err)
	var n pipeline.Notification
	require.NoError(t, json.Unmarshal(body, &n))
	require.Len(t, n.Entities, len(schemas.All()))
	for _, e := range n.Entities {
		require.Equal(t, quarantined[e.Entity], e.Quarantined, e.Entity)
	}
	for _, e := range got[0]["entities"].([]any) {
		e := e.(map[string]any)
		_, says := e["rows_quarantined"]
		require.Equal(t, quarantined[e["entity"].(string)] > 0, says, "only an entity that set rows aside says so: %v", e)
	}
	require.NotNil(t, n.Additions)
	require.Equal(t, additions.Sources, n.Additions.Sources)
	for _, e := range n.Additions.Entities {
		if e.Entity == "providers" {
			require.Len(t, e.NewColumns, 10)
			require.Equal(t, 2, e.MoreColumns)
			require.Equal(t, byEntity["providers"].TypeChanges, e.TypeChanges)
		}
	}
	for _, chat := range []*webhook{slack, teams} {
		got := chat.received(t)
		require.Len(t, got, 1)
		text, err := json.Marshal(got[0])
		require.NoError(t, err)
		for entity, n := range quarantined {
			require.Regexp(t, fmt.Sprintf(`• %s: succeeded, \d+ rows read, %d quarantined`, entity, n), string(text))
		}
		require.Contains(t, string(text), newer)
		require.Contains(t, string(text), "providers.extra_10 (int4) and 2 more")
	}
}
