package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
)

// traineeStateNames are Register's trainee states (app/models/trainee.rb),
// written out here rather than read from the contract, so that the test
// checks the view's names against the service's.
var traineeStateNames = map[string]string{
	"0": "draft", "1": "submitted_for_trn", "2": "trn_received", "3": "recommended_for_award",
	"4": "withdrawn", "5": "deferred", "6": "awarded",
}

// A trainee's timeline holds exactly what the sources recorded of them:
// each audit of the trainee (a state change from → to by name, an update
// by the columns it changed, never their values), each withdrawal with
// who decided it and why and its undoing, the course's dates and each
// version of its status; a teacher's holds each event about them, each
// period's start and finish, each declaration of their training and each
// status version of their induction, training and declarations. Both are
// in time order, and neither names a person anywhere.
func TestTimelinesTellWhatHappened(t *testing.T) {
	t.Parallel()
	p := newFullProject(t, 0.2)
	r := cli(t, nil, "--config", p.config, "run")
	require.Equal(t, exitOK, r.code, r.stderr)
	ctx := context.Background()
	reg, rect, wh := pgtest.Pool(t, p.src), pgtest.Pool(t, p.rect), pgtest.Pool(t, p.wh)

	// A trainee withdrawn and reinstated: created, moved through states,
	// withdrawn, the withdrawal undone.
	var trainee int64
	require.NoError(t, reg.QueryRow(ctx, "SELECT min(trainee_id) FROM trainee_withdrawals WHERE discarded_at IS NOT NULL").Scan(&trainee))
	timeline := func(view, id string, where string, cols string, key int64) []string {
		return whLines(t, p.wh, "SELECT "+cols+" FROM reporting."+view+" WHERE "+id+" = $1 AND "+where, key)
	}

	// The audits, read from the source and told in Go.
	rows, err := reg.Query(ctx, `SELECT id, action, created_at, audited_changes::text, user_type FROM audits
		WHERE auditable_type = 'Trainee' AND auditable_id = $1 ORDER BY version`, trainee)
	require.NoError(t, err)
	var want []string
	var chain []string // the states, in order
	for rows.Next() {
		var id int64
		var action, changes string
		var at time.Time
		var userType *string
		require.NoError(t, rows.Scan(&id, &action, &at, &changes, &userType))
		var obj map[string]any
		require.NoError(t, json.Unmarshal([]byte(changes), &obj))
		name := func(v any) string {
			if v == nil {
				return "none"
			}
			return traineeStateNames[fmt.Sprint(v)]
		}
		kind, what := "updated", ""
		switch pair, isPair := obj["state"].([]any); {
		case action == "create":
			kind, what = "created", "created as "+name(obj["state"])
			chain = append(chain, name(obj["state"]))
		case isPair:
			kind, what = "state_changed", "state: "+name(pair[0])+" → "+name(pair[1])
			require.Equal(t, chain[len(chain)-1], name(pair[0]), "each change starts where the one before ended")
			chain = append(chain, name(pair[1]))
			if others := slices.DeleteFunc(slices.Sorted(maps.Keys(obj)), func(k string) bool { return k == "state" }); len(others) > 0 {
				what += "; also changed: " + strings.Join(others, ", ")
			}
		default:
			what = "changed: " + strings.Join(slices.Sorted(maps.Keys(obj)), ", ")
		}
		who := "import, API or job"
		if userType != nil {
			who = *userType
		}
		want = append(want, strings.Join([]string{fmt.Sprint(id), cell(at), kind, what, who}, "|"))
	}
	require.NoError(t, rows.Err())
	slices.Sort(want)
	require.Greater(t, len(chain), 3, "the seed tells this trainee's story in several changes")
	require.Contains(t, chain, "withdrawn")
	require.Equal(t, want, timeline("trainee_timeline", "trainee_id", "source = 'audits' AND kind <> 'related_change'",
		"source_id, happened_at, kind, what, who", trainee))
	var stateName string
	require.NoError(t, wh.QueryRow(ctx, "SELECT state_name FROM reporting.trainees WHERE id = $1", trainee).Scan(&stateName))
	require.Equal(t, stateName, chain[len(chain)-1], "the audits end at the state the trainee holds")

	// Withdrawals, their undoing and the course's dates, from the source.
	require.Equal(t, whLines(t, p.src, `
		SELECT w.id, coalesce(w.date::timestamp, w.created_at), 'withdrawn',
		       'decided by ' || coalesce(w.trigger::text, 'unknown') || coalesce('; reasons: ' || (
		           SELECT string_agg(r.name, ', ' ORDER BY r.name) FROM trainee_withdrawal_reasons l
		           JOIN withdrawal_reasons r ON r.id = l.withdrawal_reason_id WHERE l.trainee_withdrawal_id = w.id), '')
		FROM trainee_withdrawals w WHERE w.trainee_id = $1
		UNION ALL
		SELECT w.id, w.discarded_at, 'withdrawal_undone', NULL FROM trainee_withdrawals w WHERE w.trainee_id = $1 AND w.discarded_at IS NOT NULL
		UNION ALL
		SELECT id, itt_start_date::timestamp, 'course_started', NULL FROM trainees WHERE id = $1 AND itt_start_date IS NOT NULL
		UNION ALL
		SELECT id, itt_end_date::timestamp, 'course_expected_end', NULL FROM trainees WHERE id = $1 AND itt_end_date IS NOT NULL`, trainee),
		timeline("trainee_timeline", "trainee_id", "source IN ('trainee_withdrawals', 'trainees')", "source_id, happened_at, kind, why", trainee))
	// The related records' audits and the status history, counted.
	var related, versions, rowsOfTrainee int64
	require.NoError(t, reg.QueryRow(ctx, "SELECT count(*) FROM audits WHERE associated_type = 'Trainee' AND associated_id = $1", trainee).Scan(&related))
	require.NoError(t, wh.QueryRow(ctx, "SELECT count(*) FROM reporting.status_history WHERE entity_type = 'trainee' AND entity_id = $1", trainee).Scan(&versions))
	require.Positive(t, versions)
	// The history reaches back through the audit trail (rebuilt on the
	// first run): its last status change ends at the trainee's state.
	last := timeline("trainee_timeline", "trainee_id",
		"kind = 'status_changed' AND seq = (SELECT max(seq) FROM reporting.trainee_timeline s WHERE s.trainee_id = $1 AND s.kind = 'status_changed')",
		"source, what", trainee)
	require.Len(t, last, 1)
	require.True(t, strings.HasPrefix(last[0], "status_history|status: "), last[0])
	require.True(t, strings.HasSuffix(last[0], " "+stateName), "the last status change is to the trainee's state: %s", last[0])
	require.NoError(t, wh.QueryRow(ctx, "SELECT count(*) FROM reporting.trainee_timeline WHERE trainee_id = $1", trainee).Scan(&rowsOfTrainee))
	withdrawalRows := len(timeline("trainee_timeline", "trainee_id", "source IN ('trainee_withdrawals', 'trainees')", "seq", trainee))
	require.Equal(t, int64(len(want)+withdrawalRows)+related+versions, rowsOfTrainee, "nothing else")

	// A teacher whose training was withdrawn, with declarations.
	var teacher int64
	require.NoError(t, rect.QueryRow(ctx, `SELECT min(e.teacher_id) FROM events e WHERE e.event_type = 'teacher_withdraws_training_period'
		AND EXISTS (SELECT 1 FROM declarations d JOIN training_periods tp ON tp.id = d.training_period_id
		            JOIN ect_at_school_periods s ON s.id = tp.ect_at_school_period_id WHERE s.teacher_id = e.teacher_id)`).Scan(&teacher))
	events := whLines(t, p.rect, "SELECT id, happened_at, event_type, author_type::text FROM events WHERE teacher_id = $1", teacher)
	require.NotEmpty(t, events)
	require.Equal(t, events, timeline("teacher_timeline", "teacher_id", "kind = 'event'", "source_id, happened_at, what, who", teacher))
	periods := `
		SELECT 'induction_periods' AS source, id, 'induction' AS kind, started_on, finished_on FROM induction_periods WHERE teacher_id = $1
		UNION ALL SELECT 'ect_at_school_periods', id, 'ect_at_school', started_on, finished_on FROM ect_at_school_periods WHERE teacher_id = $1
		UNION ALL SELECT 'mentor_at_school_periods', id, 'mentor_at_school', started_on, finished_on FROM mentor_at_school_periods WHERE teacher_id = $1
		UNION ALL SELECT 'training_periods', tp.id, 'training', tp.started_on, tp.finished_on FROM training_periods tp
		          LEFT JOIN ect_at_school_periods e ON e.id = tp.ect_at_school_period_id
		          LEFT JOIN mentor_at_school_periods m ON m.id = tp.mentor_at_school_period_id
		          WHERE coalesce(e.teacher_id, m.teacher_id) = $1
		UNION ALL SELECT 'mentorship_periods', mp.id, 'mentored', mp.started_on, mp.finished_on FROM mentorship_periods mp
		          JOIN ect_at_school_periods e ON e.id = mp.ect_at_school_period_id WHERE e.teacher_id = $1
		UNION ALL SELECT 'mentorship_periods', mp.id, 'mentoring', mp.started_on, mp.finished_on FROM mentorship_periods mp
		          JOIN mentor_at_school_periods m ON m.id = mp.mentor_at_school_period_id WHERE m.teacher_id = $1`
	require.Equal(t, whLines(t, p.rect, "SELECT source, id, kind, started_on::timestamp FROM ("+periods+") p", teacher),
		timeline("teacher_timeline", "teacher_id", "kind = 'period_started'", "source, source_id, period_kind, happened_at", teacher))
	finished := whLines(t, p.rect, "SELECT source, id, kind, finished_on::timestamp FROM ("+periods+") p WHERE finished_on IS NOT NULL", teacher)
	require.NotEmpty(t, finished)
	require.Equal(t, finished, timeline("teacher_timeline", "teacher_id", "kind = 'period_finished'", "source, source_id, period_kind, happened_at", teacher))
	require.Equal(t, []string{"withdrawn"}, whLines(t, p.wh, `SELECT DISTINCT split_part(why, ':', 1) FROM reporting.teacher_timeline
		WHERE teacher_id = $1 AND kind = 'period_finished' AND period_kind = 'training' AND source_id IN (
		    SELECT entity_id FROM reporting.status_history WHERE entity_type = 'training_period' AND status = 'withdrawn')`, teacher),
		"a withdrawn training period says why it finished")
	declarations := `SELECT d.id FROM declarations d JOIN training_periods tp ON tp.id = d.training_period_id
		LEFT JOIN ect_at_school_periods e ON e.id = tp.ect_at_school_period_id
		LEFT JOIN mentor_at_school_periods m ON m.id = tp.mentor_at_school_period_id
		WHERE coalesce(e.teacher_id, m.teacher_id) = $1`
	require.Equal(t, whLines(t, p.rect, "SELECT id, declaration_date, declaration_type::text FROM declarations WHERE id IN ("+declarations+")", teacher),
		timeline("teacher_timeline", "teacher_id", "kind = 'declaration'", "source_id, happened_at, what", teacher))
	// Status versions of the teacher's induction, training periods and
	// declarations, counted in the warehouse's history by their ids in the
	// source.
	ids := func(sql string) []int64 {
		rows, err := rect.Query(ctx, sql, teacher)
		require.NoError(t, err)
		var out []int64
		for rows.Next() {
			var id int64
			require.NoError(t, rows.Scan(&id))
			out = append(out, id)
		}
		require.NoError(t, rows.Err())
		return out
	}
	trainings := ids("SELECT id FROM (" + periods + ") p WHERE kind = 'training'")
	var statusVersions int64
	require.NoError(t, wh.QueryRow(ctx, `SELECT count(*) FROM reporting.status_history WHERE
		(entity_type = 'teacher_induction' AND entity_id = $1) OR (entity_type = 'training_period' AND entity_id = ANY($2))
		OR (entity_type IN ('declaration_payment', 'declaration_clawback') AND entity_id = ANY($3))`,
		teacher, trainings, ids(declarations)).Scan(&statusVersions))
	require.Len(t, timeline("teacher_timeline", "teacher_id", "kind = 'status_changed'", "seq", teacher), int(statusVersions))
	var rowsOfTeacher int64
	require.NoError(t, wh.QueryRow(ctx, "SELECT count(*) FROM reporting.teacher_timeline WHERE teacher_id = $1", teacher).Scan(&rowsOfTeacher))
	require.Equal(t, int64(len(events)+len(finished)+len(ids(declarations))+len(ids("SELECT id FROM ("+periods+") p")))+statusVersions,
		rowsOfTeacher, "nothing else")

	count := func(sql string) int64 {
		var n int64
		require.NoError(t, wh.QueryRow(ctx, sql).Scan(&n))
		return n
	}
	for view, id := range map[string]string{"trainee_timeline": "trainee_id", "teacher_timeline": "teacher_id"} {
		// seq numbers each person's rows from 1 in time order.
		require.Zero(t, count(fmt.Sprintf(`SELECT count(*) FROM (
			SELECT seq, happened_at, row_number() OVER (PARTITION BY %[2]s ORDER BY seq) AS n,
			       lag(happened_at) OVER (PARTITION BY %[2]s ORDER BY seq) AS before
			FROM reporting.%[1]s) x WHERE x.seq <> x.n OR x.before > x.happened_at OR x.happened_at IS NULL`, view, id)), view)
	}
	// The views come in that order: a person's rows read without ORDER BY
	// are 1, 2, 3….
	for view, key := range map[string]int64{"trainee_timeline": trainee, "teacher_timeline": teacher} {
		id := strings.Replace(view, "_timeline", "_id", 1)
		rows, err := wh.Query(ctx, "SELECT seq FROM reporting."+view+" WHERE "+id+" = $1", key)
		require.NoError(t, err)
		var n int64
		for rows.Next() {
			var seq int64
			require.NoError(t, rows.Scan(&seq))
			n++
			require.Equal(t, n, seq, view)
		}
		require.NoError(t, rows.Err())
		require.Greater(t, n, int64(5), view)
	}
	// No one is named: no author's name, email or address, no audit
	// comment, no event heading or body, no trainee's name or email,
	// anywhere in what, who or why.
	named := func(view, values string) int64 {
		return count(`SELECT count(*) FROM reporting.` + view + ` tl JOIN (` + values + `) v(value) ON length(v.value) >= 4
			AND (strpos(tl.what, v.value) > 0 OR strpos(coalesce(tl.who, ''), v.value) > 0 OR strpos(coalesce(tl.why, ''), v.value) > 0)`)
	}
	require.Zero(t, named("trainee_timeline", `SELECT username FROM reporting.audits UNION SELECT comment FROM reporting.audits
		UNION SELECT remote_address FROM reporting.audits UNION SELECT first_names FROM reporting.trainees
		UNION SELECT last_name FROM reporting.trainees UNION SELECT email FROM reporting.trainees`))
	require.Zero(t, named("teacher_timeline", `SELECT author_name FROM reporting.events UNION SELECT author_email FROM reporting.events
		UNION SELECT heading FROM reporting.events UNION SELECT body FROM reporting.events`))
	require.Positive(t, count("SELECT count(*) FROM reporting.audits WHERE username IS NOT NULL"), "there were names to leak")
	require.Positive(t, count("SELECT count(*) FROM reporting.events WHERE heading IS NOT NULL"), "there were headings to leak")
}
