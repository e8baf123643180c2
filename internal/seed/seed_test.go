package seed

import (
	"context"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/schemas"
)

// seeded is a pair of seeded source databases.
type seeded struct {
	conns map[string]*pgx.Conn
	sums  map[string]Summary
}

// seedSources creates both sources, each in its own database, and seeds them.
func seedSources(t *testing.T, opts Options) seeded {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := seeded{conns: map[string]*pgx.Conn{}, sums: map[string]Summary{}}
	for _, source := range Sources {
		conn := pgtest.Connect(t, pgtest.NewDatabase(t))
		require.NoError(t, CreateSchema(ctx, conn, source))
		sum, err := Seed(ctx, conn, source, opts)
		require.NoError(t, err)
		require.Equal(t, source, sum.Source)
		s.conns[source], s.sums[source] = conn, sum
	}
	return s
}

func queryInt(t *testing.T, conn *pgx.Conn, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, conn.QueryRow(context.Background(), sql, args...).Scan(&n), sql)
	return n
}

func TestSchemasApply(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	versions := map[string]string{"register": "20260609164710", "rect": "20260813112837"}
	for _, source := range Sources {
		conn := pgtest.Connect(t, pgtest.NewDatabase(t))
		require.NoError(t, CreateSchema(ctx, conn, source))

		var top string
		require.NoError(t, conn.QueryRow(ctx, "SELECT max(version) FROM schema_migrations").Scan(&top))
		require.Equal(t, versions[source], top, source)
		require.EqualValues(t, 20, queryInt(t, conn, "SELECT count(*) FROM schema_migrations"), source)
		require.EqualValues(t, 1, queryInt(t, conn, "SELECT count(*) FROM ar_internal_metadata"), source)

		err := CreateSchema(ctx, conn, source)
		require.ErrorContains(t, err, "not empty", "a second CreateSchema must refuse")
	}

	conn := pgtest.Connect(t, pgtest.NewDatabase(t))
	require.NoError(t, CreateSchema(ctx, conn, "register"))
	require.EqualValues(t, 12, queryInt(t, conn, "SELECT count(*) FROM academic_cycles WHERE start_date = make_date(extract(year FROM start_date)::int, 8, 1) AND end_date = start_date + interval '1 year' - interval '1 day'"))
	require.EqualValues(t, 33, queryInt(t, conn, "SELECT count(*) FROM withdrawal_reasons"))
	require.EqualValues(t, 10, queryInt(t, conn, "SELECT count(*) FROM data_migrations"))
	_, err := conn.Exec(ctx, "INSERT INTO academic_cycles (start_date, end_date, created_at, updated_at) VALUES ('2020-01-01', '2020-12-31', now(), now())")
	require.ErrorContains(t, err, "academic_cycles_date_range", "cycles must not overlap")

	require.ErrorContains(t, CreateSchema(ctx, conn, "nope"), "unknown source")
}

// TestTraineeColumns pins trainees to the columns and types the contracts
// (schemas/trainees.go) are written against.
// TestTraineeColumns holds the trainees DDL to facts read in Register's own
// db/schema.rb (commit ce11265, version 2026_06_09_164710), the ones a
// first version of nightshift got wrong.
func TestTraineeColumns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn := pgtest.Connect(t, pgtest.NewDatabase(t))
	require.NoError(t, CreateSchema(ctx, conn, "register"))
	rows, err := conn.Query(ctx, `
		SELECT a.attname, format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
		FROM pg_attribute a
		WHERE a.attrelid = 'trainees'::regclass AND a.attnum > 0 AND NOT a.attisdropped`)
	require.NoError(t, err)
	columns := map[string]string{}
	var name, typ string
	_, err = pgx.ForEachRow(rows, []any{&name, &typ}, func() error { columns[name] = typ; return nil })
	require.NoError(t, err)
	for column, want := range map[string]string{
		"provider_trainee_id":  "text",
		"progress":             "jsonb",
		"submission_ready":     "boolean",
		"course_subject_one":   "text",
		"course_subject_two":   "text",
		"course_subject_three": "text",
		"slug":                 "citext not null",
		"provider_id":          "bigint not null",
		"created_from_dttp":    "boolean not null",
		"slug_sent_to_trs_at":  "timestamp(6) without time zone",
		"awarded_at":           "timestamp without time zone",
	} {
		require.Equal(t, want, columns[column], "trainees.%s", column)
	}
	for _, gone := range []string{"trainee_id", "withdraw_reasons_details", "withdraw_reasons_dfe_details"} {
		require.NotContains(t, columns, gone, "Register has no trainees.%s", gone)
	}
	require.Len(t, columns, 74, "schema.rb's trainees has 74 columns")
}

func TestSeedVolumes(t *testing.T) {
	t.Parallel()
	s := seedSources(t, Options{Scale: 1, Seed: 1})

	reg := s.sums["register"].Rows
	require.EqualValues(t, 1000, reg["trainees"])
	require.EqualValues(t, 20, reg["providers"])
	require.EqualValues(t, 150, reg["schools"])
	require.InDelta(t, 100, reg["trainee_withdrawals"], 60)
	require.InDelta(t, 160, reg["trainee_withdrawal_reasons"], 90)

	rect := s.sums["rect"].Rows
	require.EqualValues(t, 700, rect["teachers"])
	var periods int64
	for _, table := range periodTables {
		require.Greater(t, rect[table], int64(150), table)
		periods += rect[table]
	}
	require.InDelta(t, 3000, periods, 500)
	// About six declarations per early career teacher, plus voids and
	// resubmissions, as in the real service.
	require.InDelta(t, 2800, rect["declarations"], 600)

	// Summary.Rows says what the tables hold.
	for source, conn := range s.conns {
		for table, n := range s.sums[source].Rows {
			require.Equal(t, n, queryInt(t, conn, "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()), "%s.%s", source, table)
		}
	}
}

var periodTables = []string{"ect_at_school_periods", "mentor_at_school_periods", "mentorship_periods", "induction_periods", "training_periods"}

// tableDigests is an md5 of every table's content, in a stable order.
func tableDigests(t *testing.T, conn *pgx.Conn) map[string]string {
	t.Helper()
	ctx := context.Background()
	rows, err := conn.Query(ctx, "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")
	require.NoError(t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	out := map[string]string{}
	for _, table := range tables {
		var digest string
		q := "SELECT md5(coalesce(string_agg(t::text, '' ORDER BY t::text), '')) FROM " + pgx.Identifier{table}.Sanitize() + " t"
		require.NoError(t, conn.QueryRow(ctx, q).Scan(&digest), table)
		out[table] = digest
	}
	return out
}

func TestSeedIsDeterministic(t *testing.T) {
	t.Parallel()
	opts := Options{Scale: 0.3, Seed: 42}
	a, b := seedSources(t, opts), seedSources(t, opts)
	other := seedSources(t, Options{Scale: 0.3, Seed: 43})
	for _, source := range Sources {
		da, db, dother := tableDigests(t, a.conns[source]), tableDigests(t, b.conns[source]), tableDigests(t, other.conns[source])
		require.Equal(t, da, db, "%s: the same seed must give identical tables", source)
		require.Equal(t, a.sums[source], b.sums[source])
		for _, table := range []string{"trainees", "teachers", "declarations", "training_periods"} {
			if _, ok := da[table]; ok {
				require.NotEqual(t, da[table], dother[table], "%s.%s: another seed must give other data", source, table)
			}
		}
	}
}

// plantedQueries find each planted edge case in the database, independently
// of the generator.
var plantedQueries = map[string]string{
	PlantedDuplicateTRNs:       `SELECT count(*) FROM (SELECT trn FROM trainees WHERE trn IS NOT NULL GROUP BY trn HAVING count(*) > 1) x`,
	PlantedSharedEmails:        `SELECT count(*) FROM (SELECT email FROM trainees WHERE email IS NOT NULL GROUP BY email HAVING count(*) > 1) x`,
	PlantedSoftDeletedTrainees: `SELECT count(*) FROM trainees WHERE discarded_at IS NOT NULL`,
	PlantedNullStateTrainees:   `SELECT count(*) FROM trainees WHERE state IS NULL`,
	PlantedNullRouteTrainees:   `SELECT count(*) FROM trainees WHERE training_route IS NULL`,
	PlantedAllNullTrainees: `SELECT count(*) FROM trainees t WHERE NOT EXISTS (
		SELECT 1 FROM jsonb_each(to_jsonb(t)) e
		JOIN information_schema.columns c ON c.table_schema = 'public' AND c.table_name = 'trainees' AND c.column_name = e.key
		WHERE c.is_nullable = 'YES' AND e.value <> 'null'::jsonb)`,
	PlantedRetiredRouteTrainees: `SELECT count(*) FROM trainees WHERE training_route = 13`,
	PlantedNullProgressTrainees: `SELECT count(*) FROM trainees WHERE progress IS NULL AND submission_ready IS NULL`,
	PlantedNonUTF8Trainees:      `SELECT count(*) FROM trainees WHERE last_name = E'Mu\xf1oz'`,
	PlantedExtremeDateTrainees:  `SELECT count(*) FROM trainees WHERE date_of_birth = '1900-01-01' AND itt_end_date >= '2099-01-01'`,
	PlantedWithdrawnThenReinstated: `SELECT count(*) FROM trainees t WHERE state = 2
		AND EXISTS (SELECT 1 FROM trainee_withdrawals w WHERE w.trainee_id = t.id)
		AND NOT EXISTS (SELECT 1 FROM trainee_withdrawals w WHERE w.trainee_id = t.id AND w.discarded_at IS NULL)`,
	PlantedWithdrawnReinstatedWithdrawn: `SELECT count(*) FROM trainees t WHERE state = 4
		AND EXISTS (SELECT 1 FROM trainee_withdrawals w WHERE w.trainee_id = t.id AND w.discarded_at IS NOT NULL)
		AND EXISTS (SELECT 1 FROM trainee_withdrawals w WHERE w.trainee_id = t.id AND w.discarded_at IS NULL)`,
	PlantedDiscardedWithdrawals:    `SELECT count(*) FROM trainee_withdrawals WHERE discarded_at IS NOT NULL`,
	PlantedDeferredThenReinstated:  `SELECT count(*) FROM trainees WHERE defer_date IS NOT NULL AND reinstate_date IS NOT NULL AND state IN (1, 2)`,
	PlantedLegacyWithdrawalReasons: `SELECT count(*) FROM trainee_withdrawal_reasons WHERE trainee_withdrawal_id IS NULL`,

	PlantedTRNlessTeachers: `SELECT count(*) FROM teachers WHERE trn IS NULL`,
	PlantedMergedTeachers: `SELECT count(*) FROM teachers t WHERE anonymisation_reason = 'teacher_record_merged'
		AND EXISTS (SELECT 1 FROM teacher_id_changes c WHERE c.api_from_teacher_id = t.api_id)`,
	PlantedOverlappingECTAtSchool:    overlappingByTeacher("ect_at_school_periods"),
	PlantedOverlappingInduction:      overlappingByTeacher("induction_periods"),
	PlantedOverlappingMentorAtSchool: overlappingByTeacher("mentor_at_school_periods"),
	PlantedOverlappingTraining:       overlappingByTeacher(trainingWithTeacher),
	PlantedSingleDayOverlaps: `SELECT ` + singleDay("ect_at_school_periods") + ` + ` + singleDay("induction_periods") +
		` + ` + singleDay("mentor_at_school_periods") + ` + ` + singleDay(trainingWithTeacher),
	PlantedTwoOpenMentorPeriods: `SELECT count(*) FROM (SELECT teacher_id FROM mentor_at_school_periods
		WHERE finished_on IS NULL GROUP BY teacher_id HAVING count(*) >= 2) x`,
	PlantedOpenPeriods: `SELECT (SELECT count(*) FROM ect_at_school_periods WHERE finished_on IS NULL)
		+ (SELECT count(*) FROM mentor_at_school_periods WHERE finished_on IS NULL)
		+ (SELECT count(*) FROM mentorship_periods WHERE finished_on IS NULL)
		+ (SELECT count(*) FROM induction_periods WHERE finished_on IS NULL)
		+ (SELECT count(*) FROM training_periods WHERE finished_on IS NULL)`,
	PlantedPausedInductions: `SELECT count(*) FROM teachers t WHERE trs_induction_status = 'InProgress'
		AND NOT EXISTS (SELECT 1 FROM induction_periods i WHERE i.teacher_id = t.id AND i.finished_on IS NULL)`,
	PlantedOrphanInductionPeriods:       `SELECT count(*) FROM induction_periods WHERE teacher_id IS NULL`,
	PlantedPreSeptember2021Inductions:   `SELECT count(*) FROM induction_periods WHERE induction_programme = 'pre_september_2021'`,
	PlantedDeferredTraining:             `SELECT count(*) FROM training_periods WHERE deferred_at IS NOT NULL AND withdrawn_at IS NULL`,
	PlantedWithdrawnTraining:            `SELECT count(*) FROM training_periods WHERE withdrawn_at IS NOT NULL AND deferred_at IS NULL`,
	PlantedDeferredAndWithdrawnTraining: `SELECT count(*) FROM training_periods WHERE withdrawn_at IS NOT NULL AND deferred_at IS NOT NULL`,
	PlantedSchoolLedTraining:            `SELECT count(*) FROM training_periods WHERE training_programme = 'school_led'`,
	PlantedExpressionOfInterestOnly:     `SELECT count(*) FROM training_periods WHERE school_partnership_id IS NULL AND expression_of_interest_id IS NOT NULL`,
	PlantedVoidedDeclarations:           `SELECT count(*) FROM declarations WHERE payment_status = 'voided'`,
	PlantedVoidedThenResubmitted: `SELECT count(*) FROM (SELECT 1 FROM declarations WHERE training_period_id IS NOT NULL
		GROUP BY training_period_id, declaration_type
		HAVING bool_or(payment_status = 'voided') AND bool_or(payment_status <> 'voided')) x`,
	PlantedAwaitingClawback: `SELECT count(*) FROM declarations WHERE clawback_status = 'awaiting_clawback'`,
	PlantedClawedBack:       `SELECT count(*) FROM declarations WHERE clawback_status = 'clawed_back'`,
	PlantedEligibleAndPaidSameType: `SELECT count(*) FROM (SELECT 1 FROM declarations
		WHERE payment_status IN ('no_payment', 'eligible', 'payable', 'paid') AND clawback_status = 'no_clawback'
		GROUP BY training_period_id, declaration_type HAVING count(*) > 1) x`,
	PlantedDeclarationsWithoutTraining: `SELECT count(*) FROM declarations WHERE training_period_id IS NULL`,
	PlantedNullMilestoneDates:          `SELECT count(*) FROM milestones WHERE milestone_date IS NULL`,
	PlantedOverPreciseAdjustments:      `SELECT count(*) FROM statement_adjustments WHERE amount <> round(amount, 9)`,
	PlantedGenericPeriodEmails: `SELECT (SELECT count(*) FROM ect_at_school_periods WHERE email::text = ANY($1))
		+ (SELECT count(*) FROM mentor_at_school_periods WHERE email::text = ANY($1))`,
}

// trainingWithTeacher is training_periods with the teacher of its
// at-school period.
const trainingWithTeacher = `(SELECT tp.*, coalesce(e.teacher_id, m.teacher_id) AS teacher_id FROM training_periods tp
	LEFT JOIN ect_at_school_periods e ON e.id = tp.ect_at_school_period_id
	LEFT JOIN mentor_at_school_periods m ON m.id = tp.mentor_at_school_period_id)`

func overlappingByTeacher(periods string) string {
	return `SELECT count(DISTINCT a.teacher_id) FROM ` + periods + ` a JOIN ` + periods + ` b
		ON a.teacher_id = b.teacher_id AND a.id < b.id AND a.range && b.range`
}

func singleDay(periods string) string {
	return `(SELECT count(*) FROM ` + periods + ` a JOIN ` + periods + ` b
		ON a.teacher_id = b.teacher_id AND a.id <> b.id AND a.finished_on = b.started_on)`
}

// sourceOfPlanted says which source each planted key belongs to.
func sourceOfPlanted(key string) string {
	switch key {
	case PlantedDuplicateTRNs, PlantedSharedEmails, PlantedSoftDeletedTrainees, PlantedNullStateTrainees,
		PlantedNullRouteTrainees, PlantedAllNullTrainees, PlantedRetiredRouteTrainees, PlantedExtremeDateTrainees,
		PlantedWithdrawnThenReinstated, PlantedWithdrawnReinstatedWithdrawn, PlantedDiscardedWithdrawals,
		PlantedDeferredThenReinstated, PlantedLegacyWithdrawalReasons, PlantedNullProgressTrainees, PlantedNonUTF8Trainees:
		return "register"
	}
	return "rect"
}

// checkPlanted asserts that every planted count is what the database holds,
// and that every kind was planted.
func checkPlanted(t *testing.T, s seeded) {
	t.Helper()
	for _, source := range Sources {
		for key := range s.sums[source].Planted {
			require.Equal(t, source, sourceOfPlanted(key), "key %s", key)
		}
	}
	for key, q := range plantedQueries {
		source := sourceOfPlanted(key)
		planted, ok := s.sums[source].Planted[key]
		if key == PlantedNonUTF8Trainees && !ok {
			continue // a UTF-8 database takes no such bytes
		}
		require.True(t, ok, "%s: Summary.Planted has no %q", source, key)
		require.Positive(t, planted, "%s: nothing planted for %s", source, key)
		var args []any
		if key == PlantedGenericPeriodEmails {
			args = append(args, sharedMailboxes[:])
		}
		require.Equal(t, planted, queryInt(t, s.conns[source], q, args...), "%s: %s", source, key)
	}
	_, latin1 := s.sums["register"].Planted[PlantedNonUTF8Trainees]
	want := len(s.sums["register"].Planted) + len(s.sums["rect"].Planted)
	if !latin1 {
		want++
	}
	require.Len(t, plantedQueries, want, "every planted key has a query")
}

func TestPlantedCountsMatchTheDatabase(t *testing.T) {
	t.Parallel()
	checkPlanted(t, seedSources(t, Options{Scale: 1, Seed: 1}))
}

// A tiny seed still plants every kind of edge case, for quick tests.
func TestTinySeedPlantsEverything(t *testing.T) {
	t.Parallel()
	checkPlanted(t, seedSources(t, Options{Scale: 0.05, Seed: 7}))
}

// Every optional column is NULL somewhere and set somewhere, so that a
// reader's NULL handling and its value handling are both exercised.
func TestOptionalColumnsHaveNullsAndValues(t *testing.T) {
	t.Parallel()
	s := seedSources(t, Options{Scale: 1, Seed: 3})
	ctx := context.Background()
	// Only the columns a contract reads: the seed need not give the
	// services' own plumbing (search vectors, DTTP sync ids) values.
	read := map[string]bool{}
	for _, c := range schemas.All() {
		for _, col := range c.Columns {
			if c.Table != "" {
				read[c.Source+"."+c.Table+"."+col.SourceColumn()] = true
			}
		}
	}
	var problems []string
	for source, conn := range s.conns {
		for table := range s.sums[source].Rows {
			rows, err := conn.Query(ctx, `SELECT column_name::text FROM information_schema.columns
				WHERE table_schema = 'public' AND table_name = $1 AND is_nullable = 'YES' AND is_generated = 'NEVER'
				ORDER BY ordinal_position`, table)
			require.NoError(t, err)
			columns, err := pgx.CollectRows(rows, pgx.RowTo[string])
			require.NoError(t, err)
			for _, column := range columns {
				if exempt[table+"."+column] || !read[source+"."+table+"."+column] {
					continue
				}
				c := pgx.Identifier{column}.Sanitize()
				var nulls, values int64
				q := "SELECT count(*) FILTER (WHERE " + c + " IS NULL), count(*) FILTER (WHERE " + c + " IS NOT NULL) FROM " + pgx.Identifier{table}.Sanitize()
				require.NoError(t, conn.QueryRow(ctx, q).Scan(&nulls, &values))
				if nulls == 0 {
					problems = append(problems, source+"."+table+"."+column+" is never NULL")
				}
				if values == 0 {
					problems = append(problems, source+"."+table+"."+column+" is always NULL")
				}
			}
		}
	}
	sort.Strings(problems)
	require.Empty(t, problems)
}

// exempt lists optional columns of small reference tables that real data
// fills (or leaves empty) throughout.
var exempt = map[string]bool{
	"contract_periods.started_on": true, // six rows, all with dates
	"milestones.schedule_id":      true, // a milestone outside any schedule means nothing
	// The audited gem fills these on every row it writes.
	"audits.action": true, "audits.auditable_type": true, "audits.auditable_id": true,
	"audits.audited_changes": true, "audits.version": true, "audits.created_at": true,
	// Event validates their presence (app/models/event.rb).
	"events.event_type": true, "events.happened_at": true, "events.heading": true,
}

func TestSeedRefusesASeededDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, source := range Sources {
		conn := pgtest.Connect(t, pgtest.NewDatabase(t))
		require.NoError(t, CreateSchema(ctx, conn, source))
		opts := Options{Scale: 0.05, Seed: 1}
		first, err := Seed(ctx, conn, source, opts)
		require.NoError(t, err)
		_, err = Seed(ctx, conn, source, opts)
		require.True(t, errors.Is(err, ErrAlreadySeeded), "%s: %v", source, err)
		// The refused seed changed nothing.
		for table, n := range first.Rows {
			require.Equal(t, n, queryInt(t, conn, "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()), table)
		}
	}
}

func TestSeedRejectsBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn := pgtest.Connect(t, pgtest.NewDatabase(t))
	for _, scale := range []float64{0, -1, MaxScale + 1} {
		_, err := Seed(ctx, conn, "register", Options{Scale: scale})
		require.ErrorContains(t, err, "scale")
	}
	_, err := Seed(ctx, conn, "nope", Options{Scale: 1})
	require.ErrorContains(t, err, "unknown source")
	_, err = Seed(ctx, conn, "register", Options{Scale: 1})
	require.ErrorContains(t, err, "CreateSchema", "an empty database needs the schema first")
}
