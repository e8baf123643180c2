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
	p.wh = newWarehouse(t)
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
	// Scale 2: hundreds to thousands of rows per entity, every planted
	// oddity among them. Scale 50 took over two minutes under -race once
	// the audit trail and the event log were seeded too, and scale 5 a
	// sixth of the package's time on a loaded machine. Volume is the
	// bench's business.
	p := newFullProject(t, 2)
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
		r := cli(t, nil, "--config", p.config, "run", "--entity", "register_statuses", "--entity", "rect_statuses", "--entity", "audits", "--entity", "events")
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
		require.Len(t, at, 4)
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
	// withdrawn changes three times in a day, each change audited as
	// Register audits it; the run sees only the last. The others change
	// behind the audit trail's back, but the deferral sets deferred_at.
	// (Between the two runs: what the second run sees happened after the
	// first's snapshot.)
	dayStart := first["register_statuses"].UTC().Add(100 * time.Millisecond).Truncate(time.Microsecond)
	for i, change := range []string{`{"state": [2, 4]}`, `{"state": [4, 2]}`, `{"state": [2, 4]}`} {
		_, err := reg.Exec(ctx, `INSERT INTO audits (auditable_type, auditable_id, action, audited_changes, created_at, version, user_type)
			VALUES ('Trainee', $1, 'update', $2, $3, 100 + $4, 'User')`, withdrawn, change, dayStart.Add(time.Duration(i)*100*time.Millisecond), i)
		require.NoError(t, err)
	}
	exec(reg, "UPDATE trainees SET state = 4 WHERE id = $1", withdrawn)
	exec(reg, "UPDATE trainees SET state = 2 WHERE id = $1", reinstated)
	exec(reg, "UPDATE trainees SET state = 6, awarded_at = now() WHERE id = $1", awarded)
	exec(rect, "UPDATE declarations SET payment_status = 'voided' WHERE id = $1", voided)
	exec(rect, "UPDATE declarations SET clawback_status = 'awaiting_clawback' WHERE id = $1", clawed)
	exec(rect, "UPDATE training_periods SET deferred_at = now(), deferral_reason = 'career_break', finished_on = greatest(started_on, current_date) WHERE id = $1", deferred)
	var deferredAt time.Time
	require.NoError(t, rect.QueryRow(ctx, "SELECT deferred_at AT TIME ZONE 'UTC' FROM training_periods WHERE id = $1", deferred).Scan(&deferredAt))

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
		Source    string
	}
	history := func(entityType string, id int64) []version {
		rows, err := wh.Query(ctx, `SELECT status, valid_from, valid_to, is_current, valid_from_source FROM reporting.status_history
			WHERE entity_type = $1 AND entity_id = $2 ORDER BY valid_from`, entityType, id)
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[version])
		require.NoError(t, err)
		return out
	}
	// Every version holds until the next begins.
	contiguous := func(h []version) {
		t.Helper()
		for i := 1; i < len(h); i++ {
			require.NotNil(t, h[i-1].To)
			require.True(t, h[i-1].To.Equal(h[i].From), "%+v", h)
			require.False(t, h[i-1].IsCurrent)
		}
		require.Nil(t, h[len(h)-1].To)
		require.True(t, h[len(h)-1].IsCurrent)
	}

	// withdrawn: its whole audit trail, read here by SQL of the test's own,
	// is its history, down to the three changes of the day.
	rows, err := reg.Query(ctx, `SELECT (CASE WHEN jsonb_typeof(audited_changes->'state') = 'array' THEN audited_changes->'state'->>1 ELSE audited_changes->>'state' END)::int,
		created_at AT TIME ZONE 'UTC' FROM audits WHERE auditable_type = 'Trainee' AND auditable_id = $1 AND audited_changes ? 'state' ORDER BY created_at`, withdrawn)
	require.NoError(t, err)
	names := map[int]string{0: "draft", 1: "submitted_for_trn", 2: "trn_received", 3: "recommended_for_award", 4: "withdrawn", 5: "deferred", 6: "awarded"}
	var trail []version
	for rows.Next() {
		var code int
		var at time.Time
		require.NoError(t, rows.Scan(&code, &at))
		trail = append(trail, version{Status: names[code], From: at, Source: "audits"})
	}
	require.NoError(t, rows.Err())
	h := history("trainee", withdrawn)
	contiguous(h)
	require.Len(t, h, len(trail), "%+v", h)
	for i := range trail {
		require.Equal(t, trail[i].Status, h[i].Status, "%d", i)
		require.True(t, trail[i].From.Equal(h[i].From), "%d: %s, %s", i, trail[i].From, h[i].From)
		require.Equal(t, "audits", h[i].Source)
	}

	changed := []struct {
		entityType string
		id         int64
		from, to   string
		at         time.Time
		source     string
	}{
		{"trainee", reinstated, "withdrawn", "trn_received", second["register_statuses"], "snapshot"},
		{"trainee", awarded, "recommended_for_award", "awarded", second["register_statuses"], "snapshot"},
		{"declaration_payment", voided, "eligible", "voided", second["rect_statuses"], "snapshot"},
		{"declaration_clawback", clawed, "no_clawback", "awaiting_clawback", second["rect_statuses"], "snapshot"},
		{"training_period", deferred, "active", "deferred", deferredAt, "training_periods"},
	}
	for _, c := range changed {
		h := history(c.entityType, c.id)
		contiguous(h)
		last, before := h[len(h)-1], h[len(h)-2]
		require.Equal(t, c.from, before.Status, "%s %d", c.entityType, c.id)
		require.True(t, before.From.Before(first[origin(c.entityType)]) || before.From.Equal(first[origin(c.entityType)]))
		require.Equal(t, c.to, last.Status)
		require.True(t, last.From.Equal(c.at), "%s %d: %s, want %s", c.entityType, c.id, last.From, c.at)
		require.Equal(t, c.source, last.Source)
	}
	var now int64
	require.NoError(t, wh.QueryRow(ctx, "SELECT count(*) FROM reporting.status_history").Scan(&now))
	require.Equal(t, versions+int64(len(changed))+3, now, "only the changed entities got new versions: one each, three for the day's changes")

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
	before := history("trainee", awarded)
	fourth := run()
	h = history("trainee", awarded)
	require.Len(t, h, len(before))
	require.NotNil(t, h[len(h)-1].To)
	require.True(t, h[len(h)-1].To.Equal(fourth["register_statuses"]))
	require.False(t, h[len(h)-1].IsCurrent)
}

// newHostileSources seeds a SQL_ASCII Register, which holds Latin-1 names,
// and a RECT, and returns the warehouse's and Register's URLs, what the
// seed planted and a configuration (with more, e.g. a bigquery section,
// appended).
func newHostileSources(t *testing.T, more string) (wh, register string, planted map[string]int64, config string) {
	t.Helper()
	ctx := context.Background()
	wh, register, rect := newWarehouse(t), pgtest.NewSQLASCIIDatabase(t), pgtest.NewDatabase(t)
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
	// When: the newest audit whose changes name the state, found by
	// ordering rather than max().
	"register_statuses": `SELECT 'trainee' AS entity_type, t.id AS entity_id,
		coalesce(n.name, 'unknown_' || t.state::text) AS status,
		last.created_at AS status_changed_at, CASE WHEN last.created_at IS NULL THEN NULL ELSE 'audits' END AS status_changed_at_source
	FROM trainees t LEFT JOIN (VALUES (0, 'draft'), (1, 'submitted_for_trn'), (2, 'trn_received'),
		(3, 'recommended_for_award'), (4, 'withdrawn'), (5, 'deferred'), (6, 'awarded')) AS n (code, name) ON n.code = t.state
	LEFT JOIN (SELECT DISTINCT ON (auditable_id) auditable_id, created_at FROM audits
	           WHERE auditable_type = 'Trainee' AND jsonb_exists(audited_changes, 'state') AND created_at IS NOT NULL
	           ORDER BY auditable_id, created_at DESC) last ON last.auditable_id = t.id`,
	// When, from the service's Event::EVENT_TYPES: the newest event of a
	// kind that changes the status, or the period's own timestamps.
	"rect_statuses": `WITH newest AS (
		SELECT DISTINCT ON (kind, id) kind, id, happened_at FROM (
			SELECT CASE WHEN event_type LIKE 'teacher_declaration_%clawback' OR event_type = 'teacher_declaration_clawed_back' THEN 'clawback' ELSE 'payment' END AS kind,
			       declaration_id AS id, happened_at
			FROM events WHERE declaration_id IS NOT NULL AND event_type IN ('teacher_declaration_created', 'teacher_declaration_eligible',
				'teacher_declaration_payable', 'teacher_declaration_paid', 'teacher_declaration_voided', 'teacher_declaration_awaiting_clawback', 'teacher_declaration_clawed_back')
			UNION ALL SELECT 'induction', teacher_id, happened_at FROM events WHERE teacher_id IS NOT NULL AND event_type IN ('teacher_trs_induction_status_updated',
				'teacher_passes_induction', 'teacher_fails_induction', 'teacher_induction_status_reset', 'induction_period_opened', 'induction_period_closed',
				'induction_period_reopened', 'induction_period_deleted')
			UNION ALL SELECT 'training', training_period_id, happened_at FROM events WHERE training_period_id IS NOT NULL
				AND event_type IN ('teacher_starts_training_period', 'teacher_resumes_training_period')
		) e WHERE happened_at IS NOT NULL ORDER BY kind, id, happened_at DESC)
	SELECT 'declaration_payment' AS entity_type, d.id AS entity_id, payment_status::text AS status, w.happened_at AS status_changed_at,
		CASE WHEN w.happened_at IS NULL THEN NULL ELSE 'events' END AS status_changed_at_source
	FROM declarations d LEFT JOIN newest w ON w.kind = 'payment' AND w.id = d.id
	UNION ALL SELECT 'declaration_clawback', d.id, clawback_status::text, w.happened_at, CASE WHEN w.happened_at IS NULL THEN NULL ELSE 'events' END
	FROM declarations d LEFT JOIN newest w ON w.kind = 'clawback' AND w.id = d.id
	UNION ALL SELECT 'teacher_induction', t.id,
		CASE WHEN t.trs_induction_status = 'InProgress' AND open.teacher_id IS NULL THEN 'Paused' ELSE t.trs_induction_status END,
		w.happened_at, CASE WHEN w.happened_at IS NULL THEN NULL ELSE 'events' END
	FROM teachers t LEFT JOIN (SELECT DISTINCT teacher_id FROM induction_periods WHERE finished_on IS NULL) open ON open.teacher_id = t.id
	LEFT JOIN newest w ON w.kind = 'induction' AND w.id = t.id
	UNION ALL SELECT 'training_period', id, status,
		CASE status WHEN 'withdrawn' THEN withdrawn_at WHEN 'deferred' THEN deferred_at ELSE started END,
		CASE WHEN status IN ('withdrawn', 'deferred') THEN 'training_periods' WHEN started IS NOT NULL THEN 'events' END
	FROM (SELECT tp.id, tp.withdrawn_at, tp.deferred_at, w.happened_at AS started,
		CASE WHEN training_programme = 'school_led' OR coalesce(deferred_at, withdrawn_at) IS NULL THEN 'active'
		     WHEN withdrawn_at IS NOT NULL AND (deferred_at IS NULL OR withdrawn_at >= deferred_at) THEN 'withdrawn'
		     ELSE 'deferred' END AS status
		FROM training_periods tp LEFT JOIN newest w ON w.kind = 'training' AND w.id = tp.id) p`,
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
