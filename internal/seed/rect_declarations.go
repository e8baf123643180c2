package seed

import "time"

// voidedAttempts sets how often a lead provider's declaration is voided and
// made again before one sticks (API retries, wrong dates, wrong
// participant): rarely, as in the real service, which gives about six
// declarations per early career teacher, 2,800 at scale 1. The benchmark's
// 10M declarations come from seeding rect alone at a larger scale
// (nightshift seed --source rect --scale 3600).
const (
	resubmittedShare   = 0.08 // share of declarations voided at least once
	extraVoidsPerRetry = 0.20 // chance of each further voided attempt
	maxVoidedAttempts  = 12
)

var declarationColumns = []string{
	"id", "api_id", "training_period_id", "mentorship_period_id", "delivery_partner_when_created_id",
	"declaration_type", "declaration_date", "evidence_type", "payment_status", "clawback_status",
	"payment_statement_id", "clawback_statement_id", "pupil_premium_uplift", "sparsity_uplift",
	"voided_by_user_id", "voided_by_user_at", "api_updated_at", "created_at", "updated_at",
}

// claim is one milestone a training period reached: a declaration type
// and the day the lead provider declared it.
type claim struct {
	tp     *training
	cohort int
	kind   string
	day    time.Time
	// mentorships of the training's at-school period, for ECT claims.
	ms []mentorship
}

func (r *rect) declarationRows(t int, b *rowBuf) {
	d := r.declarationDice
	if r.declFirst == nil {
		r.declFirst, r.declCount = make([]int64, r.teachers), make([]int32, r.teachers)
	}
	first := r.declarationID + 1
	defer func() { r.declFirst[t], r.declCount[t] = first, int32(r.declarationID-first+1) }() //nolint:gosec // a teacher's declarations are few
	if isMentor(t) {
		var m mentorStory
		r.mentor(t, r.mentorDice, &m)
		if !m.hasTP || !m.tp.hasPartner {
			return
		}
		d.at(streamDeclaration, int(m.tp.id))
		c := claim{tp: &m.tp, cohort: m.cohort, kind: "started"}
		if day := d.dayIn(m.tp.start, earliest(days(m.tp.start, 90), earliest(m.tp.until(), today))); !day.After(today) {
			c.day = day
			r.declare(b, d, c, ectNormal, "")
		}
		if m.tp.completed {
			c.kind, c.day = "completed", d.dayIn(m.tp.finish, earliest(days(m.tp.finish, 30), today))
			r.declare(b, d, c, ectNormal, "")
		}
		return
	}

	var s ectStory
	r.ect(t, &s)
	for k := range s.tp[:s.nTP] {
		tp := &s.tp[k]
		if !tp.hasPartner {
			continue // school-led, or only an expression of interest
		}
		d.at(streamDeclaration, int(tp.id))
		c := claim{tp: tp, cohort: s.cohort, ms: r.mentorshipsOf(&s, tp.at)}
		var ms [9]milestone
		n := milestonesOf(s.cohort, "ecf-"+s.family+"-"+s.month, &ms)
		last := earliest(tp.until(), today)
		for _, m := range ms[:n] {
			lo, hi := latest(m.start, tp.start), earliest(m.deadline, last)
			if m.kind == "completed" {
				if !tp.completed {
					continue
				}
				lo, hi = tp.finish, earliest(days(tp.finish, 30), today)
			}
			if hi.Before(lo) {
				continue
			}
			c.kind, c.day = m.kind, d.dayIn(lo, hi)
			// A teacher who left: the last claim is often voided for good.
			final := ""
			if s.outcome == outcomeLeft && tp.withdrawal == "left_teaching_profession" && !days(c.day, 120).Before(tp.finish) && d.chance(0.3) {
				final = "voided"
			}
			r.declare(b, d, c, s.kind, final)
		}
	}
	if s.kind == ectOrphanDeclaration && s.nTP > 0 && s.tp[0].hasPartner {
		// A declaration whose training period link was lost.
		tp := &s.tp[0]
		d.at(streamDeclaration, -int(tp.id))
		r.counts.inc(PlantedDeclarationsWithoutTraining)
		day := d.moment(d.dayIn(tp.start, earliest(days(tp.start, 60), today)))
		r.declarationID++
		b.add(r.declarationID, d.uuid(), nil, nil, tp.partnership.partner,
			"started", day, nil, "voided", "no_clawback",
			nil, nil, false, false,
			nil, nil, earliest(day.Add(48*time.Hour), asOf), day, earliest(day.Add(24*time.Hour), asOf))
		r.counts.inc(PlantedVoidedDeclarations)
	}
}

func (r *rect) mentorshipsOf(s *ectStory, at int) []mentorship {
	var out []mentorship
	for _, ms := range s.ms[:s.nMS] {
		if ms.at == at {
			out = append(out, ms)
		}
	}
	return out
}

// declare writes a claim: voided attempts first, then the declaration that
// stuck, whose payment state follows its age. final "voided" voids that one
// too. ECT kinds plant clawbacks and duplicate billable declarations.
func (r *rect) declare(b *rowBuf, d *dice, c claim, kind int, final string) {
	// Voided attempts, oldest first, days apart, before the one that stuck.
	var gaps [maxVoidedAttempts]int
	voids, before := 0, 0
	if d.chance(resubmittedShare) || kind == ectVoidResubmit && c.kind == "started" {
		for voids == 0 || voids < maxVoidedAttempts && d.chance(extraVoidsPerRetry) {
			gaps[voids] = d.between(2, 12)
			before += gaps[voids]
			voids++
		}
	}
	for _, gap := range gaps[:voids] {
		r.declaration(b, d, c, days(c.day, -before), "voided", "")
		before -= gap
	}
	if final == "voided" {
		r.declaration(b, d, c, c.day, "voided", "")
		return
	}
	if voids > 0 {
		r.counts.inc(PlantedVoidedThenResubmitted)
	}

	status := paymentStatusAt(c.day)
	clawback := ""
	switch {
	case kind == ectClawback && c.kind == "retained-1":
		clawback = "clawed_back"
	case kind == ectClawback && c.kind == "retained-2":
		clawback = "awaiting_clawback"
	case status == "paid" && d.chance(0.01):
		clawback = []string{"clawed_back", "awaiting_clawback"}[d.IntN(2)]
	}
	if clawback != "" {
		status = "paid"
	}
	r.declaration(b, d, c, c.day, status, clawback)
	if kind == ectEligiblePaid && c.kind == "retained-1" && status == "paid" && clawback == "" {
		// A second, billable declaration of the same type: the database's
		// partial unique index allows it because the statuses differ.
		r.declaration(b, d, c, days(today, -d.between(12, 40)), "eligible", "")
		r.counts.inc(PlantedEligibleAndPaidSameType)
	}
}

// paymentStatusAt is how far a declaration made on day has got through
// payment by today.
func paymentStatusAt(day time.Time) string {
	switch age := daysBetween(day, today); {
	case age > 120:
		return "paid"
	case age > 45:
		return "payable"
	case age > 10:
		return "eligible"
	}
	return "no_payment"
}

var (
	retainedEvidence  = []string{"training-event-attended", "self-study-material-completed", "materials-engaged-with-offline", "other"}
	completedEvidence = []string{"75-percent-engagement-met", "75-percent-engagement-met", "75-percent-engagement-met-reduced-induction", "one-term-induction"}
)

func (r *rect) declaration(b *rowBuf, d *dice, c claim, day time.Time, status, clawback string) {
	declared := d.moment(day)
	created := earliest(declared.Add(time.Duration(d.Int64N(int64(48*time.Hour)))), asOf)
	updated := created
	var statement, clawbackStatement, voidedBy, voidedAt, mentorship, evidence any
	switch status {
	case "voided":
		updated = earliest(created.Add(time.Duration(d.between(1, 20*24))*time.Hour), asOf)
		if d.chance(0.1) {
			voidedBy, voidedAt = int64(1+d.IntN(userCount)), updated
		}
		r.counts.inc(PlantedVoidedDeclarations)
	case "paid", "payable", "eligible":
		id := statementFor(c.tp.partnership.alp, c.cohort, day)
		statement = id
		_, _, _, payment := statementDates(c.cohort, int(id-1)%statementsPerContract)
		if status == "paid" {
			updated = latest(created, earliest(d.moment(payment), asOf))
		}
	}
	switch clawback {
	case "awaiting_clawback":
		clawbackStatement = statementFor(c.tp.partnership.alp, c.cohort, today)
		updated = latest(updated, earliest(d.moment(days(today, -d.between(1, 30))), asOf))
		r.counts.inc(PlantedAwaitingClawback)
	case "clawed_back":
		clawbackStatement = statementFor(c.tp.partnership.alp, c.cohort, days(day, 60))
		updated = latest(updated, earliest(d.moment(days(day, 90)), asOf))
		r.counts.inc(PlantedClawedBack)
	default:
		clawback = "no_clawback"
	}
	for _, ms := range c.ms {
		if !day.Before(ms.start) && !day.After(ms.until()) {
			mentorship = ms.id
		}
	}
	switch c.kind {
	case "started":
		if c.cohort >= 2025 {
			evidence = "training-event-attended"
		}
	case "completed":
		evidence = d.pick(completedEvidence)
	default:
		evidence = d.pick(retainedEvidence)
		if d.chance(0.05) {
			evidence = nil
		}
	}
	uplifts := c.kind == "started" && c.cohort <= 2024
	apiUpdated := latest(updated, earliest(updated.Add(time.Duration(d.Int64N(int64(96*time.Hour)))), asOf))
	r.declarationID++
	b.add(r.declarationID, d.uuid(), c.tp.id, mentorship, c.tp.partnership.partner,
		c.kind, declared, evidence, status, clawback,
		statement, clawbackStatement, uplifts && d.chance(0.3), uplifts && d.chance(0.1),
		voidedBy, voidedAt, rarelyNull(int(r.declarationID), apiUpdated), created, updated)
}
