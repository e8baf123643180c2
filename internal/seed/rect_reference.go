package seed

import (
	"strings"
	"time"
)

// rectLaunch is when RECT's data was migrated from the Early Careers
// Framework service: migrated rows carry created_at around then.
var rectLaunch = date(2025, time.June, 16)

var userColumns = []string{"id", "email", "name", "role", "otp_failed_attempts", "otp_locked_at", "created_at", "updated_at"}

var dfeUsers = []struct{ name, role string }{
	{"Priya Raman", "admin"}, {"Tom Hughes", "finance"}, {"Aoife Byrne", "user_manager"},
	{"Gareth Lloyd", "admin"}, {"Zoë Clarke", "product_team"}, {"Kwame Mensah", "finance"},
}

func (r *rect) user(i int, b *rowBuf) {
	d := r.refDice.at(streamDeliveryPartner, 1_000_000+i)
	u := dfeUsers[i]
	email := strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(u.name, "ë", "e"), " ", ".")) + "@education.gov.uk"
	created := d.moment(d.dayIn(date(2024, 9, 1), date(2025, 6, 1)))
	var locked any
	if i == 3 {
		locked = d.moment(date(2026, 7, 2))
	}
	b.add(int64(i+1), email, u.name, u.role, []int{0, 0, 1, 0, 3, 0}[i], locked, created, d.moment(d.dayIn(rectLaunch, today)))
}

var organisationColumns = []string{"id", "name", "uuid", "urn", "organisation_type", "status", "first_authenticated_at", "last_authenticated_at", "created_at", "updated_at"}

var appropriateBodyNames = []string{
	"Ambition Teaching School Hub North", "Bright Futures Teaching School Hub", "Cheshire East Council",
	"East Midlands South Teaching School Hub", "Essex County Council", "Independent Schools Teacher Induction Panel (IStip)",
	"Kent Teaching School Hub", "Leeds City Council", "National Teacher Accreditation (NTA)",
	"Red Kite Teaching School Hub", "South West Teaching School Hub", "Star Teaching School Hub Lancashire",
}

func (r *rect) organisation(i int, b *rowBuf) {
	d := r.refDice.at(streamDeliveryPartner, 2_000_000+i)
	var urn, firstAuth, lastAuth any
	if i%3 != 2 {
		urn = itoa(130000 + i*37)
	}
	if i != 5 {
		firstAuth = d.moment(d.dayIn(date(2025, 1, 6), date(2025, 9, 1)))
		lastAuth = d.moment(d.dayIn(date(2026, 6, 1), today))
	}
	var orgType, status any = "Other Stakeholders", "Open"
	switch {
	case strings.HasSuffix(appropriateBodyNames[i], "Council"):
		orgType = "Local Authority"
	case i == 5: // never signed in: DfE Sign-in has not filled these
		orgType, status = nil, nil
	}
	created := d.moment(d.dayIn(date(2024, 11, 1), date(2025, 3, 1)))
	b.add(int64(i+1), appropriateBodyNames[i], d.uuid(), urn, orgType, status, firstAuth, lastAuth, created, d.moment(d.dayIn(rectLaunch, today)))
}

var appropriateBodyColumns = []string{"id", "name", "dfe_sign_in_organisation_id", "created_at", "updated_at"}

func (r *rect) appropriateBody(i int, b *rowBuf) {
	d := r.refDice.at(streamDeliveryPartner, 3_000_000+i)
	created := d.moment(date(2025, 2, 3))
	b.add(int64(i+1), appropriateBodyNames[i], int64(i+1), created, created)
}

var appropriateBodyPeriodColumns = []string{"id", "appropriate_body_id", "name", "body_type", "dfe_sign_in_organisation_id", "dqt_id", "created_at", "updated_at"}

// appropriateBodyPeriod: one per appropriate body, and two legacy bodies
// known only from DQT, with no appropriate body and no sign-in.
func (r *rect) appropriateBodyPeriod(i int, b *rowBuf) {
	d := r.refDice.at(streamDeliveryPartner, 4_000_000+i)
	created := d.moment(date(2025, 2, 3))
	if i >= appropriateBodyCount {
		name := []string{"Hertfordshire County Council (legacy)", "West Midlands Teaching School Alliance"}[i-appropriateBodyCount]
		var bodyType any = "local_authority"
		if i == appropriateBodyCount+1 {
			bodyType = nil
		}
		b.add(int64(i+1), nil, name, bodyType, nil, d.uuid(), created, created)
		return
	}
	bodyType := "teaching_school_hub"
	switch {
	case strings.HasSuffix(appropriateBodyNames[i], "Council"):
		bodyType = "local_authority"
	case strings.Contains(appropriateBodyNames[i], "("):
		bodyType = "national"
	}
	var dqt any
	if i%4 != 0 {
		dqt = d.uuid()
	}
	b.add(int64(i+1), int64(i+1), appropriateBodyNames[i], bodyType, d.uuid(), dqt, created, d.moment(d.dayIn(rectLaunch, today)))
}

var giasColumns = []string{
	"urn", "name", "ukprn", "establishment_number", "local_authority_code", "local_authority_name",
	"administrative_district_name", "type_name", "phase_name", "status", "in_england", "section_41_approved",
	"eligible", "address_line1", "address_line2", "address_line3", "postcode", "primary_contact_email",
	"secondary_contact_email", "website", "opened_on", "closed_on", "created_at", "updated_at",
}

var giasTypes = []string{"Community school", "Academy converter", "Academy sponsor led", "Voluntary aided school", "Voluntary controlled school", "Foundation school", "Free schools", "Other independent school"}

var giasPhases = []string{"Primary", "Primary", "Primary", "Secondary", "Secondary", "All-through", "Not applicable", "16 plus"}

// giasURN is the URN of GIAS school i: distinct six-digit numbers.
func giasURN(i int) int32 { return int32(100000 + (i*7919)%900000) }

// giasSchool makes GIAS school i. The first r.schools have a RECT school;
// the rest are closed, outside England or ineligible ones nobody registers.
func (r *rect) giasSchool(i int, b *rowBuf) {
	d := r.refDice.at(streamGias, i)
	town := d.pick(towns)
	name := d.schoolName(town)
	slug := strings.ToLower(strings.NewReplacer(" ", "-", "'", "", ",", "").Replace(strings.TrimSuffix(name, ", "+town)))
	extra := i >= r.schools
	status, inEngland, eligible := "open", true, true
	var closed any
	if extra {
		switch i % 4 {
		case 0:
			status, eligible, closed = "closed", false, d.dayIn(date(2012, 8, 31), date(2026, 7, 31))
		case 1:
			inEngland, eligible = false, false
		case 2:
			status = "proposed_to_close"
		default:
			status, eligible = "proposed_to_open", false
		}
	}
	typeName := d.pick(giasTypes)
	section41 := typeName == "Other independent school" && d.chance(0.5)
	var ukprn, secondary, website, line2, line3, district, phase, estab any
	var line1, laName, postcode, primary any = itoa(d.between(1, 200)) + " " + d.pick([]string{"School Lane", "Church Road", "Victoria Road", "The Green", "Oak Avenue"}),
		town + " Council", d.postcode(), "office@" + slug + ".sch.uk"
	if extra && i%4 == 1 { // outside England: GIAS holds less
		line1, laName, postcode = nil, nil, nil
	}
	if i%13 == 4 {
		primary = nil
	}
	if i%5 != 3 {
		ukprn = int32(10000000 + i)
	}
	if d.chance(0.3) {
		secondary = "head@" + slug + ".sch.uk"
	}
	if d.chance(0.8) {
		website = "https://www." + slug + ".sch.uk"
	}
	if d.chance(0.5) {
		line2 = d.pick([]string{"Church Lane", "High Street", "Station Road", "Park Avenue", "Mill Lane"})
	}
	if d.chance(0.1) {
		line3 = d.pick([]string{"Upper Town", "Lower Green", "East End"})
	}
	if d.chance(0.9) {
		district = town
	}
	if d.chance(0.97) {
		phase = d.pick(giasPhases)
	}
	if i%11 != 7 {
		estab = int32(2000 + i%8000)
	}
	var opened any
	if d.chance(0.7) {
		opened = d.dayIn(date(1960, 1, 1), date(2024, 9, 1))
	}
	created := d.moment(d.dayIn(date(2024, 10, 1), date(2025, 1, 31)))
	b.add(giasURN(i), name, ukprn, estab, int32(201+d.IntN(738)), laName,
		district, typeName, phase, status, inEngland, section41,
		eligible, line1, line2, line3, postcode, primary,
		secondary, website, opened, closed, created, d.moment(d.dayIn(created, today)))
}

var contractPeriodColumns = []string{
	"year", "started_on", "finished_on", "enabled", "mentor_funding_enabled", "detailed_evidence_types_enabled",
	"uplift_fees_enabled", "payments_frozen_at", "created_at", "updated_at",
}

// contractPeriod is cohort year firstCohort+i, June to May.
func (r *rect) contractPeriod(i int, b *rowBuf) {
	year := firstCohort + i
	created := time.Date(2025, 2, 10, 9, 30, i, 0, time.UTC)
	var finished, enabled, frozen any = date(year+1, time.May, 31), true, nil
	if year == lastCohort {
		finished, enabled = nil, nil // the coming cohort: dates and switch not settled
	}
	if year <= 2022 {
		frozen = time.Date(2024, 7, 31, 23, 59, 59, 0, time.UTC)
	}
	b.add(int32(year), date(year, time.June, 1), finished, enabled, year >= 2025, year >= 2025, year <= 2024, frozen, created, created)
}

var leadProviderColumns = []string{"id", "name", "ecf_id", "ecf_cpd_lead_provider_id", "vat_registered", "created_at", "updated_at"}

var leadProviderNames = [leadProviderCount]string{
	"Ambition Institute", "Best Practice Network", "Capita", "Education Development Trust",
	"National Institute of Teaching", "Teach First", "UCL Institute of Education", "Church of England",
}

func (r *rect) leadProvider(i int, b *rowBuf) {
	d := r.refDice.at(streamDeliveryPartner, 5_000_000+i)
	var ecfID, cpdID any = d.uuid(), d.uuid()
	if i == 4 { // joined after the ECF service's data was migrated
		ecfID, cpdID = nil, nil
	}
	created := d.moment(date(2025, 2, 10))
	b.add(int64(i+1), leadProviderNames[i], ecfID, cpdID, i != 7, created, d.moment(d.dayIn(rectLaunch, today)))
}

var rectSchoolColumns = []string{
	"id", "urn", "api_id", "induction_tutor_name", "induction_tutor_email", "induction_tutor_last_nominated_in",
	"last_chosen_appropriate_body_id", "last_chosen_lead_provider_id", "last_chosen_training_programme",
	"marked_as_eligible", "opted_out_of_reminder_emails_until", "created_at", "updated_at",
}

func (r *rect) school(i int, b *rowBuf) {
	d := r.refDice.at(streamRectSchool, i)
	var tutor, tutorEmail, nominated, ab, lp, programme, optedOut any
	if d.chance(0.85) {
		first, last := firstNames[d.IntN(len(firstNames))], lastNames[d.IntN(len(lastNames))]
		tutor = first.written + " " + last.written
		if d.chance(0.3) {
			tutorEmail = sharedMailboxes[d.IntN(len(sharedMailboxes))]
		} else {
			tutorEmail = first.ascii + "." + last.ascii + "@school" + itoa(i) + ".sch.uk"
		}
		nominated = int32(2024 + d.IntN(3))
	}
	if d.chance(0.8) {
		ab = int64(1 + d.IntN(appropriateBodyPeriodCount))
		lp = int64(1 + d.IntN(leadProviderCount))
		programme = "provider_led"
		if d.chance(0.06) {
			programme, lp = "school_led", nil
		}
	}
	if d.chance(0.03) {
		optedOut = date(2026, time.Month(9+d.IntN(4)), 1)
	}
	created := d.moment(d.dayIn(rectLaunch, days(rectLaunch, 10)))
	b.add(int64(i+1), giasURN(i), d.uuid(), tutor, tutorEmail, nominated, ab, lp, programme,
		d.chance(0.05), optedOut, created, d.moment(d.dayIn(created, today)))
}

var deliveryPartnerColumns = []string{"id", "name", "api_id", "api_updated_at", "created_at", "updated_at"}

var deliveryPartnerKinds = []string{"Teaching School Hub", "Teaching School Alliance", "Learning Trust", "Education Partnership", "Multi Academy Trust", "Schools Partnership"}

func (r *rect) deliveryPartner(i int, b *rowBuf) {
	d := r.refDice.at(streamDeliveryPartner, i)
	n := len(towns) * len(deliveryPartnerKinds)
	name := towns[i%len(towns)] + " " + deliveryPartnerKinds[(i/len(towns))%len(deliveryPartnerKinds)]
	if i >= n {
		name += " " + itoa(i/n+1)
	}
	created := d.moment(d.dayIn(date(2025, 2, 10), rectLaunch))
	updated := d.moment(d.dayIn(rectLaunch, today))
	b.add(int64(i+1), name, d.uuid(), rarelyNull(i, updated), created, updated)
}

var activeLeadProviderColumns = []string{"id", "lead_provider_id", "contract_period_year", "created_at", "updated_at"}

func (r *rect) activeLeadProvider(i int, b *rowBuf) {
	lp, year := i/cohorts, firstCohort+i%cohorts
	created := time.Date(2025, 2, 10, 10, 0, i, 0, time.UTC)
	b.add(activeLeadProviderID(lp, year), int64(lp+1), int64(year), created, created)
}

var lpdpColumns = []string{"id", "active_lead_provider_id", "delivery_partner_id", "ecf_id", "created_at", "updated_at"}

func (r *rect) lpdp(i int, b *rowBuf) {
	d := r.refDice.at(streamPartnership, i)
	alp := int64(i/partnershipsPerProvider + 1)
	id := lpdpID(alp, i%partnershipsPerProvider)
	year := firstCohort + int(alp-1)%cohorts
	var ecfID any
	created := d.moment(rectLaunch)
	if year <= 2024 {
		ecfID = d.uuid()
	} else {
		created = d.moment(d.dayIn(date(year, 3, 1), date(year, 7, 31)))
	}
	b.add(id, alp, r.deliveryPartnerOf(id), ecfID, created, created)
}

var schoolPartnershipColumns = []string{"id", "school_id", "lead_provider_delivery_partnership_id", "api_id", "api_updated_at", "created_at", "updated_at"}

func (r *rect) schoolPartnership(i int, b *rowBuf) {
	s, rem := i/(cohorts*2), i%(cohorts*2)
	year, alt := firstCohort+rem/2, rem%2
	p := r.partnershipOf(s, year, alt)
	d := r.refDice.at(streamPartnership, 1<<42+i)
	created := d.moment(d.dayIn(date(year, 3, 1), date(year, 10, 31)))
	if year <= 2024 {
		created = d.moment(rectLaunch)
	}
	updated := d.moment(d.dayIn(created, today))
	b.add(p.id, int64(s+1), p.lpdp, d.uuid(), rarelyNull(i, updated), created, updated)
}

var scheduleIdentifiers = []string{
	"ecf-extended-april", "ecf-extended-january", "ecf-extended-september",
	"ecf-reduced-april", "ecf-reduced-january", "ecf-reduced-september",
	"ecf-replacement-april", "ecf-replacement-january", "ecf-replacement-september",
	"ecf-standard-april", "ecf-standard-january", "ecf-standard-september",
}

// scheduleID is the schedule "ecf-<family>-<month>" of cohort year.
func scheduleID(year int, family, month string) int64 {
	ident := "ecf-" + family + "-" + month
	for k, s := range scheduleIdentifiers {
		if s == ident {
			return int64((year-firstCohort)*len(scheduleIdentifiers) + k + 1)
		}
	}
	panic("seed: no schedule " + ident)
}

var scheduleColumns = []string{"id", "contract_period_year", "identifier", "created_at", "updated_at"}

func (r *rect) schedule(i int, b *rowBuf) {
	created := time.Date(2025, 2, 10, 11, 0, i, 0, time.UTC)
	b.add(int64(i+1), int32(firstCohort+i/len(scheduleIdentifiers)), scheduleIdentifiers[i%len(scheduleIdentifiers)], created, created)
}

// milestone is when a declaration of one type may be made under a schedule.
type milestone struct {
	kind            string
	start, deadline time.Time
	// published is false while DfE has not set the milestone date.
	published bool
}

var (
	standardMilestones = []string{"started", "retained-1", "retained-2", "retained-3", "retained-4", "completed"}
	extendedMilestones = []string{"started", "retained-1", "retained-2", "retained-3", "retained-4", "completed", "extended-1", "extended-2", "extended-3"}
	reducedMilestones  = []string{"started", "retained-1", "completed"}
	// Months after the schedule's start when each window opens.
	milestoneOffsets = map[string]int{
		"started": -3, "retained-1": 3, "retained-2": 6, "retained-3": 12, "retained-4": 15,
		"completed": 21, "extended-1": 27, "extended-2": 30, "extended-3": 33,
	}
	// Dates further out than this are not published yet.
	milestonesPublishedUntil = date(2027, time.June, 1)
)

// milestonesOf lists the milestones of schedule identifier ident of a
// cohort year into out.
func milestonesOf(year int, ident string, out *[9]milestone) int {
	parts := strings.SplitN(strings.TrimPrefix(ident, "ecf-"), "-", 2)
	family, month := parts[0], parts[1]
	base := date(year, time.September, 1)
	switch month {
	case "january":
		base = date(year+1, time.January, 1)
	case "april":
		base = date(year+1, time.April, 1)
	}
	kinds := standardMilestones
	switch family {
	case "extended":
		kinds = extendedMilestones
	case "reduced":
		kinds = reducedMilestones
	}
	for k, kind := range kinds {
		start := base.AddDate(0, milestoneOffsets[kind], 0)
		deadline := start.AddDate(0, 3, -1)
		if kind == "started" {
			// Open from the summer before until the end of the first term.
			deadline = base.AddDate(0, 3, -1)
		}
		out[k] = milestone{kind: kind, start: start, deadline: deadline, published: !start.After(milestonesPublishedUntil)}
	}
	return len(kinds)
}

var milestoneColumns = []string{"id", "schedule_id", "declaration_type", "start_date", "milestone_date", "created_at", "updated_at"}

func (r *rect) milestones(i int, b *rowBuf) {
	year := firstCohort + i/len(scheduleIdentifiers)
	var ms [9]milestone
	n := milestonesOf(year, scheduleIdentifiers[i%len(scheduleIdentifiers)], &ms)
	created := time.Date(2025, 2, 10, 11, 30, i, 0, time.UTC)
	for _, m := range ms[:n] {
		r.milestoneID++
		var deadline any = m.deadline
		if !m.published {
			deadline = nil
			r.counts.inc(PlantedNullMilestoneDates)
		}
		b.add(r.milestoneID, int64(i+1), m.kind, m.start, deadline, created, created)
	}
}

var contractColumns = []string{"id", "active_lead_provider_id", "contract_type", "vat_rate", "created_at", "updated_at"}

func (r *rect) contract(i int, b *rowBuf) {
	year := firstCohort + i%cohorts
	// 0.20, the service's default; none for the lead provider that is
	// not VAT registered.
	vat := decimal(20, 2)
	if i/cohorts == 7 {
		vat = decimal(0, 2)
	}
	created := time.Date(2025, 2, 10, 12, 0, i, 0, time.UTC)
	b.add(int64(i+1), int64(i+1), contractType(year), vat, created, created)
}

var statementColumns = []string{
	"id", "contract_id", "month", "year", "deadline_date", "payment_date", "status", "fee_type",
	"marked_as_paid_at", "api_id", "api_updated_at", "created_at", "updated_at",
}

func (r *rect) statement(i int, b *rowBuf) {
	contract, k := i/statementsPerContract, i%statementsPerContract
	cohort := firstCohort + contract%cohorts
	month, year, deadline, payment := statementDates(cohort, k)
	d := r.refDice.at(streamStatement, i)
	status := statementStatus(payment)
	var paidAt any
	updated := d.moment(latest(rectLaunch, days(deadline, -30)))
	if status == "paid" {
		at := d.moment(days(payment, -d.between(1, 4)))
		paidAt, updated = at, latest(updated, at)
	}
	updated = earliest(updated, asOf)
	created := earliest(d.moment(rectLaunch), updated)
	feeType := "output"
	if k%12 == 0 {
		feeType = "service"
	}
	b.add(int64(i+1), int64(contract+1), int32(month), int32(year), deadline, payment, status, feeType,
		paidAt, d.uuid(), rarelyNull(i, updated), created, updated)
}

// statementStatus: statements are paid on their payment date, payable in
// the month before.
func statementStatus(payment time.Time) string {
	switch {
	case payment.Before(today):
		return "paid"
	case payment.Before(days(today, 35)):
		return "payable"
	}
	return "open"
}
