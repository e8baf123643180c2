package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/pipeline/notify"
)

// plannedAdditions are what a preflight might find: a source past the
// version its contracts were checked against, one that is not, twelve new
// columns on one entity and a widened type on another.
func plannedAdditions() *pipeline.Additions {
	a := &pipeline.Additions{
		Sources: []pipeline.SourceVersion{
			{Source: "register", Version: "20260701000000", CheckedAgainst: "20260609164710", Newer: true},
			{Source: "rect", Version: "20260813112837", CheckedAgainst: "20260813112837"},
		},
		Entities: []pipeline.EntityAdditions{
			{Entity: "a", Source: "register"},
			{Entity: "b", Source: "rect", TypeChanges: []pipeline.TypeChange{{Table: "bs", Column: "n", Contract: "int8", Found: "int4"}}},
		},
	}
	for i := 1; i <= 12; i++ {
		a.Entities[0].NewColumns = append(a.Entities[0].NewColumns, pipeline.NewColumn{Table: "as", Column: fmt.Sprintf("extra_%02d", i), Type: "text"})
	}
	return a
}

// What the preflight found and what each entity set aside reach the
// ledger, the run history and every notifier — the webhook's JSON with
// its lists cut to ten, Slack, Teams and the log — per entity, and only
// for the entities that set rows aside.
func TestQuarantineAndAdditionsReachTheLedgerAndEveryNotifier(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	hook, slack, teams := newReceiver(t, 0), newReceiver(t, 0), newReceiver(t, 0)
	var logged bytes.Buffer
	b.runner.Notifiers = []pipeline.Notifier{
		&notify.Webhook{URL: hook.srv.URL}, &notify.Slack{URL: slack.srv.URL}, &notify.Teams{URL: teams.srv.URL},
		&notify.Log{Logger: slog.New(slog.NewTextHandler(&logged, nil))},
	}
	want := plannedAdditions()
	run := &pipeline.Run{Env: "test", Trigger: pipeline.TriggerManual, Mode: "full", Entities: []string{"a", "b"}, StartedBy: "test"}
	rep, err := b.runner.Do(ctx, run, time.Minute, func(_ context.Context, run *pipeline.Run) (*pipeline.Plan, error) {
		// Entity a sets two rows aside, as an extract does.
		setAside := &stepFunc{name: "extract", fn: func(ctx context.Context, _ int) (pipeline.Outcome, error) {
			_, err := b.wh.Exec(ctx, `INSERT INTO nightshift.quarantine (run_id, entity, key, column_name, value, reason)
				VALUES ($1, 'a', '1', 'born_on', 'infinity', 'infinite date'), ($1, 'a', '2', 'born_on', 'infinity', 'infinite date')`, run.ID)
			return pipeline.Outcome{Rows: 40}, err
		}}
		return &pipeline.Plan{
			Stage: []pipeline.Task{
				{Entity: "a", Steps: []pipeline.Step{setAside}},
				{Entity: "b", Steps: []pipeline.Step{&stepFunc{name: "extract", fn: ok(7)}}},
			},
			SourceVersions: map[string]string{"register": "20260701000000", "rect": "20260813112837"},
			Additions:      want,
		}, nil
	})
	require.NoError(t, err)
	require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)
	require.Equal(t, map[string]int64{"a": 2}, rep.Quarantined)

	// The ledger keeps every addition, uncut.
	var recorded pipeline.Additions
	require.NoError(t, b.wh.QueryRow(ctx, "SELECT additions FROM nightshift.runs WHERE id = $1", rep.Run.ID).Scan(&recorded))
	require.Equal(t, *want, recorded)
	summary, err := b.runner.Ledger.Summary(ctx, rep.Run.ID)
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"a": 2}, summary.QuarantinedBy)
	require.EqualValues(t, 2, summary.Quarantined)
	require.Equal(t, want, summary.Additions)
	require.Equal(t, 14, summary.Additions.Count(), "one newer source, twelve columns, one type change")
	record, err := b.runner.Ledger.Get(ctx, rep.Run.ID)
	require.NoError(t, err)
	require.Equal(t, want, record.Additions)

	// The webhook: per entity, and the lists cut to ten with the rest
	// counted.
	got := hook.notifications(t)
	require.Len(t, got, 1)
	n := got[0]
	require.Equal(t, []pipeline.EntityNotice{
		{Entity: "a", Status: pipeline.StatusSucceeded, Rows: 40, Quarantined: 2, Attempts: 1, Seconds: n.Entities[0].Seconds},
		{Entity: "b", Status: pipeline.StatusSucceeded, Rows: 7, Attempts: 1, Seconds: n.Entities[1].Seconds},
	}, n.Entities)
	require.NotNil(t, n.Additions)
	require.Equal(t, want.Sources, n.Additions.Sources)
	require.Len(t, n.Additions.Entities[0].NewColumns, pipeline.NoticeListCap)
	require.Equal(t, "extra_10", n.Additions.Entities[0].NewColumns[9].Column)
	require.Equal(t, 2, n.Additions.Entities[0].MoreColumns)
	require.Equal(t, want.Entities[1], n.Additions.Entities[1], "short lists are whole")
	bodies, _ := hook.received()
	var raw struct {
		Entities  []map[string]any `json:"entities"`
		Additions struct {
			Entities []map[string]any `json:"entities"`
		} `json:"additions"`
	}
	require.NoError(t, json.Unmarshal(bodies[0], &raw))
	require.EqualValues(t, 2, raw.Entities[0]["rows_quarantined"])
	require.NotContains(t, raw.Entities[1], "rows_quarantined", "only entities that set rows aside say so")
	require.EqualValues(t, 2, raw.Additions.Entities[0]["new_columns_more"])

	// Chat and the log: in words, short.
	columns := "a: 12 new source columns: as.extra_01 (text), as.extra_02 (text)"
	for _, chat := range []*receiver{slack, teams} {
		bodies, _ := chat.received()
		require.Len(t, bodies, 1)
		text := string(bodies[0]) // JSON, but none of these needs escaping
		require.Contains(t, text, "• a: succeeded, 40 rows read, 2 quarantined, 1 attempt(s)")
		require.Contains(t, text, "• b: succeeded, 7 rows read, 1 attempt(s)")
		require.Contains(t, text, "source register is at schema version 20260701000000, newer than 20260609164710 that the contracts were checked against")
		require.NotContains(t, text, "source rect is at")
		require.Contains(t, text, columns)
		require.Contains(t, text, "as.extra_10 (text) and 2 more")
		require.NotContains(t, text, "extra_11")
		require.Contains(t, text, "b: compatible type change: bs.n is int4, the contract says int8")
	}
	line := logged.String()
	require.Equal(t, 1, strings.Count(line, "\n"), "one log line: %s", line)
	require.Contains(t, line, `quarantined="a 2"`)
	require.Contains(t, line, columns)
	require.Contains(t, line, "and 2 more; b: compatible type change")
}

// A run that checked no source records no additions, and its
// notification carries none; nor does one whose sources hold nothing new.
func TestNoAdditionsNoNoise(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	hook := newReceiver(t, 0)
	b.runner.Notifiers = []pipeline.Notifier{&notify.Webhook{URL: hook.srv.URL}}
	quiet := &pipeline.Additions{Sources: []pipeline.SourceVersion{{Source: "rect", Version: "20260813112837", CheckedAgainst: "20260813112837"}}}
	for _, additions := range []*pipeline.Additions{nil, quiet} {
		run := &pipeline.Run{Env: "test", Trigger: pipeline.TriggerManual, Mode: "full", Entities: []string{"a"}, StartedBy: "test"}
		rep, err := b.runner.Do(ctx, run, time.Minute, func(context.Context, *pipeline.Run) (*pipeline.Plan, error) {
			return &pipeline.Plan{Stage: []pipeline.Task{{Entity: "a", Steps: []pipeline.Step{&stepFunc{name: "extract", fn: ok(1)}}}},
				Additions: additions}, nil
		})
		require.NoError(t, err)
		summary, err := b.runner.Ledger.Summary(ctx, rep.Run.ID)
		require.NoError(t, err)
		require.Equal(t, additions, summary.Additions)
		require.Empty(t, summary.QuarantinedBy)
	}
	for _, n := range hook.notifications(t) {
		require.Nil(t, n.Additions)
	}
	bodies, _ := hook.received()
	for _, body := range bodies {
		require.NotContains(t, string(body), "additions")
		require.NotContains(t, string(body), "rows_quarantined")
	}
}

// A run whose process died recorded no results, but the rows it set aside
// are in the ledger: its notification says so, per entity.
func TestAbandonedRunTellsWhatItQuarantined(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	hook := newReceiver(t, 0)
	b.runner.Notifiers = []pipeline.Notifier{&notify.Webhook{URL: hook.srv.URL}}
	dead := &pipeline.Run{Env: "test", Trigger: pipeline.TriggerSchedule, Mode: "full", Entities: []string{"a", "b"}, StartedBy: "cron"}
	require.NoError(t, b.runner.Ledger.Start(ctx, dead))
	require.NoError(t, b.runner.Ledger.RecordSources(ctx, dead.ID, map[string]string{"register": "20260701000000"}, plannedAdditions()))
	_, err := b.wh.Exec(ctx, `INSERT INTO nightshift.quarantine (run_id, entity, key, column_name, value, reason)
		VALUES ($1, 'b', '9', 'born_on', 'infinity', 'infinite date')`, dead.ID)
	require.NoError(t, err)

	b.do(t, ctx, pipeline.Task{Entity: "a", Steps: []pipeline.Step{&stepFunc{name: "extract", fn: ok(1)}}})
	got := hook.notifications(t)
	require.Len(t, got, 2)
	require.Equal(t, pipeline.StatusAbandoned, got[0].Status)
	require.Equal(t, []pipeline.EntityNotice{{Entity: "b", Status: pipeline.StatusAbandoned, Quarantined: 1}}, got[0].Entities)
	require.NotNil(t, got[0].Additions, "what its preflight saw was recorded before it died")
	require.Equal(t, 2, got[0].Additions.Entities[0].MoreColumns)
	require.Nil(t, got[1].Additions)
}
