package steps

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/extract"
	"github.com/dfe-nightshift/nightshift/steps/reconcile"
)

var widgets = schemas.Contract{
	Entity: "widgets", Description: "Widgets.", Source: "src", Table: "widgets",
	PrimaryKey: []string{"id"}, MinSchemaVersion: "1", Mode: schemas.Full,
	Columns: []schemas.Column{
		{Name: "id", SourceType: "int8", Type: schemas.Int64, Description: "id"},
		{Name: "name", SourceType: "text", Type: schemas.Text, Nullable: true, Description: "name"},
		{Name: "price", SourceType: "numeric", Type: schemas.Numeric, Precision: 12, Scale: 4, Nullable: true, Description: "price"},
	},
}

// widgetEntity extracts 1,000 widgets, as the first step of a run would,
// and returns the entity state the load step is handed.
func widgetEntity(t *testing.T, reconcileSQL bool) (*entity, *pgxpool.Pool, *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	src := pgtest.Pool(t, pgtest.NewDatabase(t))
	_, err := src.Exec(ctx, `CREATE TABLE widgets (id bigint PRIMARY KEY, name text, price numeric);
		INSERT INTO widgets SELECT i, CASE WHEN i % 7 <> 0 THEN 'widget ' || i END, CASE WHEN i % 5 <> 0 THEN i / 8.0 END
		FROM generate_series(1, 1000) i`)
	require.NoError(t, err)
	wh := pgtest.Pool(t, pgtest.NewWarehouse(t))
	run := &pipeline.Run{Env: "test", Trigger: pipeline.TriggerManual, Mode: "full", Entities: []string{"widgets"}, StartedBy: "test"}
	require.NoError(t, pipeline.NewLedger(wh).Start(ctx, run))
	snap, err := extract.OpenSource(ctx, src)
	require.NoError(t, err)
	t.Cleanup(func() { snap.Close(context.Background()) })
	e := &entity{runID: run.ID, contract: &widgets, pool: src, source: snap, deps: Deps{
		Sources: map[string]*pgxpool.Pool{"src": src}, Warehouse: wh, Schema: "reporting",
		SpoolDir: t.TempDir(), BatchSize: 64, ReconcileSQL: reconcileSQL,
	}}
	out, err := (&extractStep{e}).Run(ctx, 1)
	require.NoError(t, err)
	require.EqualValues(t, 1000, out.Rows)
	require.NotNil(t, e.staged, "the extract stages as it reads")
	require.Equal(t, e.out.Source, *e.staged)
	require.Equal(t, reconcileSQL, e.sourceSQL != nil)
	return e, src, wh
}

func tableExists(t *testing.T, wh *pgxpool.Pool, name string) bool {
	t.Helper()
	var ok bool
	require.NoError(t, wh.QueryRow(context.Background(), "SELECT to_regclass($1) IS NOT NULL", name).Scan(&ok))
	return ok
}

func requireLoaded(t *testing.T, src, wh *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	want, err := reconcile.Compute(ctx, src, widgets.SourceChecksumSQL())
	require.NoError(t, err)
	got, err := reconcile.Compute(ctx, wh, widgets.ChecksumSQL("reporting.widgets"))
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.False(t, tableExists(t, wh, "nightshift_staging.widgets"), "no staging table left behind")
}

// stageAndPublish runs the entity's stage step and, if it succeeds, a
// publish of the entity alone.
func stageAndPublish(ctx context.Context, e *entity, attempt int) (pipeline.Outcome, error) {
	out, err := (&stageStep{e}).Run(ctx, attempt)
	if err != nil {
		return out, err
	}
	_, err = (&publishStep{runID: e.runID, deps: e.deps, entities: []*entity{e}}).Run(ctx, 1)
	return out, err
}

func TestLoadPublishesWhatTheExtractStaged(t *testing.T) {
	t.Parallel()
	for _, reconcileSQL := range []bool{false, true} {
		e, src, wh := widgetEntity(t, reconcileSQL)
		require.True(t, tableExists(t, wh, "nightshift_staging.widgets"))
		out, err := stageAndPublish(context.Background(), e, 1)
		require.NoError(t, err)
		require.EqualValues(t, 1000, out.Rows)
		requireLoaded(t, src, wh)
	}
}

// A load whose first attempt finds the staging table gone fails, and the
// retry stages the spool file instead of reading the source again.
func TestRetriedLoadStagesTheSpoolFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, src, wh := widgetEntity(t, false)
	_, err := wh.Exec(ctx, "DROP TABLE nightshift_staging.widgets")
	require.NoError(t, err)
	_, err = stageAndPublish(ctx, e, 1)
	require.Error(t, err)
	require.False(t, tableExists(t, wh, "reporting.widgets"))

	_, err = src.Exec(ctx, "TRUNCATE widgets") // the retry must not read the source
	require.NoError(t, err)
	out, err := stageAndPublish(ctx, e, 2)
	require.NoError(t, err)
	require.EqualValues(t, 1000, out.Rows)
	var rows int
	require.NoError(t, wh.QueryRow(ctx, "SELECT count(*) FROM reporting.widgets").Scan(&rows))
	require.Equal(t, 1000, rows)
}

// Staged rows that do not match the source are never swapped in, whichever
// check catches them, and the error is not retried.
func TestMismatchIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, tamper := range map[string]func(e *entity){
		"digest": func(e *entity) { e.out.Source.Sum = "xxh64:0123456789abcdef" },
		"count":  func(e *entity) { e.out.Source.Rows++ },
		"sql":    func(e *entity) { e.sourceSQL.Sum = "12345" },
	} {
		e, _, wh := widgetEntity(t, name == "sql")
		tamper(e)
		_, err := stageAndPublish(ctx, e, 1)
		var mismatch *reconcile.MismatchError
		require.True(t, errors.As(err, &mismatch), "%s: %v", name, err)
		require.ErrorContains(t, err, "does not match the source")
		require.False(t, tableExists(t, wh, "reporting.widgets"), name)
		require.False(t, tableExists(t, wh, "nightshift_staging.widgets"), name)
	}
}
