package steps_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/bqtest"
	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	nssql "github.com/dfe-nightshift/nightshift/sql"
	"github.com/dfe-nightshift/nightshift/steps"
	"github.com/dfe-nightshift/nightshift/steps/loadbigquery"
)

// templated is a view written as a template, with its PostgreSQL SQL
// rendered as package sql renders a view file's.
func templated(t *testing.T, name, description, query string, deps ...string) nssql.View {
	t.Helper()
	v := nssql.View{Name: name, DependsOn: deps, Description: description, Query: query}
	pg, err := v.Render(nssql.Postgres(""))
	require.NoError(t, err)
	v.SQL = "CREATE VIEW " + name + " AS " + pg
	return v
}

// runFinishing is a full run of samples that ends with FinishBigQuery, as
// the Engine plans one (it knows no test contract).
func (b *bundle) runFinishing(t *testing.T) pipeline.Report {
	t.Helper()
	run := &pipeline.Run{Env: "test", Trigger: pipeline.TriggerManual, Mode: "full", Entities: []string{"samples"}, StartedBy: "test"}
	rep, err := b.runner.Do(context.Background(), run, time.Minute, func(ctx context.Context, run *pipeline.Run) (*pipeline.Plan, error) {
		p, err := steps.NewPlan(ctx, run.ID, b.deps, []*schemas.Contract{&samples})
		if err == nil {
			p.AfterPropagate = steps.FinishBigQuery(b.deps, run.ID)
		}
		return p, err
	})
	require.NoError(t, err)
	return rep
}

func (b *bundle) finished(t *testing.T, runID int64) loadbigquery.ParityResult {
	t.Helper()
	var detail []byte
	require.NoError(t, b.wh.QueryRow(context.Background(), `SELECT detail FROM nightshift.step_runs
		WHERE run_id = $1 AND entity = '*' AND step = 'finish-bigquery' AND status = 'succeeded'`, runID).Scan(&detail))
	var res loadbigquery.ParityResult
	require.NoError(t, json.Unmarshal(detail, &res))
	return res
}

// state is what a test can see of the dataset's objects beyond the entity
// tables: each one's rows, etag and last change.
func state(t *testing.T, fake *bqtest.Server) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, name := range []string{loadbigquery.HistoryTable, loadbigquery.QuarantineTable, loadbigquery.FreshnessTable, "sample_named"} {
		tbl, ok := fake.Table("proj", "ns", name)
		require.True(t, ok, name)
		out[name] = []any{tbl.Rows, tbl.Meta.Etag, tbl.Meta.LastModifiedTime, tbl.Meta.View}
	}
	rt, ok := fake.Routine("proj", "ns", "statuses_as_of")
	require.True(t, ok)
	out["statuses_as_of"] = []any{rt.Etag, rt.LastModifiedTime, rt.DefinitionBody}
	return out
}

// Once every entity reached BigQuery, the run's last step creates the
// views whose tables are all there (from their templates, in GoogleSQL,
// with their descriptions), leaves out the others as the warehouse does,
// creates the as-of function and loads the status history, quarantine
// counts and freshness. Run again for the same data it changes nothing
// and runs no job twice; a view whose template changed is updated by the
// next run.
func TestFinishBigQueryBringsTheRestLevelOncePerRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	fake := withBigQuery(t, b)
	b.deps.Views = append(b.deps.Views,
		templated(t, "sample_named", "Samples with a name.", `SELECT s.id, s.name FROM {{table "samples"}} s WHERE s.name IS NOT NULL`, "samples"),
		templated(t, "sample_absent", "Needs a table no run loads.", `SELECT s.id FROM {{table "samples"}} s JOIN {{table "absent"}} a ON a.id = s.id`, "samples", "absent"))
	rep := b.runFinishing(t)
	require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)
	require.True(t, rep.Propagated)

	view, ok := fake.Table("proj", "ns", "sample_named")
	require.True(t, ok)
	require.Equal(t, "VIEW", view.Meta.Type)
	require.Equal(t, "SELECT s.id, s.name FROM `proj.ns.samples` s WHERE s.name IS NOT NULL", view.Meta.View.Query)
	require.Equal(t, "Samples with a name.", view.Meta.Description)
	for _, absent := range []string{"sample_absent", "sample_codes"} {
		_, ok := fake.Table("proj", "ns", absent)
		require.False(t, ok, absent)
	}
	require.Equal(t, loadbigquery.ParityResult{
		Tables: map[string]int64{"status_history": 0, "nightshift_quarantine": 0, "nightshift_freshness": 1},
		Views: map[string]string{"sample_named": "created", "sample_absent": "left out: absent is not in BigQuery yet",
			"sample_codes": "left out: the warehouse's only (no template)"},
		Functions: map[string]string{"statuses_as_of": "created"},
	}, b.finished(t, rep.Run.ID))
	require.Empty(t, fake.ViewProblems("proj", "ns"))
	fresh, ok := fake.Table("proj", "ns", loadbigquery.FreshnessTable)
	require.True(t, ok)
	require.Equal(t, "samples", fresh.Rows[0]["entity"])
	require.Equal(t, int64(1), fresh.Rows[0]["run_id"])
	require.Equal(t, int64(6), fresh.Rows[0]["rows"])
	require.NotNil(t, fresh.Rows[0]["snapshot_at"])
	history, _ := fake.Table("proj", "ns", loadbigquery.HistoryTable)
	require.Contains(t, history.Meta.Description, "Every status of every trainee", "the migration's COMMENT")
	require.Equal(t, "The run that opened this version (nightshift.runs.id).", history.Meta.Schema.Fields[7].Description)

	// The same step again, for the same data, in a later run: nothing
	// changes, nothing is loaded again.
	before := state(t, fake)
	again, err := b.runner.Do(context.Background(), &pipeline.Run{Env: "test", Trigger: pipeline.TriggerManual, Mode: "full", Entities: []string{"*"}, StartedBy: "test"},
		time.Minute, pipeline.StageOnly(pipeline.Task{Entity: pipeline.RunEntity, Steps: []pipeline.Step{steps.FinishBigQuery(b.deps, rep.Run.ID)}}))
	require.NoError(t, err)
	require.Equal(t, pipeline.StatusSucceeded, again.Status, "%v", again.Err)
	require.Equal(t, before, state(t, fake))
	res := b.finished(t, again.Run.ID)
	require.Equal(t, map[string]string{"statuses_as_of": "unchanged"}, res.Functions)
	require.Equal(t, "unchanged", res.Views["sample_named"])
	for _, table := range []string{"status_history", "nightshift_quarantine", "nightshift_freshness"} {
		require.Equal(t, 1, fake.Executions("nightshift_run1_"+table+"_load"), table)
	}

	// A view whose template changed is updated by the next run, which
	// loads its own copies of the tables.
	b.deps.Views[1] = templated(t, "sample_named", "Samples with a name, and their code.", `SELECT s.id, s.name, s.code FROM {{table "samples"}} s WHERE s.name IS NOT NULL`, "samples")
	rep = b.runFinishing(t)
	require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)
	require.Equal(t, "updated", b.finished(t, rep.Run.ID).Views["sample_named"])
	view, _ = fake.Table("proj", "ns", "sample_named")
	require.Equal(t, "SELECT s.id, s.name, s.code FROM `proj.ns.samples` s WHERE s.name IS NOT NULL", view.Meta.View.Query)
	require.Equal(t, "Samples with a name, and their code.", view.Meta.Description)
	fresh, _ = fake.Table("proj", "ns", loadbigquery.FreshnessTable)
	require.Equal(t, rep.Run.ID, fresh.Rows[0]["run_id"])
}
