package seed

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

var traineeColumns = []string{
	"id", "provider_trainee_id", "first_names", "middle_names", "last_name", "date_of_birth", "sex", "email",
	"trn", "hesa_id", "slug", "provider_id", "state", "training_route", "training_initiative",
	"course_subject_one", "course_subject_two", "course_subject_three", "course_min_age", "course_max_age",
	"course_education_phase", "study_mode", "itt_start_date", "itt_end_date", "trainee_start_date",
	"defer_date", "reinstate_date", "outcome_date", "defer_reason",
	"submitted_for_trn_at", "recommended_for_award_at", "awarded_at", "applying_for_bursary",
	"applying_for_grant", "applying_for_scholarship", "bursary_tier", "funding_eligibility",
	"commencement_status", "ethnic_group", "ethnic_background", "disability_disclosure", "record_source",
	"start_academic_cycle_id", "end_academic_cycle_id", "employing_school_id", "training_partner_id",
	"progress", "submission_ready", "discarded_at", "created_at", "updated_at",
	"course_uuid", "course_allocation_subject_id", "ebacc", "region", "iqts_country", "placement_detail",
	"additional_ethnic_background", "diversity_disclosure", "employing_school_not_applicable",
	"training_partner_not_applicable", "created_from_dttp", "created_from_hesa", "hesa_updated_at",
	"slug_sent_to_trs_at", "hesa_editable",
}

var (
	primarySubjects   = []string{"primary teaching", "primary teaching", "primary teaching", "primary with mathematics", "primary with English", "primary with physical education", "primary with science"}
	secondarySubjects = []string{
		"mathematics", "mathematics", "English studies", "English studies", "biology", "chemistry", "physics",
		"computer science", "history", "geography", "French language", "Spanish language", "German language",
		"design and technology", "music education and teaching", "physical education", "religious studies",
		"drama", "art and design", "business studies", "economics", "psychology", "citizenship",
	}
	earlyYearsSubjects  = []string{"early years teaching"}
	scholarshipSubjects = map[string]bool{
		"mathematics": true, "physics": true, "chemistry": true, "computer science": true,
		"French language": true, "Spanish language": true, "German language": true,
	}
)

var ethnicBackgrounds = [][]string{
	0: {"Bangladeshi", "Chinese", "Indian", "Pakistani", "Another Asian background"},
	1: {"African", "Caribbean", "Another Black background"},
	2: {"Asian and White", "Black African and White", "Black Caribbean and White", "Another Mixed background"},
	3: {"British, English, Northern Irish, Scottish, or Welsh", "British, English, Northern Irish, Scottish, or Welsh", "Irish", "Irish Traveller or Gypsy", "Another White background"},
	4: {"Arab", "Another ethnic background"},
	5: {"Not provided"},
}

// latin1Name is Muñoz as a legacy Latin-1 client wrote it: 0xF1 is not
// UTF-8.
const latin1Name = "Mu\xf1oz"

var deferReasons = []string{
	"Maternity leave", "Long-term illness", "Personal circumstances - see email from trainee",
	"Caring responsibilities", "Did not return after Christmas", "Health reasons", "Bereavement",
	"Placement school closed; awaiting new placement",
}

// Regions of England (Register's config/locales), for salaried and
// apprenticeship routes.
var regions = []string{
	"North East", "North West", "Yorkshire and the Humber", "East Midlands", "West Midlands",
	"East of England", "London", "London", "South East", "South West",
}

var iqtsCountries = []string{"Spain", "United Arab Emirates", "India", "Nigeria", "Hong Kong", "Canada", "South Africa", "Jamaica"}

var additionalEthnicBackgrounds = []string{"Kurdish", "Latin American", "Turkish Cypriot", "Roma", "Sri Lankan Tamil"}

// trainee makes trainee i's row.
func (r *register) trainee(i int, b *rowBuf) {
	var p traineePlan
	r.plan(i, &p)
	var id identity
	original := i
	if p.kind == traineeDuplicate {
		original = i - 1
	}
	r.identity(original, r.startYear(original, r.kindOf(original)), &id)
	d := r.detailDice.at(streamTraineeDetail, i)
	if p.kind == traineeDuplicate {
		// Half the second registrations reuse the first one's email.
		if d.chance(0.5) || id.email == "" {
			r.countEmail(&id)
			if id.shared < 0 && id.email != "" {
				r.sharedPairs++
			}
		} else {
			var own identity
			r.identity(i, p.year, &own)
			id.email, id.shared = own.email, own.shared
			r.countEmail(&id)
		}
	} else {
		r.countEmail(&id)
	}

	if p.kind == traineeAllNulls {
		r.allNullsTrainee(i, &p, d, b)
		return
	}

	provider := r.providerOf(i)
	if p.kind == traineeDuplicate && d.chance(0.5) {
		provider = r.providerOf(i - 1) // registered twice by the same provider
	}

	var trn any
	if p.hasTRN {
		trn = r.trn(original)
	}
	if trn != nil && p.kind == traineeDuplicate {
		r.counts.inc(PlantedDuplicateTRNs)
	}

	phase := 1
	var subjects [3]any
	var minAge, maxAge any
	switch {
	case isEarlyYears(p.route):
		phase = 2
		subjects[0] = earlyYearsSubjects[0]
		minAge, maxAge = 0, 5
	case d.chance(0.45):
		phase = 0
		subjects[0] = d.pick(primarySubjects)
		ages := [][2]int{{3, 11}, {5, 11}, {5, 11}, {7, 11}}[d.IntN(4)]
		minAge, maxAge = ages[0], ages[1]
	default:
		subjects[0] = d.pick(secondarySubjects)
		if d.chance(0.15) {
			subjects[1] = d.pick(secondarySubjects)
			if subjects[1] == subjects[0] {
				subjects[1] = nil
			} else if d.chance(0.2) {
				subjects[2] = d.pick(secondarySubjects)
			}
		}
		ages := [][2]int{{11, 16}, {11, 18}, {11, 18}, {14, 19}}[d.IntN(4)]
		minAge, maxAge = ages[0], ages[1]
	}

	var studyMode any = 1
	switch {
	case isAssessmentOnly(p.route):
		studyMode = nil
	case p.partTime:
		studyMode = 0
	}

	var traineeStart, commencement any
	switch n := d.IntN(100); {
	case p.ittStart.After(today):
		commencement = 2
	case n < 65:
		traineeStart, commencement = p.ittStart, 0
	case n < 85:
		traineeStart, commencement = days(p.ittStart, d.between(1, 60)), 1
	}

	var deferReason any
	if !p.deferDate.IsZero() && d.chance(0.6) {
		deferReason = d.pick(deferReasons)
	}

	var bursary, grant, scholarship, tier, funding any
	switch p.route {
	case 1, 3, 11:
		bursary = d.chance(0.4)
		if bursary == true && p.year <= 2021 && d.chance(0.5) {
			tier = 1 + d.IntN(3)
		}
	case 4, 5, 7, 8, 14:
		grant = d.chance(0.4)
	}
	if d.chance(0.15) {
		bursary = nil
	}
	if subjects[0] != nil && scholarshipSubjects[subjects[0].(string)] {
		scholarship = d.chance(0.1)
	}
	if p.year >= 2025 {
		funding = []any{"eligible", "eligible", "eligible", "not_eligible", nil}[d.IntN(5)]
	}

	var group, background, additionalBackground, disability, diversity any
	if !d.chance(0.03) {
		g := d.weighted([]int{10, 5, 4, 70, 2, 6})
		group, background, diversity = g, d.pick(ethnicBackgrounds[g]), 0
		if d.chance(0.05) {
			background = nil
		}
		if bg, _ := background.(string); strings.HasPrefix(bg, "Another") && d.chance(0.5) {
			additionalBackground = d.pick(additionalEthnicBackgrounds)
		}
		if g == 5 {
			diversity = 1
		}
	}
	if !d.chance(0.03) {
		disability = d.weighted([]int{8, 80, 9})
	}

	source := r.recordSource(p.year, provider, d)
	var hesaID any
	if source == "hesa_collection" || source == "hesa_trn_data" {
		hesaID = "1" + padded(p.year%100, 2) + padded(int(mix64(uint64(r.opts.Seed)^uint64(i))%10000000000), 10)
	}

	var employing, partner, employingNA, partnerNA, region any = nil, nil, false, false, nil
	switch p.route {
	case 4, 5, 7, 14:
		region = d.pick(regions)
		if d.chance(0.05) {
			employingNA = true
		} else {
			employing = int64(1 + d.IntN(r.schools))
		}
	}
	// Training partners 1..schools are the schools, in order (see
	// trainingPartner).
	switch {
	case p.route == 3 || p.route == 4:
		partner = int64(1 + d.IntN(r.schools))
	case d.chance(0.2):
		partner = int64(1 + d.IntN(r.schools))
	case d.chance(0.1):
		partnerNA = true
	}
	if p.year < 2022 && d.chance(0.3) {
		employingNA, partnerNA = nil, nil // before the "not applicable" answers existed
	}

	var courseUUID, allocationSubject, ebacc, iqtsCountry, placement any
	if source == "apply" || (source == "manual" && d.chance(0.5)) {
		courseUUID = d.uuid()
	}
	if subjects[0] != nil {
		allocationSubject = int64(1 + hashOf(r.opts.Seed, streamTraineeDetail, len(subjects[0].(string)), 38))
	}
	if phase == 1 {
		ebacc = d.chance(0.6)
	} else if d.chance(0.5) {
		ebacc = false
	}
	if p.route == 12 {
		iqtsCountry = d.pick(iqtsCountries)
	}
	if p.year >= 2023 {
		placement = d.weighted([]int{75, 25})
		if d.chance(0.2) {
			placement = nil
		}
	}
	var hesaUpdated, slugSent any
	if source == "hesa_collection" || source == "hesa_trn_data" {
		hesaUpdated = d.moment(d.dayIn(p.created, today))
	}
	if trn != nil && !p.submittedAt.IsZero() && d.chance(0.9) {
		slugSent = p.submittedAt.Add(time.Duration(d.between(1, 3600)) * time.Second)
	}

	// Records Register imported before the progress tracker existed, and
	// a few from the HESA collection since, hold NULL progress and
	// submission_ready (both columns are nullable in Register).
	prog, ready := any(progress(p.state, d)), any(p.state != stateDraft && p.state != stateNull)
	if p.kind == traineeNullProgress {
		prog, ready = nil, nil
		r.counts.inc(PlantedNullProgressTrainees)
	}

	var providerRef any
	if d.chance(0.7) || source == "hesa_collection" || source == "api" {
		providerRef = padded(p.year%100, 2) + string(rune('A'+d.IntN(26))) + padded(d.IntN(100000), 5)
	}

	var state, route any
	if p.state != stateNull {
		state = p.state
	} else {
		r.counts.inc(PlantedNullStateTrainees)
	}
	if p.route != routeNull {
		route = p.route
	} else {
		r.counts.inc(PlantedNullRouteTrainees)
	}
	if p.route == 13 {
		r.counts.inc(PlantedRetiredRouteTrainees)
	}
	dob := any(id.dob)
	if p.kind == traineeExtremeDates {
		dob = date(1900, time.January, 1)
		r.counts.inc(PlantedExtremeDateTrainees)
	}
	if !p.discardedAt.IsZero() {
		r.counts.inc(PlantedSoftDeletedTrainees)
	}
	if !p.reinstateDate.IsZero() {
		r.counts.inc(PlantedDeferredThenReinstated)
	}
	var sex any
	if id.sex >= 0 {
		sex = id.sex
	}

	last := any(id.last.written)
	if r.anyBytes && p.kind == traineeNormal && (i%157 == 41 || i == r.trainees/3) {
		last = latin1Name
		r.counts.inc(PlantedNonUTF8Trainees)
	}
	b.add(int64(i+1), providerRef, id.first.written, nullString(id.middle.written), last, dob, sex, nullString(id.email),
		trn, hesaID, d.base58(24), int64(provider), state, route, r.initiative(p.year, d),
		subjects[0], subjects[1], subjects[2], minAge, maxAge,
		phase, studyMode, p.ittStart, p.ittEnd, traineeStart,
		nullTime(p.deferDate), nullTime(p.reinstateDate), nullTime(p.outcomeDate), deferReason,
		nullTime(p.submittedAt), nullTime(p.recommendedAt), nullTime(p.awardedAt), bursary,
		grant, scholarship, tier, funding,
		commencement, group, background, disability, source,
		r.cycleID(p.ittStart), r.cycleID(p.ittEnd), employing, partner,
		prog, ready, nullTime(p.discardedAt), p.created, p.updated,
		courseUUID, allocationSubject, ebacc, region, iqtsCountry, placement,
		additionalBackground, diversity, employingNA,
		partnerNA, source == "dttp", source == "hesa_collection" || source == "hesa_trn_data", hesaUpdated,
		slugSent, source == "hesa_collection")
}

// allNullsTrainee is a record with every nullable column NULL: what a
// half-finished manual draft looks like to a reader that expects values.
func (r *register) allNullsTrainee(i int, p *traineePlan, d *dice, b *rowBuf) {
	r.counts.inc(PlantedAllNullTrainees)
	r.counts.inc(PlantedNullStateTrainees)
	r.counts.inc(PlantedNullRouteTrainees)
	r.counts.inc(PlantedNullProgressTrainees)
	row := make([]any, len(traineeColumns))
	for k, v := range map[string]any{
		"id": int64(i + 1), "slug": d.base58(24), "provider_id": int64(r.providerOf(i)),
		"created_from_dttp": false, "created_from_hesa": false,
		"created_at": p.created, "updated_at": p.created,
	} {
		row[slices.Index(traineeColumns, k)] = v
	}
	b.add(row...)
}

// providerOf is trainee i's provider. Providers differ a lot in size: low
// ids are the big universities.
func (r *register) providerOf(i int) int {
	return 1 + int(float64(r.providers)*pow16(r.providerDice.at(streamTraineeProvider, i).Float64()))
}

// countEmail tallies the shared mailboxes in use, to count those used twice.
func (r *register) countEmail(id *identity) {
	if id.shared >= 0 {
		r.sharedMailboxUses[id.shared]++
	}
}

// trn is trainee i's TRN: seven digits, distinct for every i (the stride
// is prime to 9,000,000), so the only repeats are planted duplicates.
func (r *register) trn(i int) string {
	offset := int(mix64(uint64(r.opts.Seed)) % 9000000)
	return itoa(1000000 + (offset+i*7654321)%9000000)
}

func (r *register) recordSource(year, provider int, d *dice) string {
	university := provider%3 == 1
	switch {
	case year <= 2020:
		return []string{"dttp", "dttp", "dttp", "dttp", "manual"}[d.IntN(5)]
	case university && d.chance(0.5):
		return []string{"hesa_collection", "hesa_collection", "hesa_trn_data"}[d.IntN(3)]
	case year >= 2025 && d.chance(0.3):
		return []string{"api", "api", "csv"}[d.IntN(3)]
	case year >= 2024 && d.chance(0.1):
		return "csv"
	case year == 2021 && d.chance(0.2):
		return "dttp"
	}
	return []string{"apply", "apply", "manual"}[d.IntN(3)]
}

// initiative is a training_initiative code: mostly 4 (no initiative).
func (r *register) initiative(year int, d *dice) any {
	switch n := d.IntN(1000); {
	case n < 50:
		return nil
	case n < 70:
		return 2
	case n < 85:
		return 3
	case n < 95:
		return 0
	case n < 105:
		return 1
	case n < 130 && year >= 2023:
		return 7
	case n < 140:
		return 8
	case n < 160:
		return 9
	case n < 170:
		return 10
	case n < 175:
		return 5
	case n < 180:
		return 6
	}
	return 4
}

var progressSections = []string{"personal_details", "contact_details", "diversity", "degrees", "course_details", "training_details", "schools", "funding", "trainee_data"}

// progress is the jsonb of completed sections; drafts are part-way.
func progress(state int, d *dice) json.RawMessage {
	done := len(progressSections)
	if state == stateDraft {
		done = d.IntN(len(progressSections))
	}
	b := []byte{'{'}
	for k, s := range progressSections {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, s...)
		b = append(b, `":`...)
		if k < done {
			b = append(b, "true"...)
		} else {
			b = append(b, "false"...)
		}
	}
	return append(b, '}')
}

// pow16 skews a uniform draw towards 0.
func pow16(u float64) float64 { return u * u * (0.4 + 0.6*u) }
