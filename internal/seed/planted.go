package seed

// Keys of Summary.Planted. Each is defined by the fact a query would find in
// the seeded database, and the count is exactly what that query returns:
// nothing outside the planted rows satisfies it by accident.
const (
	// register

	// Distinct trainees.trn values held by more than one trainee (a person
	// registered twice; the original and the duplicate share the TRN).
	PlantedDuplicateTRNs = "duplicate_trns"
	// Distinct trainees.email values held by more than one trainee: shared
	// mailboxes (office@…) and duplicates that kept the original's email.
	PlantedSharedEmails = "shared_emails"
	// Trainees with discarded_at set.
	PlantedSoftDeletedTrainees = "soft_deleted_trainees"
	// Trainees with state NULL.
	PlantedNullStateTrainees = "null_state_trainees"
	// Trainees with training_route NULL.
	PlantedNullRouteTrainees = "null_training_route_trainees"
	// Trainees whose every nullable column is NULL.
	PlantedAllNullTrainees = "all_null_trainees"
	// Trainees with progress and submission_ready NULL (the all-null ones
	// included): both are nullable in Register, and imported records
	// have them NULL.
	PlantedNullProgressTrainees = "null_progress_trainees"
	// Trainees whose last name is Latin-1 bytes, not UTF-8: only in a
	// SQL_ASCII database, which takes them (a UTF-8 one refuses them).
	PlantedNonUTF8Trainees = "non_utf8_trainees"
	// Trainees on the retired route 13 (provider_led_postgrad_salaried).
	PlantedRetiredRouteTrainees = "retired_route_trainees"
	// Trainees born 1900-01-01 whose course ends in 2099.
	PlantedExtremeDateTrainees = "extreme_date_trainees"
	// Trainees back in state 2 (trn_received) whose only withdrawals are
	// discarded: "undo withdrawal".
	PlantedWithdrawnThenReinstated = "withdrawn_then_reinstated"
	// Trainees in state 4 (withdrawn) with a discarded and a live withdrawal.
	PlantedWithdrawnReinstatedWithdrawn = "withdrawn_reinstated_withdrawn"
	// trainee_withdrawals rows with discarded_at set.
	PlantedDiscardedWithdrawals = "discarded_withdrawals"
	// Trainees with both defer_date and reinstate_date, in state 1 or 2.
	PlantedDeferredThenReinstated = "deferred_then_reinstated"
	// trainee_withdrawal_reasons rows on the legacy relation
	// (trainee_withdrawal_id NULL).
	PlantedLegacyWithdrawalReasons = "legacy_withdrawal_reasons"

	// rect

	// Teachers with trn NULL (trnless).
	PlantedTRNlessTeachers = "trnless_teachers"
	// Teachers anonymised as merged into another (anonymisation_reason
	// 'teacher_record_merged'); each has a teacher_id_changes row.
	PlantedMergedTeachers = "merged_teachers"
	// Teachers with two ect_at_school_periods whose ranges overlap (&&).
	PlantedOverlappingECTAtSchool = "overlapping_ect_at_school_periods"
	// Teachers with two induction_periods whose ranges overlap.
	PlantedOverlappingInduction = "overlapping_induction_periods"
	// Teachers with two mentor_at_school_periods whose ranges overlap.
	PlantedOverlappingMentorAtSchool = "overlapping_mentor_at_school_periods"
	// Teachers with two training_periods (through their ECT or mentor
	// at-school periods) whose ranges overlap.
	PlantedOverlappingTraining = "overlapping_training_periods"
	// Pairs of periods of one kind and one teacher where one finishes on
	// the day the other starts: they overlap by that day, the range being
	// inclusive. Over ect_at_school, induction, mentor_at_school and
	// training periods.
	PlantedSingleDayOverlaps = "single_day_overlaps"
	// Teachers with at least two open mentor_at_school_periods.
	PlantedTwoOpenMentorPeriods = "two_open_mentor_at_school_periods"
	// Rows with finished_on NULL across the five *_periods tables.
	PlantedOpenPeriods = "open_periods"
	// Teachers whose TRS induction status is InProgress but who have no
	// open induction period: "induction paused".
	PlantedPausedInductions = "paused_inductions"
	// induction_periods with teacher_id NULL.
	PlantedOrphanInductionPeriods = "orphan_induction_periods"
	// induction_periods with induction_programme 'pre_september_2021'.
	PlantedPreSeptember2021Inductions = "pre_september_2021_inductions"
	// training_periods deferred and not withdrawn.
	PlantedDeferredTraining = "deferred_training_periods"
	// training_periods withdrawn and not deferred.
	PlantedWithdrawnTraining = "withdrawn_training_periods"
	// training_periods both deferred and withdrawn.
	PlantedDeferredAndWithdrawnTraining = "deferred_and_withdrawn_training_periods"
	// training_periods with training_programme 'school_led'.
	PlantedSchoolLedTraining = "school_led_training_periods"
	// training_periods with only an expression of interest (no school
	// partnership yet).
	PlantedExpressionOfInterestOnly = "expression_of_interest_only_training_periods"
	// declarations with payment_status 'voided'.
	PlantedVoidedDeclarations = "voided_declarations"
	// (training_period_id, declaration_type) pairs with both a voided and a
	// non-voided declaration.
	PlantedVoidedThenResubmitted = "voided_then_resubmitted"
	// declarations with clawback_status 'awaiting_clawback'.
	PlantedAwaitingClawback = "awaiting_clawback_declarations"
	// declarations with clawback_status 'clawed_back'.
	PlantedClawedBack = "clawed_back_declarations"
	// (training_period_id, declaration_type) pairs with two declarations
	// the partial unique index covers (billable, no clawback): an
	// 'eligible' and a 'paid' one.
	PlantedEligibleAndPaidSameType = "eligible_and_paid_same_type"
	// declarations with training_period_id NULL.
	PlantedDeclarationsWithoutTraining = "declarations_without_training_period"
	// milestones with milestone_date NULL.
	PlantedNullMilestoneDates = "null_milestone_dates"
	// ect_ and mentor_at_school_periods rows whose email is one of the
	// shared mailboxes (headteacher@…, office@…) that also appear on
	// other rows.
	PlantedGenericPeriodEmails = "generic_period_emails"
	// statement_adjustments whose amount has more than 9 decimal places
	// (amount <> round(amount, 9)): the source column is numeric without a
	// scale, and numeric(38,9), BigQuery's NUMERIC, cannot hold them, so
	// a run quarantines their rows.
	PlantedOverPreciseAdjustments = "over_precise_adjustment_amounts"
)

// counter tallies planted edge cases as the rows are generated. Every table
// is generated exactly once, so each fact is counted where its row is made.
type counter map[string]int64

func (c counter) add(key string, n int64) { c[key] += n }

func (c counter) inc(key string) { c[key]++ }

func (c counter) copy() map[string]int64 {
	out := make(map[string]int64, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}
