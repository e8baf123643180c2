package seed

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The database checks every row of the small seeds the other tests load.
// Rare branches show up only at scale, so the stories behind a large seed
// are checked here, in memory, against the rules the schema and the
// application enforce.

func validSpan(t *testing.T, what string, s span) {
	t.Helper()
	require.False(t, s.start.IsZero(), "%s has no start", what)
	if !s.open() {
		require.False(t, s.finish.Before(s.start), "%s finishes before it starts: %v", what, s)
	}
}

// within reports whether inner lies inside outer.
func within(inner, outer span) bool {
	if inner.start.Before(outer.start) {
		return false
	}
	if outer.open() {
		return true
	}
	return !inner.open() && !inner.finish.After(outer.finish)
}

func TestECTStoriesKeepTheRules(t *testing.T) {
	t.Parallel()
	r := newRect(Options{Scale: 150, Seed: 11})
	var s ectStory
	kinds := map[int]int{}
	for i := 0; i < r.teachers; i++ {
		if isMentor(i) {
			continue
		}
		r.ect(i, &s)
		kinds[s.kind]++
		open := 0
		for k, a := range s.at[:s.nAt] {
			validSpan(t, "at-school period", a.span)
			if a.open() {
				open++
			}
			if k > 0 {
				require.True(t, a.start.After(s.at[k-1].start), "teacher %d: at-school periods share a start", i)
			}
		}
		require.LessOrEqual(t, open, 1, "teacher %d: two open at-school periods", i)

		for _, tp := range s.tp[:s.nTP] {
			validSpan(t, "training period", tp.span)
			at := span{s.at[tp.at].start, s.clippedEnd(tp.at)}
			require.True(t, within(tp.span, at), "teacher %d: training %v outside its at-school period %v", i, tp.span, at)
			if !tp.deferredAt.IsZero() || !tp.withdrawnAt.IsZero() {
				require.False(t, tp.open(), "teacher %d: deferred or withdrawn training still open", i)
			}
			require.Equal(t, tp.programme == "provider_led" && tp.interest == 0, tp.hasPartner, "teacher %d: partnership", i)
		}
		for k := 1; k < s.nTP; k++ {
			if s.tp[k].at == s.tp[k-1].at {
				require.True(t, s.tp[k].start.After(s.tp[k-1].start), "teacher %d: trainings share a start", i)
				overlap := !s.tp[k-1].finish.Before(s.tp[k].start)
				require.Equal(t, s.kind == ectHandover, overlap, "teacher %d: only handovers overlap", i)
			}
		}

		outcomes, openInductions := 0, 0
		for _, in := range s.ind[:s.nIn] {
			validSpan(t, "induction", in.span)
			if in.outcome != "" {
				outcomes++
				require.False(t, in.open(), "teacher %d: an outcome on an open induction", i)
			}
			if in.open() && !in.orphan {
				openInductions++
			}
		}
		require.LessOrEqual(t, outcomes, 1, "teacher %d: two induction outcomes", i)
		require.LessOrEqual(t, openInductions, 1, "teacher %d: two open inductions", i)

		var mentor mentorStory
		for k, ms := range s.ms[:s.nMS] {
			validSpan(t, "mentorship", ms.span)
			a := s.at[ms.at]
			require.True(t, within(ms.span, span{a.start, s.clippedEnd(ms.at)}), "teacher %d: mentorship outside the ECT's period", i)
			mentorT := int(ms.mentorPeriod-1) / atSchoolStride
			require.True(t, isMentor(mentorT), "teacher %d: mentored by an ECT", i)
			r.mentor(mentorT, r.mentorLookupDice, &mentor)
			require.Equal(t, mentor.at[0].id, ms.mentorPeriod)
			require.True(t, within(ms.span, mentor.at[0].span), "teacher %d: mentorship outside the mentor's period", i)
			require.Equal(t, a.school, mentor.at[0].school, "teacher %d: mentor at another school", i)
			if k > 0 && s.ms[k-1].at == ms.at {
				require.False(t, s.ms[k-1].open(), "teacher %d: two open mentorships", i)
				require.True(t, ms.start.After(s.ms[k-1].finish), "teacher %d: mentorships overlap", i)
			}
		}
	}
	for k := range ectKindProbs {
		require.Positive(t, kinds[k+1], "ECT kind %d never planted", k+1)
	}
}

func TestMentorStoriesKeepTheRules(t *testing.T) {
	t.Parallel()
	r := newRect(Options{Scale: 150, Seed: 11})
	var m mentorStory
	for i := 0; i < r.teachers; i++ {
		if !isMentor(i) {
			continue
		}
		r.mentor(i, r.mentorDice, &m)
		openAt := map[int]int{}
		for _, a := range m.at[:m.nAt] {
			validSpan(t, "mentor at-school period", a.span)
			if a.open() {
				openAt[a.school]++
				require.Equal(t, 1, openAt[a.school], "mentor %d: two open periods at one school", i)
			}
		}
		if m.hasTP {
			validSpan(t, "mentor training", m.tp.span)
			require.True(t, within(m.tp.span, m.at[0].span), "mentor %d: training outside the home period", i)
		}
	}
}

func TestTRNsAreDistinct(t *testing.T) {
	t.Parallel()
	reg := newRegister(Options{Scale: 200, Seed: 5})
	seen := make(map[string]bool, reg.trainees)
	for i := 0; i < reg.trainees; i++ {
		trn := reg.trn(i)
		require.Len(t, trn, 7)
		require.False(t, seen[trn], "trainee TRN %s repeats", trn)
		seen[trn] = true
	}
	r := newRect(Options{Scale: 200, Seed: 5})
	seen = make(map[string]bool, r.teachers)
	for i := 0; i < r.teachers; i++ {
		trn := r.teacherTRN(i)
		require.Len(t, trn, 7)
		require.False(t, seen[trn], "teacher TRN %s repeats", trn)
		seen[trn] = true
	}
}

func TestTraineePlansKeepTheRules(t *testing.T) {
	t.Parallel()
	r := newRegister(Options{Scale: 100, Seed: 9})
	var p traineePlan
	for i := 0; i < r.trainees; i++ {
		r.plan(i, &p)
		require.False(t, p.updated.Before(p.created), "trainee %d: updated before created", i)
		require.False(t, p.updated.After(asOf), "trainee %d: updated after as-of", i)
		require.True(t, p.ittEnd.After(p.ittStart), "trainee %d: course ends before it starts", i)
		for _, at := range []time.Time{p.submittedAt, p.recommendedAt, p.awardedAt, p.discardedAt} {
			require.False(t, at.After(asOf), "trainee %d: a timestamp after as-of", i)
		}
		if !p.reinstateDate.IsZero() {
			require.True(t, p.reinstateDate.After(p.deferDate), "trainee %d: reinstated before deferred", i)
		}
		if p.state == stateAwarded {
			require.False(t, p.awardedAt.IsZero(), "trainee %d: awarded without awarded_at", i)
		}
	}
}

// Each trainee's audits tell its story: a create, then changes of state
// whose [old, new] pairs chain, in time order, to the state the trainees
// row holds; some change twice in a day, some change personal details.
func TestAuditsChainToTheTraineesState(t *testing.T) {
	t.Parallel()
	s := seedSources(t, Options{Scale: 0.3, Seed: 5})
	reg, rect := s.conns["register"], s.conns["rect"]
	const states = `WITH s AS (
		SELECT auditable_id AS id, version, created_at,
		       CASE action WHEN 'create' THEN 'null' ELSE audited_changes->'state'->>0 END AS old,
		       CASE action WHEN 'create' THEN coalesce(audited_changes->>'state', 'null') ELSE audited_changes->'state'->>1 END AS new
		FROM audits WHERE auditable_type = 'Trainee' AND (action = 'create' OR audited_changes ? 'state'))
		SELECT *, lag(new) OVER w AS before, lag(created_at) OVER w AS before_at,
		       row_number() OVER (PARTITION BY id ORDER BY version DESC) AS from_last
		FROM s WINDOW w AS (PARTITION BY id ORDER BY version)`
	require.Zero(t, queryInt(t, reg, `SELECT count(*) FROM trainees t LEFT JOIN (`+states+`) a ON a.id = t.id AND a.from_last = 1
		WHERE a.new IS DISTINCT FROM coalesce(t.state::text, 'null')`), "the last change of state is the row's state")
	require.Zero(t, queryInt(t, reg, `SELECT count(*) FROM (`+states+`) a WHERE before IS NOT NULL AND old IS DISTINCT FROM before`),
		"each change starts where the one before ended")
	require.Zero(t, queryInt(t, reg, `SELECT count(*) FROM (`+states+`) a WHERE before_at > created_at`), "versions follow time")
	require.Zero(t, queryInt(t, reg, `SELECT count(*) FROM (SELECT auditable_id FROM audits WHERE auditable_type = 'Trainee' AND action = 'create'
		GROUP BY 1 HAVING count(*) > 1) x`), "one create per trainee")
	require.Positive(t, queryInt(t, reg, `SELECT count(*) FROM (SELECT id, created_at::date FROM (`+states+`) a WHERE old <> 'null'
		GROUP BY 1, 2 HAVING count(*) >= 2) x`), "some trainees change state twice in a day")
	require.Positive(t, queryInt(t, reg, `SELECT count(*) FROM audits WHERE action = 'update' AND audited_changes ?| array['first_names', 'last_name', 'email', 'date_of_birth']`))
	require.Positive(t, queryInt(t, reg, `SELECT count(*) FROM audits WHERE auditable_type = 'Degree'`))

	// RECT's events name the teacher in the heading, and some carry a
	// changed name in metadata.
	require.Positive(t, queryInt(t, rect, `SELECT count(*) FROM events e JOIN teachers t ON t.id = e.teacher_id
		WHERE e.heading LIKE t.trs_first_name || '%'`))
	require.Positive(t, queryInt(t, rect, `SELECT count(*) FROM events WHERE metadata ? 'trs_last_name'`))
	require.Positive(t, queryInt(t, rect, `SELECT count(*) FROM events WHERE declaration_id IS NOT NULL`))
}
