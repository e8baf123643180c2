package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/bqtest"
	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/internal/seed"
	"github.com/dfe-nightshift/nightshift/schemas"
	nssql "github.com/dfe-nightshift/nightshift/sql"
)

// cell is a value as text, the same whether the fake or pgx holds it.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

// bqLines are a fake table's rows as sorted lines of the columns' cells.
func bqLines(t *testing.T, fake *bqtest.Server, table string, cols ...string) []string {
	t.Helper()
	tbl, ok := fake.Table("analytics", "teacher_training", table)
	require.True(t, ok, "BigQuery has %s", table)
	out := make([]string, 0, len(tbl.Rows))
	for _, row := range tbl.Rows {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = cell(row[c])
		}
		out = append(out, strings.Join(cells, "|"))
	}
	slices.Sort(out)
	return out
}

// whLines are a warehouse query's rows as sorted lines of cells.
func whLines(t *testing.T, url, sql string, args ...any) []string {
	t.Helper()
	rows, err := pgxConnUTC(t, url).Query(context.Background(), sql, args...)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		values, err := rows.Values()
		require.NoError(t, err)
		cells := make([]string, len(values))
		for i, v := range values {
			cells[i] = cell(v)
		}
		out = append(out, strings.Join(cells, "|"))
	}
	require.NoError(t, rows.Err())
	slices.Sort(out)
	return out
}

// requireBigQueryLevel checks that BigQuery holds what the warehouse does
// beside the entity tables, value for value: the views and the as-of
// function, from the same templates as the warehouse's; the status
// history; what each run set aside; which run's data each table holds.
func requireBigQueryLevel(t *testing.T, fake *bqtest.Server, wh string, run int64) {
	t.Helper()
	dialect := nssql.BigQuery("analytics", "teacher_training")
	views, err := nssql.Views()
	require.NoError(t, err)
	for _, v := range views {
		tbl, ok := fake.Table("analytics", "teacher_training", v.Name)
		require.True(t, ok, "view %s", v.Name)
		require.Equal(t, "VIEW", tbl.Meta.Type)
		want, err := v.Render(dialect)
		require.NoError(t, err)
		require.Equal(t, want, tbl.Meta.View.Query, v.Name)
		require.Equal(t, v.Description, tbl.Meta.Description, v.Name)
	}
	functions, err := nssql.Functions()
	require.NoError(t, err)
	for _, f := range functions {
		rt, ok := fake.Routine("analytics", "teacher_training", f.Name)
		require.True(t, ok, "function %s", f.Name)
		want, err := f.Render(dialect)
		require.NoError(t, err)
		require.Equal(t, "TABLE_VALUED_FUNCTION", rt.RoutineType)
		require.Equal(t, "SQL", rt.Language)
		require.Equal(t, want, rt.DefinitionBody)
		require.Equal(t, f.Description, rt.Description)
		require.Len(t, rt.Arguments, 1)
		require.Equal(t, "at", rt.Arguments[0].Name)
		require.Equal(t, "TIMESTAMP", rt.Arguments[0].DataType.TypeKind)
		require.Len(t, rt.ReturnTableType.Columns, len(f.Returns))
	}
	require.Empty(t, fake.ViewProblems("analytics", "teacher_training"),
		"every table and column the views and the function read is in the dataset, named in full")

	history := []string{"entity_type", "entity_id", "status", "valid_from", "valid_to", "is_current", "origin", "run_id", "closed_by_run_id"}
	want := whLines(t, wh, "SELECT "+strings.Join(history, ", ")+" FROM reporting.status_history")
	require.NotEmpty(t, want)
	require.Equal(t, want, bqLines(t, fake, "status_history", history...), "status_history, value for value")

	requireBigQueryQuarantineIsTheWarehouses(t, fake, wh)

	fresh := bqLines(t, fake, "nightshift_freshness", "entity", "run_id", "snapshot_at", "warehouse_run_id")
	require.Len(t, fresh, len(schemas.All()))
	require.Equal(t, whLines(t, wh, `SELECT v.entity, v.run_id, (s.detail->>'snapshot_at')::timestamptz, v.run_id
		FROM nightshift.table_versions v JOIN nightshift.step_runs s ON s.run_id = v.run_id AND s.entity = v.entity AND s.step = 'extract' AND s.status = 'succeeded'
		WHERE v.target = 'warehouse' AND v.slot = 'current' AND v.run_id = $1`, run), fresh,
		"every BigQuery table holds the run's data, read at the warehouse's snapshot")
}

// After each run, BigQuery holds the warehouse's status history, as-of
// function, views, quarantine counts and freshness, value for value; a
// second run, after statuses changed in the sources, brings them level
// again.
func TestBigQueryIsLevelWithTheWarehouseAfterEachRun(t *testing.T) {
	t.Parallel()
	p := newFullProject(t, 0.2)
	fake := bqtest.New(t)
	config := withBigQueryConfig(t, p.project, fake, "hash")
	env := []string{"NIGHTSHIFT_PII_HMAC_KEY=" + piiKey}
	r := cli(t, env, "--config", config, "run")
	require.Equal(t, exitOK, r.code, r.stderr)
	requireBigQueryLevel(t, fake, p.wh, 1)

	ctx := context.Background()
	_, err := pgtest.Pool(t, p.src).Exec(ctx, "UPDATE trainees SET state = 4 WHERE id IN (SELECT id FROM trainees WHERE state = 2 ORDER BY id LIMIT 3)")
	require.NoError(t, err)
	_, err = pgtest.Pool(t, p.rect).Exec(ctx, "UPDATE declarations SET payment_status = 'voided' WHERE id IN (SELECT id FROM declarations WHERE payment_status = 'eligible' ORDER BY id LIMIT 2)")
	require.NoError(t, err)
	r = cli(t, env, "--config", config, "run")
	require.Equal(t, exitOK, r.code, r.stderr)
	requireBigQueryLevel(t, fake, p.wh, 2)
	closed := 0
	for _, line := range bqLines(t, fake, "status_history", "is_current", "closed_by_run_id") {
		if line == "false|2" {
			closed++
		}
	}
	require.Equal(t, 5, closed, "the versions the second run closed are closed in BigQuery too")
	for _, job := range []string{"nightshift_run2_status_history_load", "nightshift_run2_nightshift_quarantine_load", "nightshift_run2_nightshift_freshness_load"} {
		require.Equal(t, 1, fake.Executions(job), job)
	}
}

// The warehouse's views, now rendered from templates, answer exactly as
// the hand-written PostgreSQL they replaced (testdata/views_before, as they
// were before the templates), on the same data: same columns, same types,
// same rows.
func TestWarehouseViewsAnswerAsBeforeTheTemplates(t *testing.T) {
	t.Parallel()
	p := newFullProject(t, 0.5)
	ctx := context.Background()
	// The seed plants no teacher with two open periods of one kind: one
	// more open induction period makes one.
	tag, err := pgtest.Pool(t, p.rect).Exec(ctx, `INSERT INTO induction_periods
		(appropriate_body_period_id, created_at, induction_programme, started_on, teacher_id, updated_at)
		SELECT appropriate_body_period_id, created_at, induction_programme, started_on + 1, teacher_id, updated_at
		FROM induction_periods WHERE finished_on IS NULL AND teacher_id IS NOT NULL ORDER BY id LIMIT 1`)
	require.NoError(t, err)
	require.EqualValues(t, 1, tag.RowsAffected())
	r := cli(t, nil, "--config", p.config, "run")
	require.Equal(t, exitOK, r.code, r.stderr)
	wh := pgxConnUTC(t, p.wh)
	views, err := nssql.Views()
	require.NoError(t, err)
	// The timeline of periods became one of everything that happened, a
	// period its start and finish rows: the old rows, put together again.
	rebuilt := map[string]string{"teacher_timeline": `SELECT s.teacher_id, s.period_kind AS kind, s.source_id AS period_id,
		CAST(s.happened_at AT TIME ZONE 'UTC' AS date) AS started_on, CAST(f.happened_at AT TIME ZONE 'UTC' AS date) AS finished_on,
		s.school_id, CASE WHEN s.what LIKE '%: %' THEN substr(s.what, length(s.period_kind || ' period started: ') + 1) END AS detail
		FROM reporting.teacher_timeline s
		LEFT JOIN reporting.teacher_timeline f ON f.kind = 'period_finished' AND f.source = s.source AND f.source_id = s.source_id
		     AND f.period_kind = s.period_kind AND f.teacher_id IS NOT DISTINCT FROM s.teacher_id
		WHERE s.kind = 'period_started'`}
	compared := 0
	for _, v := range views {
		before, err := os.ReadFile(filepath.Join("testdata", "views_before", v.Name+".sql"))
		if errors.Is(err, fs.ErrNotExist) {
			continue // a view added since
		}
		require.NoError(t, err)
		compared++
		if q, ok := rebuilt[v.Name]; ok {
			_, err = wh.Exec(ctx, "CREATE VIEW reporting.rebuilt_"+v.Name+" AS "+q)
			require.NoError(t, err)
			v.Name = "rebuilt_" + v.Name
			before = []byte(strings.Replace(string(before), "CREATE VIEW teacher_timeline AS", "CREATE VIEW "+v.Name+" AS", 1))
		}
		create, _, _ := strings.Cut(string(before), "\nCOMMENT ON VIEW")
		create = strings.Replace(create, "CREATE VIEW "+v.Name+" AS", "CREATE VIEW reporting.before_"+v.Name+" AS", 1)
		_, err = wh.Exec(ctx, "SET search_path = reporting")
		require.NoError(t, err)
		_, err = wh.Exec(ctx, create)
		require.NoError(t, err, v.Name)
		columns := func(name string) []string {
			rows, err := wh.Query(ctx, `SELECT column_name || ' ' || data_type FROM information_schema.columns
				WHERE table_schema = 'reporting' AND table_name = $1 ORDER BY ordinal_position`, name)
			require.NoError(t, err)
			out, err := pgx.CollectRows(rows, pgx.RowTo[string])
			require.NoError(t, err)
			return out
		}
		require.Equal(t, columns("before_"+v.Name), columns(v.Name), v.Name)
		var rows, differ int64
		require.NoError(t, wh.QueryRow(ctx, "SELECT count(*) FROM reporting."+v.Name).Scan(&rows))
		require.Positive(t, rows, v.Name)
		require.NoError(t, wh.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM (
			(SELECT * FROM reporting.%[1]s EXCEPT ALL SELECT * FROM reporting.before_%[1]s)
			UNION ALL
			(SELECT * FROM reporting.before_%[1]s EXCEPT ALL SELECT * FROM reporting.%[1]s)) d`, v.Name)).Scan(&differ))
		require.Zero(t, differ, "%s answers as before, row for row", v.Name)
	}
	require.Equal(t, 3, compared)
	var issues []string
	rows, err := wh.Query(ctx, "SELECT DISTINCT issue FROM reporting.data_quality_issues ORDER BY issue")
	require.NoError(t, err)
	issues, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"eligible_and_paid_same_type", "overlapping_periods", "several_open_periods"}, issues,
		"the planted issues of every kind are found")
}

// The statuses the warehouse leaves out of register_statuses, because the
// trainees they describe are quarantined, are left out of BigQuery's
// register_statuses and of its day's partition too, and counted in
// BigQuery's nightshift_quarantine; once the source is mended, the next run
// loads them everywhere.
func TestBigQueryLeavesOutTheStatusesTheWarehouseWithholds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := bqtest.New(t)
	wh, register, planted, config := newHostileSources(t, "bigquery:\n  project: analytics\n  dataset: teacher_training\n  endpoint: "+fake.URL()+"\n  pii: hash\n")
	env := []string{"NIGHTSHIFT_PII_HMAC_KEY=" + piiKey}
	statuses := func(table string) []string {
		return bqLines(t, fake, table, "entity_type", "entity_id", "status")
	}
	warehouse := func() []string {
		return whLines(t, wh, "SELECT entity_type, entity_id, status FROM reporting.register_statuses")
	}

	r := cli(t, env, "--config", config, "run")
	require.Equal(t, exitOK, r.code, r.stderr)
	withheld := whLines(t, wh, "SELECT key FROM nightshift.quarantine WHERE entity = 'register_statuses' AND run_id = 1")
	require.Len(t, withheld, int(planted[seed.PlantedNonUTF8Trainees]))
	require.Equal(t, warehouse(), statuses("register_statuses"), "BigQuery's statuses are the warehouse's, the withheld left out")
	require.Equal(t, warehouse(), statuses("register_statuses_daily"), "and so are the day's")
	for _, line := range statuses("register_statuses") {
		require.NotContains(t, withheld, strings.Replace(line[:strings.LastIndex(line, "|")], "|", "/", 1))
	}
	counted := bqLines(t, fake, "nightshift_quarantine", "entity", "rows")
	var left int64
	for _, line := range counted {
		if n, ok := strings.CutPrefix(line, "register_statuses|"); ok {
			var rows int64
			_, err := fmt.Sscan(n, &rows)
			require.NoError(t, err)
			left += rows
		}
	}
	require.EqualValues(t, len(withheld), left, "BigQuery counts the statuses left out")
	requireBigQueryQuarantineIsTheWarehouses(t, fake, wh)
	requireBigQueryHistoryIsTheWarehouses(t, fake, wh)

	_, err := pgtest.Pool(t, register).Exec(ctx, `UPDATE trainees SET last_name = 'Munoz' WHERE last_name = E'Mu\xf1oz'`)
	require.NoError(t, err)
	r = cli(t, env, "--config", config, "run")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, warehouse(), statuses("register_statuses"))
	require.Len(t, statuses("register_statuses"), len(statuses("register_statuses__previous"))+len(withheld), "the mended trainees' statuses arrive")
	requireBigQueryHistoryIsTheWarehouses(t, fake, wh)
}

func requireBigQueryQuarantineIsTheWarehouses(t *testing.T, fake *bqtest.Server, wh string) {
	t.Helper()
	want := whLines(t, wh, "SELECT run_id, entity, column_name, reason, count(*) FROM nightshift.quarantine GROUP BY 1, 2, 3, 4")
	require.NotEmpty(t, want, "the seed plants rows to set aside")
	require.Equal(t, want, bqLines(t, fake, "nightshift_quarantine", "run_id", "entity", "column_name", "reason", "rows"), "what each run set aside, counted")
}

func requireBigQueryHistoryIsTheWarehouses(t *testing.T, fake *bqtest.Server, wh string) {
	t.Helper()
	cols := []string{"entity_type", "entity_id", "status", "valid_from", "valid_to", "is_current", "origin", "run_id", "closed_by_run_id"}
	require.Equal(t, whLines(t, wh, "SELECT "+strings.Join(cols, ", ")+" FROM reporting.status_history"), bqLines(t, fake, "status_history", cols...))
}

// The step that follows the entity tables fails at every attempt: the run
// fails after max_attempts, saying that BigQuery holds every entity's
// table but not what follows them, and `nightshift retry` finishes it
// with a new generation of the same job. A run of some entities leaves
// out the views whose tables BigQuery does not hold yet, as the warehouse
// does; the run that loads them brings them.
func TestFinishBigQueryIsCappedAndRetryFinishesIt(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.05)
	fake := bqtest.New(t)
	config := withBigQueryConfig(t, p, fake, "hash")
	env := []string{"NIGHTSHIFT_PII_HMAC_KEY=" + piiKey}
	for range 3 {
		fake.FailJob("nightshift_run1_status_history_load", "backendError", "Error encountered during execution. Retrying may solve the problem.")
	}
	r := cli(t, env, "--config", config, "run", "--entity", "trainees", "--entity", "providers", "--entity", "register_statuses")
	require.Equal(t, exitFailed, r.code, r.stderr)
	require.Contains(t, r.stderr+r.stdout, "finish-bigquery failed after 3 attempt(s) (transient)")
	require.Contains(t, r.stderr+r.stdout, "BigQuery holds every entity's table, but the step that follows them")
	_, ok := fake.Table("analytics", "teacher_training", "trainees")
	require.True(t, ok)
	_, ok = fake.Table("analytics", "teacher_training", "trainees_current")
	require.False(t, ok, "not yet")

	r = cli(t, env, "--config", config, "retry", "1")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, 1, fake.Executions("nightshift_run1_status_history_load_r4"))
	requireBigQueryHistoryIsTheWarehouses(t, fake, p.wh)
	_, ok = fake.Table("analytics", "teacher_training", "trainees_current")
	require.True(t, ok, "trainees and providers are there: the view is")
	for _, view := range []string{"teacher_timeline", "data_quality_issues"} {
		_, ok = fake.Table("analytics", "teacher_training", view)
		require.False(t, ok, "%s reads tables BigQuery does not hold yet", view)
	}
	require.Empty(t, fake.ViewProblems("analytics", "teacher_training"))

	r = cli(t, env, "--config", config, "run")
	require.Equal(t, exitOK, r.code, r.stderr)
	for _, view := range []string{"trainees_current", "teacher_timeline", "data_quality_issues"} {
		_, ok = fake.Table("analytics", "teacher_training", view)
		require.True(t, ok, view)
	}
	require.Empty(t, fake.ViewProblems("analytics", "teacher_training"))
	requireBigQueryHistoryIsTheWarehouses(t, fake, p.wh)
}

// nightshift_freshness follows a restore: BigQuery's table holds the
// restored run's data, and says so; a restore done twice is the same as
// once.
func TestBigQueryFreshnessFollowsARestore(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.05)
	fake := bqtest.New(t)
	config := withBigQueryConfig(t, p, fake, "hash")
	env := []string{"NIGHTSHIFT_PII_HMAC_KEY=" + piiKey}
	fresh := func() []string {
		return bqLines(t, fake, "nightshift_freshness", "entity", "run_id", "warehouse_run_id")
	}
	versions := func() []string {
		return whLines(t, p.wh, "SELECT slot, run_id FROM nightshift.table_versions WHERE target = 'bigquery' AND entity = 'trainees'")
	}
	for range 2 {
		r := cli(t, env, "--config", config, "run", "--entity", "trainees")
		require.Equal(t, exitOK, r.code, r.stderr)
	}
	require.Equal(t, []string{"trainees|2|2"}, fresh())
	require.Equal(t, []string{"current|2", "previous|1"}, versions())

	for range 2 {
		r := cli(t, env, "--config", config, "restore", "--entity", "trainees", "--reason", "back to the first")
		require.Equal(t, exitOK, r.code, r.stderr)
		require.Equal(t, []string{"trainees|1|1"}, fresh(), "BigQuery and the warehouse hold run 1's trainees again")
		require.Equal(t, []string{"current|1", "discarded|2"}, versions())
	}
}
