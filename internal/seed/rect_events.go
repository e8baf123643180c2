package seed

import (
	"encoding/json"
	"time"
)

var eventColumns = []string{
	"id", "event_type", "happened_at", "author_type", "author_id", "author_name", "author_email", "heading", "body",
	"metadata", "modifications", "teacher_id", "school_id", "appropriate_body_period_id", "ect_at_school_period_id",
	"mentor_at_school_period_id", "mentorship_period_id", "induction_period_id", "induction_extension_id",
	"training_period_id", "declaration_id", "lead_provider_id", "delivery_partner_id", "active_lead_provider_id",
	"lead_provider_delivery_partnership_id", "school_partnership_id", "contract_period_id", "schedule_id",
	"statement_id", "statement_adjustment_id", "pending_induction_submission_batch_id", "user_id",
	"zendesk_ticket_id", "created_at", "updated_at",
}

// event is one row of events; links name the records it concerns, by
// column.
type event struct {
	kind, authorType, heading string
	at                        time.Time
	body                      any
	metadata                  map[string]any
	links                     map[string]any
}

// rectDay is how a period's first or last day is stamped as happened_at:
// midnight, as Events::Record gives a date.
func rectDay(day time.Time) time.Time { return day.Truncate(24 * time.Hour) }

// eventRows writes teacher t's events, as RECT's Events::Record writes them:
// registered at a school, training periods started, deferred or withdrawn,
// induction periods opened and closed (or passed, failed), mentorships,
// name changes from TRS (whose metadata holds the old and new name) and a
// declaration or two. Some units also write an organisation's event (a
// statement authorised, an adjustment added) with no teacher.
func (r *rect) eventRows(t int, b *rowBuf) {
	d := r.eventDice.at(streamEvent, t)
	p := r.person(t)
	name := p.first.written + " " + p.last.written
	var events []event
	if isMentor(t) {
		var m mentorStory
		r.mentor(t, r.mentorDice, &m)
		a := m.at[0]
		links := map[string]any{"teacher_id": teacherID(t), "school_id": int64(a.school + 1), "mentor_at_school_period_id": a.id}
		if m.hasTP {
			links["training_period_id"] = m.tp.id
			if m.tp.hasPartner {
				links["lead_provider_id"] = int64(m.tp.partnership.leadProvider + 1)
			}
		}
		events = append(events, event{kind: "teacher_registered_as_mentor", authorType: "school_user", at: d.moment(latest(days(a.start, -d.between(1, 20)), rectLaunch)),
			heading: name + " was registered as a mentor", links: links})
	} else {
		var s ectStory
		r.ect(t, &s)
		events = r.ectEvents(t, &s, d, name, events)
	}
	if d.chance(0.05) {
		// TRS corrected the name: metadata holds the change, personal.
		old := lastNames[d.IntN(len(lastNames))].written
		events = append(events, event{kind: "teacher_name_updated_by_trs", authorType: "system", at: d.moment(d.dayIn(rectLaunch, today)),
			heading:  "Name changed from '" + p.first.written + " " + old + "' to '" + name + "'",
			metadata: map[string]any{"trs_last_name": []any{old, p.last.written}},
			links:    map[string]any{"teacher_id": teacherID(t)}})
	}
	switch {
	case t%40 == 5:
		statement := int64(1 + hashOf(r.opts.Seed, streamEvent, t, leadProviderCount*cohorts*statementsPerContract))
		events = append(events, event{kind: "statement_authorised_for_payment", authorType: "dfe_staff_user", at: d.moment(d.dayIn(rectLaunch, today)),
			heading: "Statement authorised for payment", links: map[string]any{"statement_id": statement, "contract_period_id": int64(firstCohort + t%cohorts)}})
	case t%40 == 15 && r.adjustmentID > 0:
		events = append(events, event{kind: "statement_adjustment_added", authorType: "dfe_staff_user", at: d.moment(d.dayIn(rectLaunch, today)),
			heading: "Statement adjustment added", body: "Added after a review of " + name + "'s declarations",
			links: map[string]any{"statement_adjustment_id": int64(1 + hashOf(r.opts.Seed, streamEvent, t, int(r.adjustmentID)))}})
	}
	for _, e := range events {
		r.addEvent(b, d, e)
	}
}

func (r *rect) ectEvents(t int, s *ectStory, d *dice, name string, events []event) []event {
	for k, a := range s.at[:s.nAt] {
		links := map[string]any{"teacher_id": teacherID(t), "school_id": int64(a.school + 1), "ect_at_school_period_id": a.id}
		for _, tp := range s.tp[:s.nTP] {
			if tp.at == k {
				links["training_period_id"] = tp.id
				if tp.schedule != 0 {
					links["schedule_id"] = tp.schedule
				}
				break
			}
		}
		events = append(events, event{kind: "teacher_registered_as_ect", authorType: "school_user", at: d.moment(latest(days(a.start, -d.between(1, 30)), rectLaunch)),
			heading: name + " was registered as an ECT", links: links})
		if !a.open() && a.left {
			events = append(events, event{kind: "teacher_left_school_as_ect", authorType: "school_user", at: rectDay(a.finish),
				heading: name + " left their school", links: map[string]any{"teacher_id": teacherID(t), "school_id": int64(a.school + 1), "ect_at_school_period_id": a.id}})
		}
	}
	for _, tp := range s.tp[:s.nTP] {
		links := map[string]any{"teacher_id": teacherID(t), "training_period_id": tp.id, "ect_at_school_period_id": s.at[tp.at].id,
			"school_id": int64(s.at[tp.at].school + 1), "contract_period_id": int64(s.cohort)}
		if tp.hasPartner {
			links["school_partnership_id"] = tp.partnership.id
			links["lead_provider_id"] = int64(tp.partnership.leadProvider + 1)
			links["active_lead_provider_id"] = tp.partnership.alp
			links["lead_provider_delivery_partnership_id"] = tp.partnership.lpdp
			links["delivery_partner_id"] = tp.partnership.partner
		}
		events = append(events, event{kind: "teacher_starts_training_period", authorType: "school_user", at: rectDay(tp.start),
			heading: name + " started a new ECT training period", links: links,
			metadata: map[string]any{"started_on": []any{nil, tp.start.Format(time.DateOnly)}, "training_programme": []any{nil, tp.programme}}})
		only := map[string]any{"teacher_id": teacherID(t), "training_period_id": tp.id}
		if !tp.deferredAt.IsZero() {
			events = append(events, event{kind: "teacher_defers_training_period", authorType: "lead_provider_api", at: tp.deferredAt,
				heading: name + "'s training period was deferred", links: only,
				metadata: map[string]any{"deferral_reason": []any{nil, tp.deferral}}})
		}
		if !tp.withdrawnAt.IsZero() {
			events = append(events, event{kind: "teacher_withdraws_training_period", authorType: "lead_provider_api", at: tp.withdrawnAt,
				heading: name + "'s training period was withdrawn", links: only,
				metadata: map[string]any{"withdrawal_reason": []any{nil, tp.withdrawal}}})
		}
	}
	for _, ms := range s.ms[:s.nMS] {
		events = append(events, event{kind: "teacher_starts_being_mentored", authorType: "school_user", at: rectDay(ms.start),
			heading: name + " started being mentored", links: map[string]any{"teacher_id": teacherID(t), "mentorship_period_id": ms.id,
				"mentor_at_school_period_id": ms.mentorPeriod, "ect_at_school_period_id": s.at[ms.at].id},
			metadata: map[string]any{"mentee_id": teacherID(t)}})
	}
	for _, in := range s.ind[:s.nIn] {
		if in.orphan {
			continue
		}
		body := appropriateBodyName(in.body)
		links := map[string]any{"teacher_id": teacherID(t), "induction_period_id": in.id, "appropriate_body_period_id": in.body}
		if d.chance(0.2) {
			links["pending_induction_submission_batch_id"] = int64(1 + d.IntN(500)) // a bulk upload
		}
		events = append(events, event{kind: "induction_period_opened", authorType: "appropriate_body_user", at: rectDay(in.start),
			heading: name + " was claimed by " + body, links: links,
			metadata: map[string]any{"started_on": []any{nil, in.start.Format(time.DateOnly)}, "induction_programme": []any{nil, in.programme}}})
		if in.open() {
			continue
		}
		kind, heading := "induction_period_closed", name+" was released by "+body
		switch in.outcome {
		case "pass":
			kind, heading = "teacher_passes_induction", name+" passed induction by "+body
		case "fail":
			kind, heading = "teacher_fails_induction", name+" failed induction by "+body
		}
		closed := map[string]any{"teacher_id": teacherID(t), "induction_period_id": in.id, "appropriate_body_period_id": in.body}
		events = append(events, event{kind: kind, authorType: "appropriate_body_user", at: rectDay(in.finish), heading: heading, links: closed,
			metadata: map[string]any{"finished_on": []any{nil, in.finish.Format(time.DateOnly)}, "number_of_terms": []any{nil, in.terms}}})
		if d.chance(0.05) {
			events = append(events, event{kind: "induction_extension_created", authorType: "appropriate_body_user", at: rectDay(in.finish),
				heading: name + "'s induction extended by 1.0 terms", links: map[string]any{"teacher_id": teacherID(t),
					"induction_extension_id": inductionID(t, 0), "appropriate_body_period_id": in.body},
				metadata: map[string]any{"number_of_terms": []any{nil, 1.0}}})
		}
	}
	// Declarations: the first the lead provider made, and its voids.
	if t < len(r.declCount) && r.declCount[t] > 0 && s.nTP > 0 && s.tp[0].hasPartner {
		n := r.declCount[t]
		tp := &s.tp[0]
		lp := tp.partnership.leadProvider
		for k := range min(n, 2) {
			id := r.declFirst[t] + int64(k)
			events = append(events, event{kind: "teacher_declaration_created", authorType: "lead_provider_api", at: d.moment(d.dayIn(tp.start, today)),
				heading: "A new declaration with id " + itoa(int(id)) + " was created for the teacher: " + name + " (" + leadProviderNames[lp] + ")",
				links:   map[string]any{"teacher_id": teacherID(t), "declaration_id": id, "lead_provider_id": int64(lp + 1)}})
		}
	}
	return events
}

// appropriateBodyName names appropriate body period id.
func appropriateBodyName(id int64) string {
	if id >= 1 && int(id) <= len(appropriateBodyNames) {
		return appropriateBodyNames[id-1]
	}
	return "an appropriate body"
}

// addEvent writes one event, with its author: a person for the people's
// kinds (a name and an email), none for the API and the system.
func (r *rect) addEvent(b *rowBuf, d *dice, e event) {
	var authorID, authorName, authorEmail, metadata, userID, ticket any
	switch e.authorType {
	case "school_user", "appropriate_body_user", "dfe_staff_user":
		f, l := firstNames[d.IntN(len(firstNames))], lastNames[d.IntN(len(lastNames))]
		authorID, authorName = int64(1+d.IntN(userCount)), f.written+" "+l.written
		domain := d.pick(emailDomains)
		if e.authorType == "dfe_staff_user" {
			domain = "education.gov.uk"
			if d.chance(0.3) {
				ticket = int64(100000 + d.IntN(900000))
			}
		}
		authorEmail = f.ascii + "." + l.ascii + "@" + domain
	}
	if e.metadata != nil {
		text, _ := json.Marshal(e.metadata) // strings, numbers and lists marshal
		metadata = json.RawMessage(text)
	}
	var modifications any
	if m, ok := e.metadata["trs_last_name"].([]any); ok {
		modifications = []string{"TRS last name changed from '" + m[0].(string) + "' to '" + m[1].(string) + "'"}
	}
	at := earliest(e.at, asOf)
	created := earliest(latest(at, rectLaunch).Add(time.Duration(d.between(1, 600))*time.Second), asOf)
	link := func(col string) any { return e.links[col] }
	r.eventID++
	b.add(r.eventID, e.kind, at, e.authorType, authorID, authorName, authorEmail, e.heading, e.body,
		metadata, modifications, link("teacher_id"), link("school_id"), link("appropriate_body_period_id"), link("ect_at_school_period_id"),
		link("mentor_at_school_period_id"), link("mentorship_period_id"), link("induction_period_id"), link("induction_extension_id"),
		link("training_period_id"), link("declaration_id"), link("lead_provider_id"), link("delivery_partner_id"), link("active_lead_provider_id"),
		link("lead_provider_delivery_partnership_id"), link("school_partnership_id"), link("contract_period_id"), link("schedule_id"),
		link("statement_id"), link("statement_adjustment_id"), link("pending_induction_submission_batch_id"), userID,
		ticket, created, created)
}
