package seed

import "time"

// Withdrawal reasons (config/initializers/withdrawal_reasons.rb), by the
// generation of the form that offered them.
var (
	legacyReasons = []string{
		"death", "did_not_pass_assessment", "did_not_pass_exams", "exclusion", "personal_reasons",
		"transferred_to_another_provider", "written_off_after_lapse_of_time",
	}
	legacyReasonWeights = []int{1, 10, 5, 3, 30, 15, 10}
	june2023Reasons     = []string{
		"course_was_not_suitable", "family_problems", "financial_problems", "got_a_job",
		"problems_with_their_health", "unhappy_with_course_provider_or_employing_school", "another_reason", "unknown",
	}
	providerReasons = []string{
		"record_added_in_error", "mandatory_reasons", "stopped_responding_to_messages", "unacceptable_behaviour",
		"lack_of_progress_during_placements", "did_not_make_progress", "not_meeting_qts_standards",
		"safeguarding_concerns", "had_to_withdraw_trainee_another_reason",
	}
	traineeReasons = []string{
		"unacceptable_behaviour", "did_not_make_progress", "lack_of_progress_during_placements",
		"trainee_workload_issues", "not_meeting_qts_standards", "change_in_personal_or_health_circumstances",
		"does_not_want_to_become_a_teacher", "never_intended_to_obtain_qts", "moved_to_different_itt_course",
		"safeguarding_concerns", "trainee_chose_to_withdraw_another_reason",
	}
)

var (
	// Before these dates the form offered older reason sets.
	june2023Form      = date(2023, time.June, 20)
	november2024Form  = date(2024, time.November, 21)
	safeguardingAdded = date(2025, time.October, 7)
)

// withdrawal is one trainee_withdrawals row and its reasons.
type withdrawal struct {
	date      time.Time
	discarded time.Time
	// legacyOnly: a withdrawal from before trainee_withdrawals existed that
	// was never backfilled: only reason rows linked to the trainee remain.
	legacyOnly bool
	// backfilled: created when trainee_withdrawals was introduced, with the
	// reasons linked both ways and no trigger or future interest.
	backfilled     bool
	trigger        string
	futureInterest string
	reasons        [3]string
	nReasons       int
	created        time.Time
	undated        bool
}

// withdrawalsOf lists the withdrawals of the trainee planned in p, oldest
// first. Both withdrawal tables call it, so they agree on ids.
func (r *register) withdrawalsOf(p *traineePlan, out *[2]withdrawal) int {
	d := r.withdrawalDice.at(streamWithdrawal, p.index)
	switch {
	case p.kind == traineeWithdrawnReinstated:
		out[0] = r.newWithdrawal(p.withdrawDate, d)
		out[0].discarded = earliest(d.moment(days(p.withdrawDate, d.between(5, 40))), asOf)
		return 1
	case p.kind == traineeRewithdrawn:
		out[0] = r.newWithdrawal(p.firstWithdrawDate, d)
		out[0].discarded = d.moment(days(p.firstWithdrawDate, d.between(5, 30)))
		out[1] = r.newWithdrawal(p.withdrawDate, d)
		return 2
	case p.state == stateWithdrawn:
		out[0] = r.newWithdrawal(p.withdrawDate, d)
		return 1
	}
	return 0
}

func (r *register) newWithdrawal(day time.Time, d *dice) withdrawal {
	w := withdrawal{date: day, created: earliest(d.moment(days(day, d.between(0, 3))), asOf)}
	var set []string
	switch {
	case day.Before(june2023Form):
		w.reasons[0] = legacyReasons[d.weighted(legacyReasonWeights)]
		w.nReasons = 1
	case day.Before(november2024Form):
		set = june2023Reasons
	default:
		w.trigger = "provider"
		set = providerReasons
		if d.chance(0.4) {
			w.trigger = "trainee"
			set = traineeReasons
		}
		w.futureInterest = []string{"yes", "no", "no", "unknown"}[d.IntN(4)]
	}
	if day.Before(november2024Form) {
		// The table arrived in November 2024; older withdrawals were
		// backfilled, or kept only their reason links.
		w.legacyOnly = d.chance(0.5)
		w.backfilled = !w.legacyOnly
		if w.backfilled {
			w.created = d.moment(november2024Form)
			w.undated = d.chance(0.2) // the backfill could not always tell
		}
	}
	for n := 1 + d.weighted([]int{70, 25, 5}); set != nil && w.nReasons < n; {
		reason := d.pick(set)
		if reason == "safeguarding_concerns" && day.Before(safeguardingAdded) || w.has(reason) {
			n-- // no replacement draw: keeps the loop bounded
			continue
		}
		w.reasons[w.nReasons] = reason
		w.nReasons++
	}
	if w.nReasons == 0 {
		w.reasons[0], w.nReasons = "unknown", 1
	}
	return w
}

func (w *withdrawal) has(reason string) bool {
	for _, r := range w.reasons[:w.nReasons] {
		if r == reason {
			return true
		}
	}
	return false
}

var withdrawalColumns = []string{
	"id", "trainee_id", "date", "trigger", "future_interest", "another_reason",
	"safeguarding_concern_reasons", "discarded_at", "created_at", "updated_at",
}

// withdrawalRows makes trainee i's trainee_withdrawals rows.
func (r *register) withdrawalRows(i int, b *rowBuf) {
	var p traineePlan
	r.plan(i, &p)
	var ws [2]withdrawal
	n := r.withdrawalsOf(&p, &ws)
	switch p.kind {
	case traineeWithdrawnReinstated:
		r.counts.inc(PlantedWithdrawnThenReinstated)
	case traineeRewithdrawn:
		r.counts.inc(PlantedWithdrawnReinstatedWithdrawn)
	}
	for _, w := range ws[:n] {
		if w.legacyOnly {
			continue
		}
		r.withdrawalIDs[0]++
		var another, safeguarding any
		for _, reason := range w.reasons[:w.nReasons] {
			switch reason {
			case "another_reason", "had_to_withdraw_trainee_another_reason", "trainee_chose_to_withdraw_another_reason":
				another = []string{"Moving to Scotland to train there", "Caring responsibilities", "Wants to defer to next year but cannot", "Offered a place on a different route"}[int(w.date.Unix()/86400)%4]
			case "safeguarding_concerns":
				safeguarding = "Concerns raised by the placement school"
			}
		}
		updated := w.created
		var discarded any
		if !w.discarded.IsZero() {
			discarded, updated = w.discarded, w.discarded
			r.counts.inc(PlantedDiscardedWithdrawals)
		}
		var day any = w.date
		if w.undated {
			day = nil
		}
		b.add(r.withdrawalIDs[0], int64(i+1), day, nullString(w.trigger), nullString(w.futureInterest),
			another, safeguarding, discarded, w.created, updated)
	}
}

var withdrawalReasonColumns = []string{"id", "trainee_id", "trainee_withdrawal_id", "withdrawal_reason_id", "created_at", "updated_at"}

// withdrawalReasonRows makes the trainee_withdrawal_reasons rows of
// trainee i's withdrawals.
func (r *register) withdrawalReasonRows(i int, b *rowBuf) {
	var p traineePlan
	r.plan(i, &p)
	var ws [2]withdrawal
	n := r.withdrawalsOf(&p, &ws)
	for _, w := range ws[:n] {
		var trainee, withdrawalID any
		switch {
		case w.legacyOnly:
			trainee = int64(i + 1)
			r.counts.add(PlantedLegacyWithdrawalReasons, int64(w.nReasons))
		case w.backfilled:
			r.withdrawalIDs[1]++
			trainee, withdrawalID = int64(i+1), r.withdrawalIDs[1]
		default:
			r.withdrawalIDs[1]++
			withdrawalID = r.withdrawalIDs[1]
		}
		for _, reason := range w.reasons[:w.nReasons] {
			r.reasonRowID++
			b.add(r.reasonRowID, trainee, withdrawalID, r.reasonIDs[reason], w.created, w.created)
		}
	}
}
