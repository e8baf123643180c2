package seed

import "time"

// periodStamps returns created_at and updated_at of a period: rows older
// than RECT arrived with the migration from the ECF service; later ones
// were made when the school registered them, a little before they began.
func periodStamps(d *dice, s span) (created, updated time.Time) {
	if s.start.Before(rectLaunch) {
		created = d.moment(days(rectLaunch, d.IntN(5)))
	} else {
		created = d.moment(latest(rectLaunch, days(s.start, -d.between(3, 60))))
	}
	created = earliest(created, asOf.Add(-time.Hour))
	if s.open() || !s.finish.After(created) {
		updated = d.moment(d.dayIn(created.Truncate(24*time.Hour), today))
	} else {
		updated = d.moment(days(s.finish, d.between(0, 10)))
	}
	return created, latest(created, earliest(updated, asOf))
}

// migratedIDs are the ECF induction records a migrated period came from.
func migratedIDs(d *dice, s span) (start, end any) {
	if !s.start.Before(rectLaunch) || d.chance(0.05) {
		return nil, nil
	}
	start = d.uuid()
	if !s.open() && s.finish.Before(rectLaunch) {
		end = d.uuid()
	}
	return start, end
}

// periodEmail is the address a school gave for the teacher: their own,
// none, or now and then the school's shared mailbox.
func (r *rect) periodEmail(d *dice, t int, p person) any {
	switch n := d.IntN(100); {
	case n < 6:
		r.counts.inc(PlantedGenericPeriodEmails)
		return sharedMailboxes[d.IntN(len(sharedMailboxes))]
	case n < 25:
		return nil
	}
	return p.first.ascii + "." + p.last.ascii + itoa(t) + "@" + p.domain
}

func (r *rect) countOpen(s span) {
	if s.open() {
		r.counts.inc(PlantedOpenPeriods)
	}
}

var ectAtSchoolColumns = []string{
	"id", "teacher_id", "school_id", "started_on", "finished_on", "email", "working_pattern",
	"school_reported_appropriate_body_id", "reported_leaving_by_school_id", "ecf_start_induction_record_id",
	"ecf_end_induction_record_id", "created_at", "updated_at",
}

func (r *rect) ectAtSchoolRows(t int, b *rowBuf) {
	if isMentor(t) {
		return
	}
	var s ectStory
	r.ect(t, &s)
	if s.kind == ectOverlapAtSchool {
		r.counts.inc(PlantedOverlappingECTAtSchool)
		if s.touching {
			r.counts.inc(PlantedSingleDayOverlaps)
		}
	}
	p := r.person(t)
	for _, a := range s.at[:s.nAt] {
		d := r.periodDice.at(streamAtSchoolRow, int(a.id))
		r.countOpen(a.span)
		var pattern, body, leaving any = "full_time", nil, nil
		switch {
		case d.chance(0.08):
			pattern = nil
		case s.partTime:
			pattern = "part_time"
		}
		if d.chance(0.85) {
			body = int64(1 + d.IntN(appropriateBodyPeriodCount))
		}
		if a.left && d.chance(0.7) {
			leaving = int64(a.school + 1)
		}
		startID, endID := migratedIDs(d, a.span)
		created, updated := periodStamps(d, a.span)
		b.add(a.id, teacherID(t), int64(a.school+1), a.start, nullTime(a.finish), r.periodEmail(d, t, p), pattern,
			body, leaving, startID, endID, created, updated)
	}
}

var mentorAtSchoolColumns = []string{
	"id", "teacher_id", "school_id", "started_on", "finished_on", "email", "reported_leaving_by_school_id",
	"ecf_start_induction_record_id", "ecf_end_induction_record_id", "created_at", "updated_at",
}

func (r *rect) mentorAtSchoolRows(t int, b *rowBuf) {
	if !isMentor(t) {
		return
	}
	var m mentorStory
	r.mentor(t, r.mentorDice, &m)
	switch m.kind {
	case mentorTwoOpen:
		r.counts.inc(PlantedTwoOpenMentorPeriods)
		r.counts.inc(PlantedOverlappingMentorAtSchool)
	case mentorClosedOverlap:
		r.counts.inc(PlantedOverlappingMentorAtSchool)
	}
	p := r.person(t)
	for _, a := range m.at[:m.nAt] {
		d := r.periodDice.at(streamAtSchoolRow, int(a.id))
		r.countOpen(a.span)
		var leaving any
		if a.left && d.chance(0.7) {
			leaving = int64(a.school + 1)
		}
		startID, endID := migratedIDs(d, a.span)
		created, updated := periodStamps(d, a.span)
		b.add(a.id, teacherID(t), int64(a.school+1), a.start, nullTime(a.finish), r.periodEmail(d, t, p),
			leaving, startID, endID, created, updated)
	}
}

var mentorshipColumns = []string{
	"id", "ect_at_school_period_id", "mentor_at_school_period_id", "started_on", "finished_on",
	"ecf_start_induction_record_id", "ecf_end_induction_record_id", "created_at", "updated_at",
}

func (r *rect) mentorshipRows(t int, b *rowBuf) {
	if isMentor(t) {
		return
	}
	var s ectStory
	r.ect(t, &s)
	for _, ms := range s.ms[:s.nMS] {
		d := r.periodDice.at(streamMentorshipRow, int(ms.id))
		r.countOpen(ms.span)
		startID, endID := migratedIDs(d, ms.span)
		created, updated := periodStamps(d, ms.span)
		b.add(ms.id, s.at[ms.at].id, ms.mentorPeriod, ms.start, nullTime(ms.finish), startID, endID, created, updated)
	}
}

var inductionColumns = []string{
	"id", "teacher_id", "appropriate_body_period_id", "started_on", "finished_on", "induction_programme",
	"training_programme", "number_of_terms", "outcome", "fail_confirmation_sent_on", "created_at", "updated_at",
}

func (r *rect) inductionRows(t int, b *rowBuf) {
	if isMentor(t) {
		return
	}
	var s ectStory
	r.ect(t, &s)
	if s.kind == ectOverlapInduction {
		r.counts.inc(PlantedOverlappingInduction)
	}
	for _, in := range s.ind[:s.nIn] {
		d := r.periodDice.at(streamInductionRow, int(in.id))
		r.countOpen(in.span)
		var teacher, terms any = teacherID(t), nil
		if in.orphan {
			teacher = nil
			r.counts.inc(PlantedOrphanInductionPeriods)
		}
		if !in.open() {
			terms = in.terms
		}
		if in.programme == "pre_september_2021" {
			r.counts.inc(PlantedPreSeptember2021Inductions)
		}
		created, updated := periodStamps(d, in.span)
		b.add(in.id, teacher, in.body, in.start, nullTime(in.finish), in.programme,
			nullString(in.training), terms, nullString(in.outcome), nullTime(in.failNoticeOn), created, updated)
	}
}

var trainingColumns = []string{
	"id", "ect_at_school_period_id", "mentor_at_school_period_id", "school_partnership_id", "expression_of_interest_id",
	"schedule_id", "training_programme", "started_on", "finished_on", "deferred_at", "deferral_reason",
	"withdrawn_at", "withdrawal_reason", "ecf_start_induction_record_id", "ecf_end_induction_record_id",
	"api_transfer_updated_at", "created_at", "updated_at",
}

func (r *rect) trainingRows(t int, b *rowBuf) {
	if isMentor(t) {
		var m mentorStory
		r.mentor(t, r.mentorDice, &m)
		if m.hasTP {
			r.trainingRow(b, &m.tp, nil, m.at[0].id)
		}
		return
	}
	var s ectStory
	r.ect(t, &s)
	if s.kind == ectHandover {
		r.counts.inc(PlantedOverlappingTraining)
		r.counts.inc(PlantedSingleDayOverlaps)
	}
	for k := range s.tp[:s.nTP] {
		tp := &s.tp[k]
		r.trainingRow(b, tp, s.at[tp.at].id, nil)
	}
}

func (r *rect) trainingRow(b *rowBuf, tp *training, ectPeriod, mentorPeriod any) {
	d := r.periodDice.at(streamTrainingRow, int(tp.id))
	r.countOpen(tp.span)
	switch {
	case !tp.deferredAt.IsZero() && !tp.withdrawnAt.IsZero():
		r.counts.inc(PlantedDeferredAndWithdrawnTraining)
	case !tp.deferredAt.IsZero():
		r.counts.inc(PlantedDeferredTraining)
	case !tp.withdrawnAt.IsZero():
		r.counts.inc(PlantedWithdrawnTraining)
	}
	if tp.programme == "school_led" {
		r.counts.inc(PlantedSchoolLedTraining)
	}
	var partnershipID, interest, schedule any
	if tp.hasPartner {
		partnershipID = tp.partnership.id
	}
	if tp.interest != 0 {
		interest = tp.interest
		if !tp.hasPartner {
			r.counts.inc(PlantedExpressionOfInterestOnly)
		}
	}
	if tp.schedule != 0 {
		schedule = tp.schedule
	}
	startID, endID := migratedIDs(d, tp.span)
	created, updated := periodStamps(d, tp.span)
	for _, at := range []time.Time{tp.deferredAt, tp.withdrawnAt} {
		if !at.IsZero() {
			updated = latest(updated, earliest(at.Add(time.Minute), asOf))
		}
	}
	// Lead-provider transfers bump this column without touching updated_at.
	var transfer any = latest(updated, earliest(updated.Add(time.Duration(d.Int64N(int64(240*time.Hour)))), asOf))
	if d.chance(0.03) {
		transfer = nil
	}
	b.add(tp.id, ectPeriod, mentorPeriod, partnershipID, interest,
		schedule, tp.programme, tp.start, nullTime(tp.finish), nullTime(tp.deferredAt), nullString(tp.deferral),
		nullTime(tp.withdrawnAt), nullString(tp.withdrawal), startID, endID,
		transfer, created, updated)
}
