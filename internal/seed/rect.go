package seed

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// rect generates Register early career teachers: the provider and school
// reference data, teachers, their five kinds of periods and declarations.
//
// Teachers come in blocks of ten: the first three of a block are mentors,
// the other seven early career teachers (ECTs) mentored by them at their
// schools. Each teacher's whole story is a pure function of the seed and
// the teacher's index, and period ids are laid out in fixed strides per
// teacher (ids have gaps, as real ones do), so that every period table can
// be generated on its own and still point at the right parents.
type rect struct {
	opts             Options
	blocks           int
	teachers         int
	gias             int
	schools          int
	deliveryPartners int
	ectKinds         planter
	mentorKinds      planter
	counts           counter

	// Running ids of tables nothing points at.
	declarationID, milestoneID, teacherIDChangeID, adjustmentID, eventID int64
	// Each teacher's declarations, by the running id of its first one and
	// how many: the events name them.
	declFirst []int64
	declCount []int32

	// One dice per purpose, so that a story reading another (an ECT
	// reading its mentor's) does not disturb its own sequence.
	refDice, teacherDice, ectDice, mentorDice, mentorLookupDice, periodDice, declarationDice, eventDice *dice
}

const (
	blockSize       = 10
	mentorsPerBlock = 3
	ectsPerBlock    = blockSize - mentorsPerBlock

	firstCohort = 2021
	lastCohort  = 2026
	cohorts     = lastCohort - firstCohort + 1

	leadProviderCount       = 8
	partnershipsPerProvider = 3 // delivery partners per active lead provider
	statementsPerContract   = 36

	// Most periods one teacher can have of each kind: the id strides.
	atSchoolStride   = 3
	inductionStride  = 3
	trainingStride   = 6
	mentorshipStride = 2 // per ECT at-school period

	appropriateBodyCount       = 12
	appropriateBodyPeriodCount = appropriateBodyCount + 2 // two legacy ones
	userCount                  = 6
)

func newRect(opts Options) *rect {
	r := &rect{opts: opts, counts: counter{}}
	r.blocks = max(scaled(70, opts.Scale), 4)
	r.teachers = r.blocks * blockSize
	r.schools = clamp(scaled(100, opts.Scale), 12, 24000)
	r.gias = r.schools + r.schools/5
	r.deliveryPartners = clamp(scaled(25, opts.Scale), 6, 3000)
	r.ectKinds = planter{n: r.blocks * ectsPerBlock, probs: ectKindProbs}
	r.mentorKinds = planter{n: r.blocks * mentorsPerBlock, probs: mentorKindProbs}
	for _, d := range []**dice{&r.refDice, &r.teacherDice, &r.ectDice, &r.mentorDice, &r.mentorLookupDice, &r.periodDice, &r.declarationDice, &r.eventDice} {
		*d = newDice(opts.Seed)
	}
	return r
}

func (r *rect) prepare(context.Context, pgx.Tx) error { return nil }

func (r *rect) tables() []table {
	return []table{
		{name: "users", columns: userColumns, units: userCount, unit: r.user},
		{name: "dfe_sign_in_organisations", columns: organisationColumns, units: appropriateBodyCount, unit: r.organisation},
		{name: "appropriate_bodies", columns: appropriateBodyColumns, units: appropriateBodyCount, unit: r.appropriateBody},
		{name: "appropriate_body_periods", columns: appropriateBodyPeriodColumns, units: appropriateBodyPeriodCount, unit: r.appropriateBodyPeriod},
		{name: "gias_schools", columns: giasColumns, units: r.gias, unit: r.giasSchool},
		{name: "contract_periods", columns: contractPeriodColumns, units: cohorts, unit: r.contractPeriod},
		{name: "lead_providers", columns: leadProviderColumns, units: leadProviderCount, unit: r.leadProvider},
		{name: "schools", columns: rectSchoolColumns, units: r.schools, unit: r.school},
		{name: "delivery_partners", columns: deliveryPartnerColumns, units: r.deliveryPartners, unit: r.deliveryPartner},
		{name: "active_lead_providers", columns: activeLeadProviderColumns, units: leadProviderCount * cohorts, unit: r.activeLeadProvider},
		{name: "lead_provider_delivery_partnerships", columns: lpdpColumns, units: leadProviderCount * cohorts * partnershipsPerProvider, unit: r.lpdp},
		{name: "school_partnerships", columns: schoolPartnershipColumns, units: r.schools * cohorts * 2, unit: r.schoolPartnership},
		{name: "schedules", columns: scheduleColumns, units: cohorts * len(scheduleIdentifiers), unit: r.schedule},
		{name: "milestones", columns: milestoneColumns, units: cohorts * len(scheduleIdentifiers), unit: r.milestones},
		{name: "contracts", columns: contractColumns, units: leadProviderCount * cohorts, unit: r.contract},
		{name: "statements", columns: statementColumns, units: leadProviderCount * cohorts * statementsPerContract, unit: r.statement},
		{name: "contract_banded_fee_structures", columns: bandedFeeStructureColumns, units: leadProviderCount * cohorts, unit: r.bandedFeeStructure},
		{name: "contract_banded_fee_structure_band_terms", columns: bandTermColumns, units: leadProviderCount * cohorts, unit: r.bandTerms},
		{name: "contract_flat_rate_fee_structures", columns: flatRateFeeStructureColumns, units: flatRateFeeStructures, unit: r.flatRateFeeStructure},
		{name: "statement_adjustments", columns: statementAdjustmentColumns, units: leadProviderCount * cohorts * statementsPerContract, unit: r.statementAdjustments},
		{name: "teachers", columns: teacherColumns, units: r.teachers, unit: r.teacher},
		{name: "teacher_id_changes", columns: teacherIDChangeColumns, units: r.teachers, unit: r.teacherIDChange},
		{name: "ect_at_school_periods", columns: ectAtSchoolColumns, units: r.teachers, unit: r.ectAtSchoolRows},
		{name: "mentor_at_school_periods", columns: mentorAtSchoolColumns, units: r.teachers, unit: r.mentorAtSchoolRows},
		{name: "mentorship_periods", columns: mentorshipColumns, units: r.teachers, unit: r.mentorshipRows},
		{name: "induction_periods", columns: inductionColumns, units: r.teachers, unit: r.inductionRows},
		{name: "training_periods", columns: trainingColumns, units: r.teachers, unit: r.trainingRows},
		{name: "declarations", columns: declarationColumns, units: r.teachers, unit: r.declarationRows},
		{name: "events", columns: eventColumns, units: r.teachers, unit: r.eventRows},
	}
}

func (r *rect) planted() map[string]int64 {
	out := r.counts.copy()
	for _, k := range []string{
		PlantedTRNlessTeachers, PlantedMergedTeachers, PlantedOverlappingECTAtSchool, PlantedOverlappingInduction,
		PlantedOverlappingMentorAtSchool, PlantedOverlappingTraining, PlantedSingleDayOverlaps,
		PlantedTwoOpenMentorPeriods, PlantedOpenPeriods, PlantedPausedInductions, PlantedOrphanInductionPeriods,
		PlantedPreSeptember2021Inductions, PlantedDeferredTraining, PlantedWithdrawnTraining,
		PlantedDeferredAndWithdrawnTraining, PlantedSchoolLedTraining, PlantedExpressionOfInterestOnly,
		PlantedVoidedDeclarations, PlantedVoidedThenResubmitted, PlantedAwaitingClawback, PlantedClawedBack,
		PlantedEligibleAndPaidSameType, PlantedDeclarationsWithoutTraining, PlantedNullMilestoneDates,
		PlantedGenericPeriodEmails, PlantedOverPreciseAdjustments,
	} {
		out[k] += 0 // a kind planted zero times still has its key
	}
	return out
}

// isMentor reports whether teacher t (0-based) is one of its block's mentors.
func isMentor(t int) bool { return t%blockSize < mentorsPerBlock }

// mentorOf returns the teacher index of mentor slot m (0..2) of block b.
func (r *rect) mentorOf(b, m int) int {
	return ((b%r.blocks)+r.blocks)%r.blocks*blockSize + m
}

// The id layout. Teacher t (0-based) has id t+1 and owns a fixed range of
// ids in each period table.

func teacherID(t int) int64 { return int64(t + 1) }

func atSchoolID(t, k int) int64 { return int64(t*atSchoolStride + k + 1) }

func inductionID(t, k int) int64 { return int64(t*inductionStride + k + 1) }

func trainingID(t, k int) int64 { return int64(t*trainingStride + k + 1) }

func mentorshipID(atSchool int64, k int) int64 { return (atSchool-1)*mentorshipStride + int64(k) + 1 }

// activeLeadProviderID is lead provider lp (0-based) in cohort year; its
// contract has the same id.
func activeLeadProviderID(lp, year int) int64 {
	return int64(lp*cohorts + (year - firstCohort) + 1)
}

// lpdpID is the k-th (0..2) delivery partnership of an active lead provider.
func lpdpID(alp int64, k int) int64 { return (alp-1)*partnershipsPerProvider + int64(k) + 1 }

// deliveryPartnerOf is the delivery partner of a delivery partnership: the
// three of one lead provider are distinct as long as there are three.
func (r *rect) deliveryPartnerOf(lpdp int64) int64 {
	return (lpdp-1)%int64(r.deliveryPartners) + 1
}

// partnership is school s's partnership with a lead provider for a cohort:
// every school has a usual one (alt 0) and another to move to (alt 1).
type partnership struct {
	id           int64
	leadProvider int
	alp, lpdp    int64
	partner      int64 // delivery partner id
}

func (r *rect) partnershipOf(s, year, alt int) partnership {
	key := s*cohorts + year - firstCohort
	lp := hashOf(r.opts.Seed, streamPartnership, key, leadProviderCount)
	if alt == 1 {
		lp = (lp + 1 + hashOf(r.opts.Seed, streamPartnership, key+1<<40, leadProviderCount-1)) % leadProviderCount
	}
	alp := activeLeadProviderID(lp, year)
	lpdp := lpdpID(alp, hashOf(r.opts.Seed, streamPartnership, (key*2+alt)+1<<41, partnershipsPerProvider))
	return partnership{
		id:           int64(key*2+alt) + 1,
		leadProvider: lp,
		alp:          alp,
		lpdp:         lpdp,
		partner:      r.deliveryPartnerOf(lpdp),
	}
}

// statementFor is the statement of contract alp (cohort year) that pays a
// declaration made on day: the next month's, within the contract's run.
func statementFor(alp int64, year int, day time.Time) int64 {
	k := (day.Year()*12 + int(day.Month()) - 1) - (year*12 + int(time.November) - 1) + 1
	k = clamp(k, 0, statementsPerContract-1)
	return (alp-1)*statementsPerContract + int64(k) + 1
}

// statementDates are the deadline and payment date of statement k of a
// cohort year's contract: monthly from the November of the cohort year.
func statementDates(year, k int) (month, yr int, deadline, payment time.Time) {
	m := year*12 + int(time.November) - 1 + k
	yr, month = m/12, m%12+1
	payment = date(yr, time.Month(month), 25)
	deadline = date(yr, time.Month(month), 1).AddDate(0, 0, -1)
	return month, yr, deadline, payment
}
