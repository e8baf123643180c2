package seed

import (
	"math"
	"time"
)

// ECT edge-case kinds (see planted.go for what each plants). Random events
// (moving school, changing lead provider, leaving teaching) happen only to
// ordinary ECTs, so that every planted kind is exactly what it says.
const (
	ectNormal = iota
	ectOverlapAtSchool
	ectOverlapInduction
	ectPaused
	ectTRNless
	ectDeferred
	ectDeferredWithdrawn
	ectHandover
	ectSchoolLed
	ectExpressionOfInterest
	ectVoidResubmit
	ectClawback
	ectEligiblePaid
	ectOrphanDeclaration
	ectOrphanInduction
	ectPreSeptember2021
	ectMerged
)

var ectKindProbs = []float64{
	ectOverlapAtSchool - 1:      0.010,
	ectOverlapInduction - 1:     0.010,
	ectPaused - 1:               0.005,
	ectTRNless - 1:              0.010,
	ectDeferred - 1:             0.010,
	ectDeferredWithdrawn - 1:    0.005,
	ectHandover - 1:             0.010,
	ectSchoolLed - 1:            0.010,
	ectExpressionOfInterest - 1: 0.010,
	ectVoidResubmit - 1:         0.010,
	ectClawback - 1:             0.005,
	ectEligiblePaid - 1:         0.005,
	ectOrphanDeclaration - 1:    0.003,
	ectOrphanInduction - 1:      0.003,
	ectPreSeptember2021 - 1:     0.010,
	ectMerged - 1:               0.003,
}

// Mentor edge-case kinds.
const (
	mentorNormal = iota
	mentorTwoOpen
	mentorClosedOverlap
)

var mentorKindProbs = []float64{
	mentorTwoOpen - 1:       0.03,
	mentorClosedOverlap - 1: 0.02,
}

// ECT outcomes as of today.
const (
	outcomeFuture = iota
	outcomeInProgress
	outcomeCompleted
	outcomeLeft
)

// span is a period's dates; a zero finish means ongoing.
type span struct{ start, finish time.Time }

func (s span) open() bool { return s.finish.IsZero() }

// until is the last day of the span, or far in the future if ongoing.
func (s span) until() time.Time {
	if s.open() {
		return date(9999, 12, 31)
	}
	return s.finish
}

type atSchool struct {
	span
	id     int64
	school int // 0-based
	// mentor is the teacher index of the mentor at this school, -1 none.
	mentor int
	left   bool // the school reported the teacher leaving
}

type induction struct {
	span
	id           int64
	orphan       bool // teacher_id NULL
	body         int64
	programme    string
	training     string // "" for NULL
	terms        float64
	outcome      string
	failNoticeOn time.Time
}

type training struct {
	span
	id          int64
	at          int // index of the at-school period
	programme   string
	partnership partnership
	hasPartner  bool
	interest    int64 // expression_of_interest_id, 0 for NULL
	schedule    int64
	deferredAt  time.Time
	deferral    string
	withdrawnAt time.Time
	withdrawal  string
	completed   bool // finished by completing the programme
}

type mentorship struct {
	span
	id           int64
	at           int
	mentorPeriod int64
}

// ectStory is everything about one early career teacher.
type ectStory struct {
	t, kind, cohort int
	outcome         int
	passed          bool
	start           time.Time
	completion      time.Time
	leave           time.Time
	family, month   string
	partTime        bool
	programme       string // "" for none (pre-September 2021 inductions)
	touching        bool   // the overlapping at-school periods touch on one day
	status          string

	at  [atSchoolStride]atSchool
	nAt int
	ind [inductionStride]induction
	nIn int
	tp  [trainingStride]training
	nTP int
	ms  [atSchoolStride * mentorshipStride]mentorship
	nMS int
}

// hasOpenInduction reports whether the teacher has an ongoing induction.
func (s *ectStory) hasOpenInduction() bool {
	for _, in := range s.ind[:s.nIn] {
		if !in.orphan && in.open() {
			return true
		}
	}
	return false
}

// mentorStory is everything about one mentor.
type mentorStory struct {
	t, kind, cohort int
	at              [atSchoolStride]atSchool
	nAt             int
	tp              training
	hasTP           bool
	status          string
}

// blockSchool is the school of mentor slot m of block b: the first two
// mentors of a block share a school, the third has its own.
func (r *rect) blockSchool(b, m int) int {
	return hashOf(r.opts.Seed, streamRectSchool, b*2+m/2, r.schools)
}

// otherSchool is a school other than s, chosen by key.
func (r *rect) otherSchool(s, key int) int {
	return (s + 1 + hashOf(r.opts.Seed, streamRectSchool, 1<<40+key, r.schools-1)) % r.schools
}

func (r *rect) mentor(t int, d *dice, s *mentorStory) {
	*s = mentorStory{t: t}
	d.at(streamMentor, t)
	b, slot := t/blockSize, t%blockSize
	s.kind = r.mentorKinds.kindAt(b*mentorsPerBlock+slot, d.Float64())
	home := r.blockSchool(b, slot)
	homeStart := d.dayIn(date(2015, 9, 1), date(2021, 7, 31))
	var homeFinish time.Time
	if s.kind == mentorNormal && d.chance(0.15) {
		homeFinish = d.dayIn(date(2023, 1, 9), days(today, -30))
	}
	s.at[0] = atSchool{span: span{homeStart, homeFinish}, id: atSchoolID(t, 0), school: home, mentor: -1, left: !homeFinish.IsZero()}
	s.nAt = 1
	switch s.kind {
	case mentorTwoOpen:
		s.at[1] = atSchool{span: span{d.dayIn(date(2023, 9, 1), date(2025, 9, 30)), time.Time{}}, id: atSchoolID(t, 1), school: r.otherSchool(home, t), mentor: -1}
		s.nAt = 2
	case mentorClosedOverlap:
		// The same stint recorded twice by a GIAS merge, overlapping.
		s.at[1] = atSchool{span: span{days(homeStart, -d.between(100, 300)), days(homeStart, d.between(1, 40))}, id: atSchoolID(t, 1), school: home, mentor: -1}
		s.nAt = 2
	default:
		if !homeFinish.IsZero() && d.chance(0.4) {
			if next := days(homeFinish, d.between(1, 60)); !next.After(today) {
				s.at[1] = atSchool{span: span{next, time.Time{}}, id: atSchoolID(t, 1), school: r.otherSchool(home, t), mentor: -1}
				s.nAt = 2
			}
		}
	}

	s.status = []string{"Passed", "Passed", "Passed", "Passed", "Passed", "Passed", "Passed", "Passed", "Exempt", "Exempt", "None", ""}[d.IntN(12)]
	s.cohort = firstCohort + d.weighted([]int{30, 20, 18, 16, 16})
	start := latest(homeStart, d.dayIn(date(s.cohort, 9, 1), date(s.cohort, 10, 15)))
	if !homeFinish.IsZero() && !start.Before(homeFinish) {
		return // left before any training began
	}
	tp := training{span: span{start: start}, id: trainingID(t, 0), programme: "provider_led"}
	if d.chance(0.1) {
		tp.programme = "school_led"
	} else {
		tp.partnership, tp.hasPartner = r.partnershipOf(home, s.cohort, 0), true
		tp.schedule = scheduleID(s.cohort, "standard", "september")
		if d.chance(0.1) {
			tp.schedule = scheduleID(s.cohort, "replacement", "september")
		}
	}
	completion := days(start.AddDate(2, 0, 0), -d.between(0, 30))
	switch {
	case !completion.After(today) && (homeFinish.IsZero() || !completion.After(homeFinish)):
		tp.finish, tp.completed = completion, true
	case !homeFinish.IsZero():
		tp.finish = homeFinish
		if d.chance(0.5) {
			tp.withdrawnAt, tp.withdrawal = d.moment(homeFinish), "mentor_no_longer_being_mentor"
		}
	}
	s.tp, s.hasTP = tp, true
}

// ect computes early career teacher t's story into s.
func (r *rect) ect(t int, s *ectStory) {
	*s = ectStory{t: t, family: "standard", month: "september", programme: "provider_led"}
	b, pos := t/blockSize, t%blockSize
	d := r.ectDice.at(streamECT, t)
	s.kind = r.ectKinds.kindAt(b*ectsPerBlock+pos-mentorsPerBlock, d.Float64())
	if s.kind == ectMerged {
		// Its periods moved to the teacher it was merged into.
		return
	}
	normal := s.kind == ectNormal

	switch s.kind {
	case ectOverlapAtSchool, ectOverlapInduction, ectVoidResubmit, ectClawback, ectEligiblePaid:
		s.cohort = 2022 + d.IntN(2)
	case ectPaused, ectOrphanInduction, ectOrphanDeclaration:
		s.cohort = 2023 + d.IntN(2)
	case ectHandover:
		s.cohort = 2024 + d.IntN(2)
	case ectDeferred, ectDeferredWithdrawn:
		s.cohort = 2025
	case ectExpressionOfInterest:
		s.cohort = 2026
	case ectPreSeptember2021:
		s.cohort = 2021
	default:
		s.cohort = firstCohort + d.weighted([]int{14, 17, 19, 20, 22, 8})
	}
	if normal || s.kind == ectTRNless || s.kind == ectSchoolLed {
		s.month = []string{"september", "january", "april"}[d.weighted([]int{80, 12, 8})]
	}
	switch s.month {
	case "september":
		s.start = days(date(s.cohort, time.September, 1), d.between(0, 20))
	case "january":
		s.start = days(date(s.cohort+1, time.January, 4), d.between(0, 14))
	default:
		s.start = days(date(s.cohort+1, time.April, 14), d.between(0, 14))
	}
	years := 2
	switch {
	case s.kind == ectPreSeptember2021:
		s.start = d.dayIn(date(2020, 9, 1), date(2021, 4, 30))
		s.programme, years = "", 1
	case normal && d.chance(0.08):
		s.partTime, s.family, years = true, "extended", 3
	case normal && d.chance(0.03):
		s.family, years = "reduced", 1
	}
	s.completion = days(s.start.AddDate(years, 0, 0), -d.between(1, 20))
	if s.kind == ectSchoolLed || normal && d.chance(0.04) {
		s.programme = "school_led"
	}

	switch {
	case s.start.After(today):
		s.outcome = outcomeFuture
	case s.kind == ectPaused || normal && d.chance(0.06):
		s.outcome = outcomeLeft
		s.leave = d.dayIn(days(s.start, 60), days(earliest(s.completion, today), -1))
	case !s.completion.After(today):
		s.outcome, s.passed = outcomeCompleted, !(normal && d.chance(0.04))
	default:
		s.outcome = outcomeInProgress
	}
	var end time.Time // zero while ongoing
	switch s.outcome {
	case outcomeCompleted:
		end = s.completion
	case outcomeLeft:
		end = s.leave
	}

	r.ectSchools(s, d, b, pos, end, normal)
	r.ectInductions(s, d, end, normal)
	r.ectTraining(s, d, normal)
	r.ectMentorships(s, d, b, pos, normal)
}

// ectSchools lays out the at-school periods: one school, or two after a
// move (or, planted, two that overlap).
func (r *rect) ectSchools(s *ectStory, d *dice, b, pos int, end time.Time, normal bool) {
	slot := (pos - mentorsPerBlock) % mentorsPerBlock
	first := r.mentorOf(b, slot)
	s.at[0] = atSchool{span: span{s.start, end}, id: atSchoolID(s.t, 0), school: r.blockSchool(b, slot), mentor: first}
	s.nAt = 1

	last := earliest(end, today)
	if end.IsZero() {
		last = today
	}
	moves := s.kind == ectOverlapAtSchool ||
		normal && s.outcome != outcomeFuture && daysBetween(s.start, last) > 200 && d.chance(0.15)
	if !moves {
		return
	}
	move := d.dayIn(days(s.start, 120), days(last, -60))
	next := r.mentorOf(b+1, slot)
	school, mentor := r.blockSchool(b+1, slot), next
	if school == s.at[0].school {
		school, mentor = r.otherSchool(school, s.t), -1
	}
	s.at[0].finish, s.at[0].left = days(move, -1), true
	if s.kind == ectOverlapAtSchool {
		// Recorded by both schools: the old one closes the period on the
		// move day, or weeks after.
		s.touching = d.chance(0.5)
		s.at[0].finish = move
		if !s.touching {
			s.at[0].finish = days(move, d.between(7, 30))
		}
	}
	s.at[1] = atSchool{span: span{move, end}, id: atSchoolID(s.t, 1), school: school, mentor: mentor}
	s.nAt = 2
}

// clippedEnd is where training and mentoring at at-school period k stop:
// its finish, or the day before the next period starts when the school
// recorded an overlap.
func (s *ectStory) clippedEnd(k int) time.Time {
	if k+1 < s.nAt && !s.at[k].open() && !s.at[k].finish.Before(s.at[k+1].start) {
		return days(s.at[k+1].start, -1)
	}
	return s.at[k].finish
}

func (r *rect) ectInductions(s *ectStory, d *dice, end time.Time, normal bool) {
	if s.outcome == outcomeFuture {
		s.status = "RequiredToComplete"
		return
	}
	body := func(key int) int64 { return int64(1 + hashOf(r.opts.Seed, streamECT, s.t*8+key, appropriateBodyCount)) }
	in := induction{id: inductionID(s.t, 0), body: body(0), programme: "fip", training: "provider_led"}
	switch {
	case s.kind == ectPreSeptember2021:
		in.programme, in.training = "pre_september_2021", ""
		in.body = int64(appropriateBodyCount + 1 + d.IntN(2)) // known from DQT only
		in.span = span{s.start, s.completion}
	case s.programme == "school_led":
		in.programme, in.training = []string{"cip", "cip", "diy"}[d.IntN(3)], "school_led"
		fallthrough
	default:
		claim := days(s.start, d.between(0, 45))
		if claim.After(today) {
			s.status = "RequiredToComplete"
			return
		}
		if s.programme != "school_led" && d.chance(0.03) {
			in.programme, in.training = "unknown", ""
		}
		in.span = span{claim, end}
	}
	s.ind[0], s.nIn = in, 1

	switch {
	case s.kind == ectOverlapInduction:
		// A second appropriate body claimed the ECT before the first
		// released them.
		x := d.dayIn(days(in.start, 150), days(earliest(s.completion, today), -30))
		second := in
		second.id, second.body = inductionID(s.t, 1), body(1)
		second.span = span{days(x, -d.between(20, 60)), end}
		s.ind[0].finish = x
		s.ind[1], s.nIn = second, 2
	case s.nAt == 2 && s.kind == ectNormal && d.chance(0.5) && s.at[1].start.After(days(in.start, 1)):
		// The move changed appropriate body.
		second := in
		second.id, second.body = inductionID(s.t, 1), body(1)
		second.span = span{s.at[1].start, end}
		s.ind[0].finish = days(s.at[1].start, -1)
		s.ind[1], s.nIn = second, 2
	}
	for k := range s.ind[:s.nIn] {
		if in := &s.ind[k]; !in.open() {
			in.terms = termsBetween(in.start, in.finish)
		}
	}
	last := &s.ind[s.nIn-1]
	switch s.outcome {
	case outcomeCompleted:
		last.outcome = "pass"
		s.status = "Passed"
		last.terms = []float64{6, 6, 6, 6, 5.5, 6.5}[d.IntN(6)]
		switch {
		case s.partTime:
			last.terms = 9
		case s.family == "reduced", s.kind == ectPreSeptember2021:
			last.terms = 3
		}
		if !s.passed {
			last.outcome, s.status = "fail", "Failed"
			if notice := days(last.finish, d.between(7, 20)); !notice.After(today) {
				last.failNoticeOn = notice
			}
		}
	default:
		// Left teaching too: TRS still says InProgress, with no open
		// induction, which RECT shows as "induction paused".
		s.status = "InProgress"
	}
	if s.kind == ectOrphanInduction {
		s.ind[s.nIn] = induction{
			id: inductionID(s.t, s.nIn), orphan: true, body: body(2), programme: "fip", training: "provider_led",
			span: span{days(in.start, -400), days(in.start, -220)}, terms: 1.5,
		}
		s.nIn++
	}
}

// termsBetween is the number of school terms a finished induction lasted,
// to the half term, as appropriate bodies record it.
func termsBetween(from, to time.Time) float64 {
	return math.Round(float64(daysBetween(from, to))/121.7*2) / 2
}

func (r *rect) ectTraining(s *ectStory, d *dice, normal bool) {
	if s.programme == "" {
		return
	}
	schedule := scheduleID(s.cohort, s.family, s.month)
	add := func(tp training) *training {
		tp.id = trainingID(s.t, s.nTP)
		s.tp[s.nTP] = tp
		s.nTP++
		return &s.tp[s.nTP-1]
	}
	for k := range s.at[:s.nAt] {
		a := &s.at[k]
		base := training{span: span{a.start, s.clippedEnd(k)}, at: k, programme: s.programme}
		if s.programme == "provider_led" {
			base.partnership, base.hasPartner, base.schedule = r.partnershipOf(a.school, s.cohort, 0), true, schedule
		}
		if s.kind == ectExpressionOfInterest {
			// The school named a lead provider, who has not confirmed yet.
			base.interest, base.hasPartner = base.partnership.alp, false
		}
		if k > 0 || s.programme != "provider_led" {
			r.finishTraining(s, d, add(base))
			continue
		}

		last := earliest(base.until(), today)
		room := daysBetween(a.start, last) > 150
		event := 0 // none, change lead provider, defer
		switch {
		case s.kind == ectHandover:
			event = 1
		case s.kind == ectDeferred || s.kind == ectDeferredWithdrawn:
			event = 2
		case normal && room:
			event = d.weighted([]int{80, 15, 5})
			if event == 2 && (s.outcome != outcomeInProgress || !base.open()) {
				event = 0
			}
		}
		switch event {
		case 1:
			change := d.dayIn(days(a.start, 90), days(last, -30))
			old := base
			old.finish = days(change, -1)
			if s.kind == ectHandover {
				old.finish = change // both providers claim the change day
			} else if d.chance(0.5) {
				old.withdrawnAt, old.withdrawal = d.moment(old.finish), "changed_lead_provider"
			}
			add(old)
			moved := base
			moved.start, moved.partnership = change, r.partnershipOf(a.school, s.cohort, 1)
			r.finishTraining(s, d, add(moved))
		case 2:
			deferred := d.dayIn(days(a.start, 60), days(today, -20))
			tp := base
			tp.finish, tp.deferredAt = deferred, d.moment(deferred)
			tp.deferral = []string{"bereavement", "long_term_sickness", "parental_leave", "parental_leave", "career_break", "other"}[d.IntN(6)]
			if s.kind == ectDeferredWithdrawn {
				tp.withdrawnAt = earliest(d.moment(days(deferred, d.between(20, 90))), asOf)
				tp.withdrawal = []string{"left_teaching_profession", "other"}[d.IntN(2)]
			}
			add(tp)
			if normal && d.chance(0.6) {
				if back := days(deferred, d.between(30, 120)); back.Before(today) {
					resumed := base
					resumed.start = back
					r.finishTraining(s, d, add(resumed))
				}
			}
		default:
			r.finishTraining(s, d, add(base))
		}
	}
}

// finishTraining marks how the last training of an at-school period ends.
func (r *rect) finishTraining(s *ectStory, d *dice, tp *training) {
	switch {
	case s.outcome == outcomeLeft && !tp.open() && tp.finish.Equal(s.leave):
		tp.withdrawnAt, tp.withdrawal = d.moment(s.leave), "left_teaching_profession"
	case s.outcome == outcomeCompleted && !tp.open() && tp.finish.Equal(s.completion):
		tp.completed = true
	}
}

// ectMentorships pairs each at-school period with the school's mentor for
// as long as both are there, switching to the school's other mentor when
// the first leaves or, now and then, for no recorded reason.
func (r *rect) ectMentorships(s *ectStory, d *dice, b, pos int, normal bool) {
	var m, other mentorStory
	slot := (pos - mentorsPerBlock) % mentorsPerBlock
	for k := range s.at[:s.nAt] {
		a := &s.at[k]
		if a.mentor < 0 {
			continue
		}
		r.mentor(a.mentor, r.mentorLookupDice, &m)
		home := m.at[0]
		ectSpan := span{a.start, s.clippedEnd(k)}
		first := overlapOf(span{days(a.start, d.between(0, 20)), ectSpan.finish}, home.span)
		if first.start.After(first.until()) || first.start.Before(a.start) {
			continue
		}
		ms := mentorship{span: first, id: mentorshipID(a.id, 0), at: k, mentorPeriod: home.id}
		s.ms[s.nMS] = ms
		s.nMS++
		if slot == 2 || !normal {
			continue // the third mentor has no colleague at the school
		}
		r.mentor(r.mentorOf(a.mentor/blockSize, 1-slot), r.mentorLookupDice, &other)
		switch_ := time.Time{}
		switch {
		case !home.open() && home.finish.Before(ectSpan.until()):
			switch_ = days(home.finish, 1)
		case d.chance(0.25):
			switch_ = d.dayIn(days(first.start, 60), days(earliest(first.until(), today), -30))
		}
		if switch_.IsZero() || !switch_.After(days(first.start, 30)) || switch_.After(today) {
			continue
		}
		second := overlapOf(span{switch_, ectSpan.finish}, other.at[0].span)
		if !second.start.Equal(switch_) || second.start.After(second.until()) {
			continue
		}
		s.ms[s.nMS-1].finish = days(switch_, -1)
		s.ms[s.nMS] = mentorship{span: second, id: mentorshipID(a.id, 1), at: k, mentorPeriod: other.at[0].id}
		s.nMS++
	}
}

// overlapOf is the intersection of two spans (possibly empty: start after
// until).
func overlapOf(a, b span) span {
	out := span{start: latest(a.start, b.start)}
	switch {
	case a.open() && b.open():
	case a.open():
		out.finish = b.finish
	case b.open():
		out.finish = a.finish
	default:
		out.finish = earliest(a.finish, b.finish)
	}
	return out
}
