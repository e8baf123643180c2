package main

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/internal/seed"
	"github.com/dfe-nightshift/nightshift/schemas"
)

// fullProject seeds both sources and returns a project with a config for
// every entity.
type fullProject struct {
	project
	rect    string
	planted map[string]int64
}

func newFullProject(t *testing.T, scale float64) fullProject {
	t.Helper()
	ctx := context.Background()
	p := fullProject{planted: map[string]int64{}}
	p.wh = pgtest.NewWarehouse(t)
	urls := map[string]string{}
	for _, source := range seed.Sources {
		url := pgtest.NewDatabase(t)
		conn := pgtest.Connect(t, url)
		require.NoError(t, seed.CreateSchema(ctx, conn, source))
		sum, err := seed.Seed(ctx, conn, source, seed.Options{Scale: scale, Seed: 1})
		require.NoError(t, err)
		for k, v := range sum.Planted {
			p.planted[k] = v
		}
		urls[source] = url
	}
	p.src, p.rect = urls["register"], urls["rect"]
	p.config = writeConfig(t, "environment: test\nwarehouse:\n  url: "+p.wh+"\nsources:\n  register:\n    url: "+p.src+
		"\n  rect:\n    url: "+p.rect+"\nspool:\n  dir: "+t.TempDir()+"\nrun:\n  parallelism: 2\n")
	return p
}

func (p fullProject) sourceURL(c *schemas.Contract) string {
	if c.Source == "rect" {
		return p.rect
	}
	return p.src
}

func TestEveryEntityArrivesIdentical(t *testing.T) {
	t.Parallel()
	p := newFullProject(t, 50)
	r := cli(t, nil, "--config", p.config, "run")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Greater(t, len(schemas.All()), 10)
	for _, c := range schemas.All() {
		source := sourceChecksum(t, p.sourceURL(c), p.wh, c)
		require.Positive(t, source.Rows, c.Entity)
		require.Equal(t, source, checksum(t, p.wh, c.ChecksumSQL("reporting."+pgx.Identifier{c.Entity}.Sanitize())), c.Entity)
	}
	// And value for value, with SQL that knows no contract. The only rows
	// set aside are the adjustments planted with more decimal places than
	// numeric(38,9) holds.
	quarantined := map[string]int64{}
	for _, c := range schemas.All() {
		if q, ok := independentStatuses[c.Entity]; ok {
			requireStatusesAsSource(t, p.sourceURL(c), q, p.wh, c.Entity)
			continue
		}
		require.NotEmpty(t, c.Table, "%s: write an independent query of its statuses", c.Entity)
		if keys := requireSameAsSource(t, p.sourceURL(c), c.Table, p.wh, c.Entity); len(keys) > 0 {
			quarantined[c.Entity] = int64(len(keys))
		}
	}
	require.Equal(t, map[string]int64{"statement_adjustments": p.planted[seed.PlantedOverPreciseAdjustments]}, quarantined)

	// The data-quality view finds exactly what the generator planted.
	wh := pgtest.Pool(t, p.wh)
	count := func(sql string, args ...any) int64 {
		var n int64
		require.NoError(t, wh.QueryRow(context.Background(), sql, args...).Scan(&n))
		return n
	}
	for kind, key := range map[string]string{
		"ect_at_school":    seed.PlantedOverlappingECTAtSchool,
		"induction":        seed.PlantedOverlappingInduction,
		"mentor_at_school": seed.PlantedOverlappingMentorAtSchool,
		"training":         seed.PlantedOverlappingTraining,
	} {
		require.Equal(t, p.planted[key], count(`SELECT count(DISTINCT teacher_id) FROM reporting.data_quality_issues
			WHERE issue = 'overlapping_periods' AND kind = $1`, kind), kind)
	}
	require.Equal(t, p.planted[seed.PlantedSingleDayOverlaps], count(`SELECT count(*) FROM reporting.data_quality_issues
		WHERE issue = 'overlapping_periods' AND detail LIKE 'overlap of one day%'`))
	require.Equal(t, p.planted[seed.PlantedEligibleAndPaidSameType], count(`SELECT count(*) FROM reporting.data_quality_issues
		WHERE issue = 'eligible_and_paid_same_type'`))
	require.Positive(t, count("SELECT count(*) FROM reporting.teacher_timeline"))
	require.Equal(t, count("SELECT count(*) FROM reporting.trainees WHERE discarded_at IS NULL"), count("SELECT count(*) FROM reporting.trainees_current"))
}

func TestStatusHistoryFollowsTheSource(t *testing.T) {
	t.Parallel()
	p := newFullProject(t, 0.2)
	ctx := context.Background()
	reg, rect, wh := pgtest.Pool(t, p.src), pgtest.Pool(t, p.rect), pgtest.Pool(t, p.wh)
	// run returns when each statuses entity's snapshot was taken.
	run := func() map[string]time.Time {
		t.Helper()
		r := cli(t, nil, "--config", p.config, "run", "--entity", "register_statuses", "--entity", "rect_statuses")
		require.Equal(t, exitOK, r.code, r.stderr)
		rows, err := wh.Query(ctx, `SELECT entity, (detail->>'snapshot_at')::timestamptz FROM nightshift.step_runs
			WHERE step = 'extract' AND status = 'succeeded' AND run_id = (SELECT max(id) FROM nightshift.runs)`)
		require.NoError(t, err)
		at := map[string]time.Time{}
		for rows.Next() {
			var entity string
			var ts time.Time
			require.NoError(t, rows.Scan(&entity, &ts))
			at[entity] = ts
		}
		require.NoError(t, rows.Err())
		require.Len(t, at, 2)
		return at
	}
	first := run()
	var versions int64
	require.NoError(t, wh.QueryRow(ctx, "SELECT count(*) FROM reporting.status_history").Scan(&versions))

	// Pick one entity of each kind and change it in the source.
	pick := func(pool interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}, sql string) int64 {
		var id int64
		require.NoError(t, pool.QueryRow(ctx, sql).Scan(&id))
		return id
	}
	withdrawn := pick(reg, "SELECT id FROM trainees WHERE state = 2 ORDER BY id LIMIT 1")
	reinstated := pick(reg, "SELECT id FROM trainees WHERE state = 4 ORDER BY id LIMIT 1")
	awarded := pick(reg, "SELECT id FROM trainees WHERE state = 3 ORDER BY id LIMIT 1")
	voided := pick(rect, "SELECT id FROM declarations WHERE payment_status = 'eligible' AND clawback_status = 'no_clawback' ORDER BY id LIMIT 1")
	clawed := pick(rect, "SELECT id FROM declarations WHERE payment_status = 'paid' AND clawback_status = 'no_clawback' ORDER BY id LIMIT 1")
	deferred := pick(rect, "SELECT id FROM training_periods WHERE training_programme = 'provider_led' AND deferred_at IS NULL AND withdrawn_at IS NULL ORDER BY id LIMIT 1")
	exec := func(pool interface {
		Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
	}, sql string, id int64) {
		t.Helper()
		tag, err := pool.Exec(ctx, sql, id)
		require.NoError(t, err)
		require.EqualValues(t, 1, tag.RowsAffected(), sql)
	}
	exec(reg, "UPDATE trainees SET state = 4 WHERE id = $1", withdrawn)
	exec(reg, "UPDATE trainees SET state = 2 WHERE id = $1", reinstated)
	exec(reg, "UPDATE trainees SET state = 6, awarded_at = now() WHERE id = $1", awarded)
	exec(rect, "UPDATE declarations SET payment_status = 'voided' WHERE id = $1", voided)
	exec(rect, "UPDATE declarations SET clawback_status = 'awaiting_clawback' WHERE id = $1", clawed)
	exec(rect, "UPDATE training_periods SET deferred_at = now(), deferral_reason = 'career_break', finished_on = greatest(started_on, current_date) WHERE id = $1", deferred)

	second := run()
	origin := func(entityType string) string {
		if entityType == "trainee" {
			return "register_statuses"
		}
		return "rect_statuses"
	}
	type version struct {
		Status    string
		From      time.Time
		To        *time.Time
		IsCurrent bool
	}
	history := func(entityType string, id int64) []version {
		rows, err := wh.Query(ctx, `SELECT status, valid_from, valid_to, is_current FROM reporting.status_history
			WHERE entity_type = $1 AND entity_id = $2 ORDER BY valid_from`, entityType, id)
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[version])
		require.NoError(t, err)
		return out
	}
	changed := []struct {
		entityType string
		id         int64
		from, to   string
	}{
		{"trainee", withdrawn, "trn_received", "withdrawn"},
		{"trainee", reinstated, "withdrawn", "trn_received"},
		{"trainee", awarded, "recommended_for_award", "awarded"},
		{"declaration_payment", voided, "eligible", "voided"},
		{"declaration_clawback", clawed, "no_clawback", "awaiting_clawback"},
		{"training_period", deferred, "active", "deferred"},
	}
	for _, c := range changed {
		h := history(c.entityType, c.id)
		require.Len(t, h, 2, "%s %d", c.entityType, c.id)
		require.Equal(t, c.from, h[0].Status)
		o := origin(c.entityType)
		require.True(t, h[0].From.Equal(first[o]))
		require.NotNil(t, h[0].To)
		require.True(t, h[0].To.Equal(second[o]), "the old version closes when the change was first seen")
		require.False(t, h[0].IsCurrent)
		require.Equal(t, c.to, h[1].Status)
		require.True(t, h[1].From.Equal(second[o]))
		require.Nil(t, h[1].To)
		require.True(t, h[1].IsCurrent)
	}
	var now int64
	require.NoError(t, wh.QueryRow(ctx, "SELECT count(*) FROM reporting.status_history").Scan(&now))
	require.Equal(t, versions+int64(len(changed)), now, "only the changed entities got a new version")

	// As of the first run, the old statuses.
	var asOf string
	require.NoError(t, wh.QueryRow(ctx, "SELECT status FROM reporting.statuses_as_of($1) WHERE entity_type = 'trainee' AND entity_id = $2",
		first["register_statuses"].Add(time.Millisecond), withdrawn).Scan(&asOf))
	require.Equal(t, "trn_received", asOf)

	// A third run with no change adds nothing.
	run()
	var third int64
	require.NoError(t, wh.QueryRow(ctx, "SELECT count(*) FROM reporting.status_history").Scan(&third))
	require.Equal(t, now, third)

	// A trainee deleted in the source has its version closed.
	for _, sql := range []string{
		"DELETE FROM trainee_withdrawal_reasons WHERE trainee_id = $1 OR trainee_withdrawal_id IN (SELECT id FROM trainee_withdrawals WHERE trainee_id = $1)",
		"DELETE FROM trainee_withdrawals WHERE trainee_id = $1",
		"DELETE FROM trainees WHERE id = $1",
	} {
		_, err := reg.Exec(ctx, sql, awarded)
		require.NoError(t, err)
	}
	fourth := run()
	h := history("trainee", awarded)
	require.Len(t, h, 2)
	require.NotNil(t, h[1].To)
	require.True(t, h[1].To.Equal(fourth["register_statuses"]))
	require.False(t, h[1].IsCurrent)
}

// newHostileSources seeds a SQL_ASCII Register, which holds Latin-1 names,
// and a RECT, and returns the warehouse's and Register's URLs, what the
// seed planted and a configuration (with more, e.g. a bigquery section,
// appended).
func newHostileSources(t *testing.T, more string) (wh, register string, planted map[string]int64, config string) {
	t.Helper()
	ctx := context.Background()
	wh, register, rect := pgtest.NewWarehouse(t), pgtest.NewSQLASCIIDatabase(t), pgtest.NewDatabase(t)
	planted = map[string]int64{}
	for source, url := range map[string]string{"register": register, "rect": rect} {
		conn := pgtest.Connect(t, url)
		require.NoError(t, seed.CreateSchema(ctx, conn, source))
		sum, err := seed.Seed(ctx, conn, source, seed.Options{Scale: 1, Seed: 7})
		require.NoError(t, err)
		for k, v := range sum.Planted {
			planted[k] = v
		}
	}
	require.Positive(t, planted[seed.PlantedNonUTF8Trainees])
	config = writeConfig(t, "environment: test\nwarehouse:\n  url: "+wh+"\nsources:\n  register:\n    url: "+register+
		"\n  rect:\n    url: "+rect+"\nspool:\n  dir: "+t.TempDir()+"\n"+more)
	return wh, register, planted, config
}

// independentStatuses compute each statuses entity from the source again,
// written apart from the contracts' queries (a lookup table instead of a
// CASE, joins instead of EXISTS), from the services' own definitions.
var independentStatuses = map[string]string{
	"register_statuses": `SELECT 'trainee' AS entity_type, t.id AS entity_id,
		coalesce(n.name, 'unknown_' || t.state::text) AS status
	FROM trainees t LEFT JOIN (VALUES (0, 'draft'), (1, 'submitted_for_trn'), (2, 'trn_received'),
		(3, 'recommended_for_award'), (4, 'withdrawn'), (5, 'deferred'), (6, 'awarded')) AS n (code, name) ON n.code = t.state`,
	"rect_statuses": `SELECT 'declaration_payment' AS entity_type, id AS entity_id, payment_status::text AS status FROM declarations
	UNION ALL SELECT 'declaration_clawback', id, clawback_status::text FROM declarations
	UNION ALL SELECT 'teacher_induction', t.id,
		CASE WHEN t.trs_induction_status = 'InProgress' AND open.teacher_id IS NULL THEN 'Paused' ELSE t.trs_induction_status END
	FROM teachers t LEFT JOIN (SELECT DISTINCT teacher_id FROM induction_periods WHERE finished_on IS NULL) open ON open.teacher_id = t.id
	UNION ALL SELECT 'training_period', id,
		CASE WHEN training_programme = 'school_led' OR coalesce(deferred_at, withdrawn_at) IS NULL THEN 'active'
		     WHEN withdrawn_at IS NOT NULL AND (deferred_at IS NULL OR withdrawn_at >= deferred_at) THEN 'withdrawn'
		     ELSE 'deferred' END
	FROM training_periods`,
}

// A source shaped like production at its worst: a SQL_ASCII Register with
// Latin-1 names (bytes that are not UTF-8), NULL progress and
// submission_ready, and every hostile value the seed plants. The run
// succeeds; every planted row is loaded exactly or quarantined with its key
// and reason; a quarantined trainee's status is left out of
// register_statuses and its history is not touched; once the source is
// mended, the next run loads both.
func TestHostileSourceLoadsOrQuarantinesEveryRow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	wh, register, planted, config := newHostileSources(t, "")
	require.Positive(t, planted[seed.PlantedNullProgressTrainees])
	src, whPool := pgtest.Pool(t, register), pgtest.Pool(t, wh)
	ids := func(pool interface {
		Query(context.Context, string, ...any) (pgx.Rows, error)
	}, sql string, args ...any) []string {
		t.Helper()
		rows, err := pool.Query(ctx, sql, args...)
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return out
	}
	latin1 := ids(src, `SELECT id::text FROM trainees WHERE last_name = E'Mu\xf1oz' ORDER BY id::text`)
	require.Len(t, latin1, int(planted[seed.PlantedNonUTF8Trainees]))

	r := cli(t, nil, "--config", config, "run")
	require.Equal(t, exitOK, r.code, r.stderr)

	require.Equal(t, latin1, requireSameAsSource(t, register, "trainees", wh, "trainees"),
		"exactly the trainees whose bytes are not UTF-8 are quarantined; every other row arrived value for value")
	reasons := ids(whPool, `SELECT DISTINCT column_name || ': ' || reason FROM nightshift.quarantine
		WHERE entity = 'trainees' AND run_id = (SELECT max(id) FROM nightshift.runs)`)
	require.Equal(t, []string{"last_name: bytes that are not valid UTF-8"}, reasons)
	withheld := make([]string, len(latin1))
	for i, id := range latin1 {
		withheld[i] = "trainee/" + id
	}
	require.ElementsMatch(t, withheld, requireStatusesAsSource(t, register, independentStatuses["register_statuses"], wh, "register_statuses"),
		"a quarantined trainee's status is left out of register_statuses, and recorded")
	for _, c := range schemas.All() {
		if c.Source == "register" && c.Table != "" && c.Entity != "trainees" {
			require.Empty(t, requireSameAsSource(t, register, c.Table, wh, c.Entity), c.Entity)
		}
	}
	var nullProgress, history int64
	require.NoError(t, whPool.QueryRow(ctx, "SELECT count(*) FROM reporting.trainees WHERE progress IS NULL AND submission_ready IS NULL").Scan(&nullProgress))
	require.Equal(t, planted[seed.PlantedNullProgressTrainees], nullProgress, "NULL progress is loaded as NULL")
	versions := func() int64 {
		require.NoError(t, whPool.QueryRow(ctx, `SELECT count(*) FROM reporting.status_history
			WHERE entity_type = 'trainee' AND entity_id::text = ANY($1)`, latin1).Scan(&history))
		return history
	}
	require.Zero(t, versions(), "no status history for a trainee the warehouse does not hold")

	// Mended at the source, the trainee arrives everywhere at the next run.
	_, err := src.Exec(ctx, "UPDATE trainees SET last_name = 'Munoz' WHERE id::text = ANY($1)", latin1)
	require.NoError(t, err)
	r = cli(t, nil, "--config", config, "run")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Empty(t, requireSameAsSource(t, register, "trainees", wh, "trainees"))
	require.Empty(t, requireStatusesAsSource(t, register, independentStatuses["register_statuses"], wh, "register_statuses"))
	require.EqualValues(t, len(latin1), versions(), "their status history starts when they arrive")
}
