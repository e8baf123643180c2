package steps_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/versions"
)

// people has what versions care about: a key, a personal column, a plain
// one and the updated_at Rails keeps.
var people = schemas.Contract{
	Entity: "people", Description: "People.", Source: "src", Table: "people",
	PrimaryKey: []string{"id"}, MinSchemaVersion: "20240101000000", Mode: schemas.Full,
	Columns: []schemas.Column{
		{Name: "id", SourceType: "int8", Type: schemas.Int64, Description: "id"},
		{Name: "name", SourceType: "text", Type: schemas.Text, Nullable: true, PII: schemas.PIIPersonal, Description: "name"},
		{Name: "status", SourceType: "text", Type: schemas.Text, Nullable: true, Description: "status"},
		{Name: "updated_at", SourceType: "timestamp", Type: schemas.Timestamp, Nullable: true, Description: "updated_at"},
	},
}

// version is a row of people_versions as the test reads it back.
type version struct {
	ID        int64
	Name      *string
	Status    *string
	From      time.Time
	To        *time.Time
	Deleted   bool
	Source    string
	RunID     int64
	ClosedBy  *int64
	HasDigest bool
}

func readVersions(t *testing.T, b *bundle) []version {
	t.Helper()
	rows, err := b.wh.Query(context.Background(), `SELECT id, name, status, valid_from, valid_to, is_deleted, valid_from_source, run_id, closed_by_run_id, row_digest IS NOT NULL
		FROM reporting.people_versions ORDER BY id, valid_from, is_deleted`)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (version, error) {
		var v version
		return v, r.Scan(&v.ID, &v.Name, &v.Status, &v.From, &v.To, &v.Deleted, &v.Source, &v.RunID, &v.ClosedBy, &v.HasDigest)
	})
	require.NoError(t, err)
	return out
}

// newPeople makes the people table in a new source, filled by insert,
// and returns the test's bundle and a run of the people entity that must
// succeed.
func newPeople(t *testing.T, insert string) (*bundle, func() pipeline.Report) {
	t.Helper()
	b := setup(t)
	_, err := b.src.Exec(context.Background(), `CREATE TABLE people (id bigint PRIMARY KEY, name text, status text, updated_at timestamp(6));`+insert)
	require.NoError(t, err)
	return b, func() pipeline.Report {
		t.Helper()
		rep := b.run(t, &people)
		require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)
		return rep
	}
}

func TestVersionsFollowEveryChangeAndOnlyChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, run := newPeople(t, `INSERT INTO people VALUES (1, 'Ada', 'draft', '2026-01-01 10:00'), (2, 'Bo', 'draft', '2026-01-02 10:00'), (3, 'Cy', 'awarded', '2026-01-03 10:00');`)
	var err error
	ts := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04", s)
		require.NoError(t, err)
		return v
	}

	first := run()
	vs := readVersions(t, b)
	require.Len(t, vs, 3)
	for i, v := range vs {
		require.Equal(t, "updated_at", v.Source, "a row seen first is valid from its updated_at")
		require.Equal(t, ts("2026-01-01 10:00").AddDate(0, 0, i), v.From.UTC())
		require.Nil(t, v.To)
		require.Equal(t, first.Run.ID, v.RunID)
		require.True(t, v.HasDigest)
	}
	var digestColumn bool
	require.NoError(t, b.wh.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'reporting' AND table_name = 'people' AND column_name = 'nightshift_row_digest')`).Scan(&digestColumn))
	require.False(t, digestColumn, "analysts never see the staging digest")

	// The same snapshot again adds nothing.
	run()
	require.Equal(t, vs, readVersions(t, b))
	// Nor after what analysts query of the log was dropped: it is made
	// again, with nothing lost.
	_, err = b.wh.Exec(ctx, `DROP VIEW reporting.people_versions, reporting.people_field_updates; DROP FUNCTION reporting.people_at(timestamptz)`)
	require.NoError(t, err)
	run()
	require.Equal(t, vs, readVersions(t, b))
	var remade bool
	require.NoError(t, b.wh.QueryRow(ctx, `SELECT to_regclass('reporting.people_field_updates') IS NOT NULL AND to_regprocedure('reporting.people_at(timestamptz)') IS NOT NULL`).Scan(&remade))
	require.True(t, remade)

	// 1: renamed and re-statused, updated_at moved; 2: status changed
	// behind Rails' back (updated_at untouched); 3: deleted; 4: new.
	_, err = b.src.Exec(ctx, `
		UPDATE people SET name = 'Ada L', status = 'submitted', updated_at = '2026-02-01 09:30' WHERE id = 1;
		UPDATE people SET status = 'withdrawn' WHERE id = 2;
		DELETE FROM people WHERE id = 3;
		INSERT INTO people VALUES (4, 'Di', 'draft', '2026-02-02 08:00');`)
	require.NoError(t, err)
	before := time.Now()
	third := run()
	after := time.Now()
	// The diff read the digests the load kept and those the last publish
	// recorded, not the warehouse.
	var stagedFrom, currentFrom string
	require.NoError(t, b.wh.QueryRow(ctx, `SELECT detail->'versions'->'people'->'diff'->>'staged_from', detail->'versions'->'people'->'diff'->>'current_from'
		FROM nightshift.step_runs WHERE run_id = $1 AND step = 'publish'`, third.Run.ID).Scan(&stagedFrom, &currentFrom))
	require.Equal(t, []string{"load", "previous run"}, []string{stagedFrom, currentFrom})
	vs = readVersions(t, b)
	require.Len(t, vs, 3+2+1+1, "one version more for 1, 2 and 4, a tombstone for 3")

	byID := map[int64][]version{}
	for _, v := range vs {
		byID[v.ID] = append(byID[v.ID], v)
	}
	// 1: closed when the new version began, at its updated_at.
	require.Equal(t, ts("2026-02-01 09:30"), byID[1][0].To.UTC())
	require.Equal(t, third.Run.ID, *byID[1][0].ClosedBy)
	require.Equal(t, "Ada L", *byID[1][1].Name)
	require.Equal(t, "updated_at", byID[1][1].Source)
	require.Nil(t, byID[1][1].To)
	// 2: no updated_at to go by: the snapshot's time.
	require.Equal(t, "snapshot", byID[2][1].Source)
	require.WithinRange(t, byID[2][1].From, before.Add(-time.Second), after)
	require.Equal(t, byID[2][1].From, *byID[2][0].To)
	// 3: closed, and a tombstone carrying its last values.
	require.Len(t, byID[3], 2)
	require.True(t, byID[3][1].Deleted)
	require.Equal(t, "Cy", *byID[3][1].Name)
	require.Nil(t, byID[3][1].To)
	require.Equal(t, byID[3][1].From, *byID[3][0].To)
	// 4: new.
	require.Len(t, byID[4], 1)

	// As of a moment: what the table held then, by SQL of the test's own.
	asOf := func(at time.Time) map[int64]string {
		rows, err := b.wh.Query(ctx, `SELECT id, status FROM reporting.people_at($1)`, at)
		require.NoError(t, err)
		out := map[int64]string{}
		for rows.Next() {
			var id int64
			var s string
			require.NoError(t, rows.Scan(&id, &s))
			out[id] = s
		}
		require.NoError(t, rows.Err())
		return out
	}
	require.Equal(t, map[int64]string{1: "draft", 2: "draft"}, asOf(ts("2026-01-02 12:00")))
	require.Equal(t, map[int64]string{1: "submitted", 2: "draft", 3: "awarded"}, asOf(ts("2026-02-01 12:00")),
		"2's change and 3's delete were seen by the run, not before")
	require.Equal(t, map[int64]string{1: "submitted", 2: "withdrawn", 4: "draft"}, asOf(after))

	// Field updates: the PII column says it changed, never its values.
	type update struct {
		ID       int64
		Column   string
		Old, New *string
		PII      bool
	}
	rows, err := b.wh.Query(ctx, `SELECT id, column_name, old_value, new_value, is_pii FROM reporting.people_field_updates ORDER BY id, column_name`)
	require.NoError(t, err)
	updates, err := pgx.CollectRows(rows, pgx.RowToStructByPos[update])
	require.NoError(t, err)
	str := func(s string) *string { return &s }
	require.Equal(t, []update{
		{1, "name", nil, nil, true},
		{1, "status", str("draft"), str("submitted"), false},
		{1, "updated_at", str("2026-01-01 10:00:00+00"), str("2026-02-01 09:30:00+00"), false},
		{2, "status", str("draft"), str("withdrawn"), false},
	}, updates)

	// Re-inserted: the tombstone is closed, a new version opens.
	_, err = b.src.Exec(ctx, `INSERT INTO people VALUES (3, 'Cy', 'draft', '2026-03-01 00:00')`)
	require.NoError(t, err)
	run()
	vs = readVersions(t, b)
	byID = map[int64][]version{}
	for _, v := range vs {
		byID[v.ID] = append(byID[v.ID], v)
	}
	require.Len(t, byID[3], 3)
	require.NotNil(t, byID[3][1].To, "the tombstone is closed")
	require.False(t, byID[3][2].Deleted)
	require.Equal(t, "draft", *byID[3][2].Status)

	// A version stored without a digest whose values did not change only
	// gets its digest; one that did change gets a new version.
	// (As after a backfill, which records no digests of its own: the next
	// diff reads the versions.)
	_, err = b.wh.Exec(ctx, `UPDATE reporting.people_version_log l SET row_digest = NULL
			WHERE id IN (1, 2) AND valid_from = (SELECT max(valid_from) FROM reporting.people_version_log m WHERE m.id = l.id);
		UPDATE nightshift.versions_applied SET digests = NULL`)
	require.NoError(t, err)
	_, err = b.src.Exec(ctx, `UPDATE people SET status = 'awarded' WHERE id = 2`)
	require.NoError(t, err)
	n := len(readVersions(t, b))
	run()
	vs = readVersions(t, b)
	require.Len(t, vs, n+1)
	for _, v := range vs {
		if v.To == nil {
			require.True(t, v.HasDigest, "%+v", v)
		}
	}
}

// A change among thousands of rows goes key by key through the indexes
// (the path every nightly run of a large table takes) and gives the same
// versions as the join over whole tables: the test compares the current
// versions with the source row by row, and the closed and tombstone
// versions with what changed.
func TestFewChangesAmongManyRowsAreVersionedByIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, run := newPeople(t, `INSERT INTO people SELECT i, 'P' || i, 'draft', '2026-01-01 10:00'::timestamp + i * interval '1 minute' FROM generate_series(1, 3000) i;`)
	var err error
	first := run()
	// The versions as the releases before the log kept them: a table
	// whose valid_to and closed_by_run_id were written when a version
	// closed, with a partial index on the current versions and a field
	// updates view that reads valid_to. Key 10 has a version closed then.
	// The run brings it to today's layout.
	_, err = b.wh.Exec(ctx, `DROP VIEW reporting.people_versions, reporting.people_field_updates;
		ALTER TABLE reporting.people_version_log RENAME TO people_versions;
		ALTER INDEX reporting.people_version_log_key RENAME TO people_versions_key;
		ALTER TABLE reporting.people_versions ADD COLUMN valid_to timestamptz, ADD COLUMN closed_by_run_id bigint,
			ADD CHECK (valid_to IS NULL OR valid_to >= valid_from), SET (fillfactor = 90);
		CREATE UNIQUE INDEX people_versions_current ON reporting.people_versions (id) WHERE valid_to IS NULL;
		INSERT INTO reporting.people_versions (id, name, status, updated_at, valid_from, valid_to, is_deleted, run_id, closed_by_run_id, valid_from_source)
			SELECT id, 'Before', 'draft', NULL, valid_from - interval '30 days', valid_from, false, run_id, run_id, 'snapshot'
			FROM reporting.people_versions WHERE id = 10;
		CREATE VIEW reporting.people_field_updates AS SELECT n.id FROM reporting.people_versions n
			JOIN reporting.people_versions o ON o.id = n.id AND o.valid_to = n.valid_from`)
	require.NoError(t, err)
	// A view an analyst made on the table would break with it: the run
	// refuses, naming it, and changes nothing until it is dropped.
	_, err = b.wh.Exec(ctx, `CREATE VIEW reporting.analysts_open AS SELECT id FROM reporting.people_versions WHERE valid_to IS NULL`)
	require.NoError(t, err)
	refused := b.run(t, &people)
	require.Equal(t, pipeline.StatusFailed, refused.Status)
	require.ErrorContains(t, refused.Err, `reporting.analysts_open read it: drop them, run again`)
	var stillTable bool
	require.NoError(t, b.wh.QueryRow(ctx, `SELECT relkind = 'r' FROM pg_class WHERE oid = 'reporting.people_versions'::regclass`).Scan(&stillTable))
	require.True(t, stillTable)
	_, err = b.wh.Exec(ctx, `DROP VIEW reporting.analysts_open`)
	require.NoError(t, err)
	_, err = b.src.Exec(ctx, `
		UPDATE people SET status = 'submitted', updated_at = '2026-06-01 09:00' WHERE id = 1500;
		UPDATE people SET name = 'Renamed' WHERE id = 2999;
		DELETE FROM people WHERE id = 7;
		INSERT INTO people VALUES (3001, 'New', 'draft', '2026-06-02 08:00');`)
	require.NoError(t, err)
	second := run()

	var byIndex bool
	require.NoError(t, b.wh.QueryRow(ctx, `SELECT coalesce((detail->'versions'->'people'->'applied'->>'by_index')::bool, false)
		FROM nightshift.step_runs WHERE run_id = $1 AND step = 'publish'`, second.Run.ID).Scan(&byIndex))
	require.True(t, byIndex, "4 changes among 3,000 rows go through the indexes")

	type row struct {
		Name, Status string
		UpdatedAt    time.Time
	}
	read := func(conn interface {
		Query(context.Context, string, ...any) (pgx.Rows, error)
	}, sql string) map[int64]row {
		rows, err := conn.Query(ctx, sql)
		require.NoError(t, err)
		out := map[int64]row{}
		for rows.Next() {
			var id int64
			var r row
			require.NoError(t, rows.Scan(&id, &r.Name, &r.Status, &r.UpdatedAt))
			r.UpdatedAt = r.UpdatedAt.UTC()
			out[id] = r
		}
		require.NoError(t, rows.Err())
		return out
	}
	source := read(b.src, `SELECT id, name, status, updated_at FROM people`)
	current := read(b.wh, `SELECT id, name, status, updated_at FROM reporting.people_versions WHERE valid_to IS NULL AND NOT is_deleted`)
	require.Len(t, current, 3000)
	require.Equal(t, source, current)

	var count, closed, tombstones int
	require.NoError(t, b.wh.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE closed_by_run_id = $1), count(*) FILTER (WHERE is_deleted)
		FROM reporting.people_versions`, second.Run.ID).Scan(&count, &closed, &tombstones))
	require.Equal(t, 3000+1+2+1+1, count, "key 10's old version; a new version for 1500, 2999 and 3001, a tombstone for 7")
	require.Equal(t, 3, closed, "1500, 2999 and 7 closed by the second run")
	require.Equal(t, 1, tombstones)
	var from time.Time
	var source1500 string
	require.NoError(t, b.wh.QueryRow(ctx, `SELECT valid_from, valid_from_source FROM reporting.people_versions WHERE id = 1500 AND valid_to IS NULL`).Scan(&from, &source1500))
	require.Equal(t, time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC), from.UTC())
	require.Equal(t, "updated_at", source1500)

	// The old table is now the log, and the view derives what it stored:
	// key 10's version closed then still ends where the next begins.
	var to10 time.Time
	var closedBy10 int64
	require.NoError(t, b.wh.QueryRow(ctx, `SELECT valid_to, closed_by_run_id FROM reporting.people_versions WHERE id = 10 AND name = 'Before'`).Scan(&to10, &closedBy10))
	var from10 time.Time
	require.NoError(t, b.wh.QueryRow(ctx, `SELECT valid_from FROM reporting.people_versions WHERE id = 10 AND name = 'P10'`).Scan(&from10))
	require.Equal(t, from10, to10)
	require.Equal(t, first.Run.ID, closedBy10)
	var kind string
	var indexes, options, logColumns []string
	require.NoError(t, b.wh.QueryRow(ctx, `SELECT (SELECT relkind::text FROM pg_class WHERE oid = 'reporting.people_versions'::regclass),
		array(SELECT indexdef FROM pg_indexes WHERE schemaname = 'reporting' AND tablename IN ('people_versions', 'people_version_log') ORDER BY 1),
		coalesce((SELECT reloptions FROM pg_class WHERE oid = 'reporting.people_version_log'::regclass), '{}'),
		array(SELECT attname::text FROM pg_attribute WHERE attrelid = 'reporting.people_version_log'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum)`).
		Scan(&kind, &indexes, &options, &logColumns))
	require.Equal(t, "v", kind)
	require.Equal(t, []string{"CREATE INDEX people_version_log_key ON reporting.people_version_log USING btree (id, valid_from)"}, indexes)
	require.Empty(t, options)
	require.Equal(t, []string{"id", "name", "status", "updated_at", "valid_from", "is_deleted", "run_id", "valid_from_source", "row_digest"}, logColumns)

	// A version superseded is left as it is: the run only added rows.
	// A backend reports its statistics when it exits (or some seconds
	// after it idles): the pool's connections are closed.
	b.wh.Reset()
	var inserted, updated, deleted int64
	require.Eventually(t, func() bool {
		require.NoError(t, b.wh.QueryRow(ctx, `SELECT n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables WHERE relid = 'reporting.people_version_log'::regclass`).
			Scan(&inserted, &updated, &deleted))
		return inserted >= 3000+1+4
	}, 20*time.Second, 200*time.Millisecond, "the versions written counted")
	require.Equal(t, []int64{3000 + 1 + 4, 0, 0}, []int64{inserted, updated, deleted}, "3,000 first versions, key 10's old one, 3 new versions and a tombstone")

	// A diff made before another run's publish created the versions says
	// every row is new: writing them would open a second current version
	// of each, so the publish refuses (and is retried with a new diff).
	tx, err := b.wh.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = versions.Apply(ctx, tx, "reporting", &people, second.Run.ID+1, time.Now(), versions.Diff{First: true})
	require.ErrorContains(t, err, "versions of people: another run created them after this run's diff")
	require.NoError(t, tx.Rollback(ctx))

	// A change whose new version would begin before the latest of its key
	// (a snapshot older than the versions', with the guard's record gone)
	// is refused by the write itself: the view would order it wrongly.
	tx, err = b.wh.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, `DELETE FROM nightshift.versions_applied WHERE entity = 'people';
		CREATE TABLE nightshift_staging.people__changes (id bigint PRIMARY KEY, change text NOT NULL, row_digest bigint);
		INSERT INTO nightshift_staging.people__changes VALUES (1500, 'changed', 1)`)
	require.NoError(t, err)
	_, err = versions.Apply(ctx, tx, "reporting", &people, second.Run.ID+1, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), versions.Diff{Changed: 1, Unchanged: 3000})
	require.ErrorContains(t, err, "1 new versions would begin at or before the latest of their key")
}
