package seed

import "time"

var teacherColumns = []string{
	"id", "trn", "trnless", "trs_first_name", "trs_last_name", "corrected_name", "trs_induction_status",
	"trs_induction_start_date", "trs_induction_completed_date", "trs_qts_awarded_on", "trs_qts_status_description",
	"trs_initial_teacher_training_provider_name", "trs_initial_teacher_training_end_date", "trs_data_last_refreshed_at",
	"trs_response", "trs_redirected_to", "api_id", "api_ect_training_record_id", "api_mentor_training_record_id",
	"ect_first_became_eligible_for_training_at", "mentor_first_became_eligible_for_training_at",
	"ect_became_ineligible_for_funding_on", "mentor_became_ineligible_for_funding_on",
	"mentor_became_ineligible_for_funding_reason", "ect_payments_frozen_year", "mentor_payments_frozen_year",
	"migration_mode", "anonymised_at", "anonymisation_reason", "api_updated_at", "api_unfunded_mentor_updated_at",
	"created_at", "updated_at",
}

// person is who teacher t is; period emails are built from it too.
type person struct {
	apiID, ectRecord, mentorRecord [16]byte
	first, last                    name
	domain                         string
}

// person draws teacher t's identity, always first in the teacher's
// stream, so that every table derives the same one.
func (r *rect) person(t int) person {
	d := r.teacherDice.at(streamTeacher, t)
	return person{
		apiID: d.uuid(), ectRecord: d.uuid(), mentorRecord: d.uuid(),
		first: firstNames[d.IntN(len(firstNames))], last: lastNames[d.IntN(len(lastNames))],
		domain: d.pick(emailDomains),
	}
}

// teacherTRN is teacher t's TRN: seven digits, distinct per teacher, as
// RECT's unique index requires.
func (r *rect) teacherTRN(t int) string {
	offset := int(mix64(uint64(r.opts.Seed)^0x5ec7) % 9000000)
	return itoa(1000000 + (offset+t*7654319)%9000000)
}

// mergedInto is the teacher a merged teacher's record went to: a
// neighbour in the same block.
func mergedInto(t int) int {
	if t%blockSize == blockSize-1 {
		return t - 1
	}
	return t + 1
}

var ittProviders = []string{
	"University of Leeds", "Bath Spa University", "Manchester Metropolitan University", "Sheffield Hallam University",
	"Teach First", "Kent and Medway Training SCITT", "UCL Institute of Education", "Ambition Institute",
	"Leeds Trinity University", "The University of Birmingham", "Essex and Thames Primary SCITT", "Teacher Training (Wales)",
}

func (r *rect) teacher(t int, b *rowBuf) {
	p := r.person(t)
	d := r.teacherDice // continues the person's stream
	var (
		ect    ectStory
		mentor mentorStory
	)
	mentorRole := isMentor(t)
	if mentorRole {
		r.mentor(t, r.mentorDice, &mentor)
	} else {
		r.ect(t, &ect)
	}

	var trn any = r.teacherTRN(t)
	trnless := false
	var first, last, corrected any = p.first.written, p.last.written, nil
	var anonymisedAt, anonymisation any
	if d.chance(0.02) {
		corrected = p.first.written + " " + lastNames[d.IntN(len(lastNames))].written
	}
	switch {
	case !mentorRole && ect.kind == ectTRNless:
		trn, trnless = nil, true
	case !mentorRole && ect.kind == ectMerged:
		trn, trnless, first, last, corrected = nil, true, nil, nil, nil
		anonymisedAt, anonymisation = d.moment(d.dayIn(date(2025, 10, 1), date(2026, 7, 31))), "teacher_record_merged"
		r.counts.inc(PlantedMergedTeachers)
	}
	if trn == nil {
		r.counts.inc(PlantedTRNlessTeachers)
	}

	// TRS facts: qualified teacher status comes before induction.
	var status, inductionStart, inductionDone, qts, qtsDesc, ittProvider, ittEnd, refreshed, response any
	var ectEligible, mentorEligible, ectIneligible, mentorIneligible, mentorReason, ectFrozen, mentorFrozen any
	started := ect.start
	if mentorRole {
		started = date(2015+d.IntN(7), time.September, 1)
	}
	if !started.IsZero() {
		q := days(started, -d.between(20, 120))
		qts, ittEnd = q, days(q, -d.between(0, 30))
		qtsDesc = []any{"Qualified teacher (trained)", "Qualified teacher (trained)", "Qualified teacher (trained)", "Qualified teacher: by virtue of overseas qualifications", "Qualified teacher (assessment only route)", nil}[d.IntN(6)]
		ittProvider = nullString(d.pick(ittProviders))
	}
	if trn != nil {
		refreshed = asOf.Add(-time.Duration(d.Int64N(int64(30 * 24 * time.Hour))))
		response = "ok"
		if d.chance(0.08) {
			response = nil // not refreshed since the column arrived
		}
	}

	created := d.moment(d.dayIn(rectLaunch, days(rectLaunch, 5)))
	migration := any("latest_induction_records")
	switch {
	case mentorRole:
		status = nullString(mentor.status)
		if mentor.status == "Passed" {
			inductionStart, inductionDone = started, days(started.AddDate(1, 0, 0), -d.between(1, 40))
		}
		if mentor.hasTP {
			if mentor.cohort <= 2022 && !mentor.tp.completed {
				mentorFrozen = int32(mentor.cohort)
			}
			mentorEligible = d.moment(mentor.tp.start)
			if mentor.tp.completed {
				mentorIneligible, mentorReason = mentor.tp.finish, "completed_declaration_received"
				if mentor.cohort == firstCohort && d.chance(0.3) {
					mentorReason = "completed_during_early_roll_out"
				}
			} else if !mentor.tp.open() {
				mentorIneligible, mentorReason = mentor.tp.finish, "started_not_completed"
			}
		}
		if d.chance(0.3) {
			migration = "all_induction_records"
		}
	case ect.kind == ectMerged:
		qts, ittEnd, qtsDesc, ittProvider = nil, nil, nil, nil
	default:
		status = ect.status
		if ect.nIn > 0 {
			inductionStart = ect.ind[0].start
		}
		if ect.outcome == outcomeCompleted {
			inductionDone = ect.completion
			if d.chance(0.5) {
				ectIneligible = ect.completion
			}
		}
		if ect.programme == "provider_led" && ect.outcome != outcomeFuture {
			ectEligible = d.moment(ect.start)
		}
		if ect.cohort <= 2022 && ect.outcome == outcomeLeft {
			ectFrozen = int32(ect.cohort) // payments of an unfinished, closed cohort
		}
		if ect.start.After(rectLaunch) {
			migration = "not_migrated"
			created = d.moment(latest(rectLaunch, days(ect.start, -d.between(5, 60))))
		}
		if status == "InProgress" && !ect.hasOpenInduction() {
			r.counts.inc(PlantedPausedInductions)
		}
	}
	if d.chance(0.02) {
		migration = nil
	}
	created = earliest(created, asOf)
	updated := earliest(d.moment(d.dayIn(created, today)), asOf)
	updated = latest(updated, created)
	if at, ok := anonymisedAt.(time.Time); ok {
		updated = latest(updated, at)
	}
	apiUpdated := latest(updated, earliest(updated.Add(time.Duration(d.Int64N(int64(72*time.Hour)))), asOf))
	var unfunded any = created
	if d.chance(0.1) {
		unfunded = nil
	}
	// When TRS merges two records of a person, the retired TRN answers
	// with a permanent redirect to the one kept.
	var redirectedTo any
	if response == "ok" && (d.chance(0.005) || t == 5) {
		response, redirectedTo = "permanent_redirect", itoa(1000000+int(mix64(uint64(r.opts.Seed)^uint64(t))%9000000))
	}
	b.add(teacherID(t), trn, trnless, first, last, corrected, status,
		inductionStart, inductionDone, qts, qtsDesc,
		ittProvider, ittEnd, refreshed,
		response, redirectedTo, p.apiID, p.ectRecord, p.mentorRecord,
		ectEligible, mentorEligible,
		ectIneligible, mentorIneligible,
		mentorReason, ectFrozen, mentorFrozen,
		migration, anonymisedAt, anonymisation, rarelyNull(t, apiUpdated), unfunded,
		created, updated)
}

var teacherIDChangeColumns = []string{"id", "teacher_id", "api_from_teacher_id", "api_to_teacher_id", "ecf_id", "created_at", "updated_at"}

// teacherIDChange records, for a merged teacher, that API clients should
// follow its id to the teacher it was merged into.
func (r *rect) teacherIDChange(t int, b *rowBuf) {
	if isMentor(t) {
		return
	}
	var s ectStory
	r.ect(t, &s)
	if s.kind != ectMerged {
		return
	}
	into := mergedInto(t)
	from, to := r.person(t).apiID, r.person(into).apiID
	d := r.periodDice.at(streamTeacher, 1<<40+t)
	r.teacherIDChangeID++
	created := d.moment(d.dayIn(date(2025, 10, 1), date(2026, 7, 31)))
	var ecf any
	if d.chance(0.5) {
		ecf = d.uuid()
	}
	b.add(r.teacherIDChangeID, teacherID(into), from, to, ecf, created, created)
}
