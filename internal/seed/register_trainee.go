package seed

import (
	"strings"
	"time"
)

// Trainee states (app/models/trainee.rb); stateNull stands for NULL.
const (
	stateNull                = -1
	stateDraft               = 0
	stateSubmittedForTRN     = 1
	stateTRNReceived         = 2
	stateRecommendedForAward = 3
	stateWithdrawn           = 4
	stateDeferred            = 5
	stateAwarded             = 6
)

// routeNull stands for a NULL training_route.
const routeNull = -1

// traineePlan is a trainee's life story: what the trainees row says and
// what its withdrawals must agree with. It is a pure function of the seed
// and the trainee's index, so the withdrawal tables recompute it.
type traineePlan struct {
	index    int
	kind     int
	original bool // a later trainee duplicates this one
	state    int
	route    int
	year     int // start of the academic cycle the course starts in
	partTime bool
	hasTRN   bool

	ittStart, ittEnd          time.Time
	deferDate, reinstateDate  time.Time
	withdrawDate, outcomeDate time.Time
	// For the withdrawn-reinstated-withdrawn kind: the withdrawal undone.
	firstWithdrawDate time.Time

	created, updated                      time.Time
	submittedAt, recommendedAt, awardedAt time.Time
	discardedAt                           time.Time
}

// kindOf returns trainee i's edge-case kind. A duplicate needs an ordinary
// trainee just before it, its original.
func (r *register) kindOf(i int) int {
	k := r.rawKind(i)
	if k == traineeDuplicate && (i == 0 || r.rawKind(i-1) != traineeNormal) {
		return traineeNormal
	}
	return k
}

func (r *register) rawKind(i int) int {
	// The unit before the forced duplicate is kept ordinary: it is the
	// original every tiny seed needs.
	if i+1 == r.kinds.forced(traineeDuplicate) {
		return traineeNormal
	}
	return r.kinds.kindAt(i, r.kindDice.at(streamTraineeKind, i).Float64())
}

// isOriginal reports whether trainee i+1 duplicates trainee i.
func (r *register) isOriginal(i int) bool {
	return i+1 < r.trainees && r.rawKind(i) == traineeNormal && r.kindOf(i+1) == traineeDuplicate
}

// startYear is the cycle trainee i starts in; the identity (age) needs it
// too, so it comes from the kind stream rather than the plan.
func (r *register) startYear(i int, kind int) int {
	d := r.kindDice.at(streamTraineeKind, i)
	d.Float64() // the kind draw
	switch kind {
	case traineeWithdrawnReinstated, traineeRewithdrawn:
		return 2025
	case traineeDeferredReinstated:
		return 2023 + d.IntN(2)
	case traineeRetiredRoute:
		return 2021 + d.IntN(3)
	}
	// Register imported DTTP's history; recent cycles are the busiest.
	weights := []int{2, 3, 3, 4, 5, 6, 8, 9, 10, 11, 12, 7}
	return 2015 + d.weighted(weights)
}

// Route weights by code (config/initializers/training_routes.rb); 13 is
// retired and only planted.
var routeWeights = []int{0: 5, 1: 30, 2: 2, 3: 14, 4: 9, 5: 5, 6: 2, 7: 2, 8: 4, 9: 8, 10: 2, 11: 4, 12: 3, 13: 0, 14: 3}

func isUndergraduate(route int) bool {
	return route == 2 || route == 9 || route == 10 || route == 14
}

func isEarlyYears(route int) bool {
	return route == 2 || route == 6 || route == 7 || route == 8
}

func isAssessmentOnly(route int) bool { return route == 0 || route == 6 }

// stateWeights by start year, over draft .. awarded: older cohorts have
// finished, the coming one is mostly drafts.
func stateWeights(year int) []int {
	switch {
	case year <= 2022:
		return []int{0, 0, 3, 0, 14, 4, 79}
	case year == 2023:
		return []int{0, 0, 4, 1, 14, 4, 77}
	case year == 2024:
		return []int{0, 1, 20, 6, 12, 6, 55}
	case year == 2025:
		return []int{1, 2, 40, 12, 8, 5, 32}
	default:
		// Courses that have not started yet: nothing to withdraw from.
		return []int{45, 30, 25, 0, 0, 0, 0}
	}
}

// plan computes trainee i's story into p.
func (r *register) plan(i int, p *traineePlan) {
	*p = traineePlan{index: i}
	p.kind = r.kindOf(i)
	p.original = r.isOriginal(i)
	p.year = r.startYear(i, p.kind)
	d := r.planDice.at(streamTraineePlan, i)

	p.route = d.weighted(routeWeights)
	switch {
	case p.kind == traineeRetiredRoute:
		p.route = 13
	case p.route == 12 && p.year < 2022, p.route == 14 && p.year < 2024:
		p.route = 1
	}
	p.partTime = !isAssessmentOnly(p.route) && d.chance(0.15)

	p.ittStart = days(date(p.year, time.September, 1), d.between(-20, 25))
	switch {
	case isAssessmentOnly(p.route):
		p.ittStart = days(date(p.year, time.September, 1), d.between(0, 240))
		p.ittEnd = days(p.ittStart, d.between(90, 330))
	case p.route == 14:
		p.ittEnd = date(p.year+4, time.July, d.between(1, 31))
	case isUndergraduate(p.route):
		p.ittEnd = date(p.year+3, time.July, d.between(1, 31))
	case p.partTime:
		p.ittEnd = date(p.year+2, time.July, d.between(1, 31))
	default:
		p.ittEnd = date(p.year+1, time.June, 30).AddDate(0, 0, d.between(0, 31))
	}

	p.state = d.weighted(stateWeights(p.year))
	// A course still running cannot have been recommended or awarded.
	if (p.state == stateAwarded || p.state == stateRecommendedForAward) && p.ittEnd.After(days(today, -20)) {
		p.state = stateTRNReceived
	}
	switch p.kind {
	case traineeNullState, traineeAllNulls:
		p.state = stateNull
	case traineeSoftDeleted:
		if p.state == stateDraft {
			p.state = stateSubmittedForTRN
		}
	case traineeWithdrawnReinstated, traineeDeferredReinstated:
		p.state = stateTRNReceived
	case traineeRewithdrawn:
		p.state = stateWithdrawn
	case traineeDuplicate:
		p.state = []int{stateTRNReceived, stateWithdrawn, stateDeferred, stateAwarded}[d.IntN(4)]
		if p.state == stateAwarded && p.ittEnd.After(days(today, -20)) {
			p.state = stateDeferred
		}
	}
	if p.original && (p.state == stateDraft || p.state == stateSubmittedForTRN) {
		p.state = stateTRNReceived
	}
	switch p.kind {
	case traineeNullRoute, traineeAllNulls:
		p.route = routeNull
	}

	switch p.state {
	case stateTRNReceived, stateRecommendedForAward, stateAwarded:
		p.hasTRN = true
	case stateWithdrawn, stateDeferred, stateNull:
		// TRNs also land on records already withdrawn or deferred.
		p.hasTRN = d.chance(0.85)
	}
	if p.original || p.kind == traineeDuplicate {
		p.hasTRN = true
	}
	if p.kind == traineeAllNulls {
		p.hasTRN = false
	}

	// When the record was made: DTTP's history arrived with Register.
	switch {
	case p.year <= 2020:
		p.created = d.moment(days(registerLaunch, d.IntN(30)))
	default:
		p.created = d.moment(days(p.ittStart, -d.between(10, 200)))
	}
	p.created = earliest(p.created, asOf.Add(-48*time.Hour))
	last := p.created
	if p.state != stateDraft && p.state != stateNull || p.hasTRN {
		p.submittedAt = earliest(p.created.Add(time.Duration(d.between(1, 20*24))*time.Hour), asOf.Add(-time.Hour))
		last = p.submittedAt
	}

	courseEnd := earliest(p.ittEnd, today)
	switch p.state {
	case stateRecommendedForAward, stateAwarded:
		p.outcomeDate = days(p.ittEnd, -d.between(0, 40))
		p.recommendedAt = earliest(d.moment(days(p.outcomeDate, d.between(0, 10))), asOf.Add(-2*time.Hour))
		last = p.recommendedAt
		if p.state == stateAwarded {
			p.awardedAt = earliest(p.recommendedAt.Add(time.Duration(d.between(20, 120))*time.Hour), asOf.Add(-time.Hour))
			last = p.awardedAt
		}
	case stateDeferred:
		p.deferDate = d.dayIn(days(p.ittStart, 30), days(courseEnd, -1))
		last = d.moment(p.deferDate)
	case stateWithdrawn:
		p.withdrawDate = d.dayIn(days(p.ittStart, 14), courseEnd)
		last = d.moment(p.withdrawDate)
	}

	switch p.kind {
	case traineeWithdrawnReinstated:
		// Withdrawn this year, then the provider undid it.
		p.withdrawDate = d.dayIn(date(2025, time.December, 1), date(2026, time.May, 31))
		last = d.moment(days(p.withdrawDate, 60))
	case traineeRewithdrawn:
		p.firstWithdrawDate = d.dayIn(date(2025, time.November, 24), date(2026, time.February, 28))
		p.withdrawDate = d.dayIn(days(p.firstWithdrawDate, 70), date(2026, time.July, 15))
		last = d.moment(p.withdrawDate)
	case traineeDeferredReinstated:
		p.deferDate = d.dayIn(days(p.ittStart, 30), days(p.ittStart, 200))
		p.reinstateDate = d.dayIn(days(p.deferDate, 30), earliest(days(p.deferDate, 300), days(today, -1)))
		last = d.moment(p.reinstateDate)
	case traineeExtremeDates:
		p.ittEnd = date(2099, time.July, 31)
	}

	// Records imported from DTTP carry older events than their created_at.
	last = earliest(latest(last, p.created), asOf)
	p.updated = earliest(last.Add(time.Duration(d.Int64N(int64(30*24*time.Hour)))), asOf)
	if p.updated.Before(last) {
		p.updated = last
	}
	if p.kind == traineeSoftDeleted || p.kind == traineeDuplicate && d.chance(0.3) {
		p.discardedAt = earliest(p.updated.Add(time.Duration(d.between(1, 60*24))*time.Hour), asOf)
		p.updated = p.discardedAt
	}
}

// identity is who a trainee is: a duplicate shares its original's.
type identity struct {
	first, middle, last name
	email               string // "" for NULL
	shared              int    // index into sharedMailboxes, or -1
	dob                 time.Time
	sex                 int // -1 for NULL
}

func (r *register) identity(i int, year int, id *identity) {
	d := r.identityDice.at(streamTraineeIdentity, i)
	*id = identity{shared: -1, sex: -1}
	id.first = firstNames[d.IntN(len(firstNames))]
	id.last = lastNames[d.IntN(len(lastNames))]
	if d.chance(0.35) {
		id.middle = firstNames[d.IntN(len(firstNames))]
		if d.chance(0.1) {
			second := firstNames[d.IntN(len(firstNames))]
			id.middle = name{id.middle.written + " " + second.written, id.middle.ascii}
		}
	}
	// Some providers type surnames in capitals.
	if d.chance(0.01) {
		id.last.written = strings.ToUpper(id.last.written)
	}
	switch n := d.IntN(1000); {
	case n < 300:
		id.sex = 0
	case n < 955:
		id.sex = 1
	case n < 960:
		id.sex = 2
	case n < 975:
		id.sex = 3
	case n < 985:
		id.sex = 4
	}
	age := 21 + d.weighted([]int{16, 14, 12, 10, 8, 6, 5, 4, 4, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1})
	id.dob = days(date(year-age, time.September, 1), -d.IntN(365))

	switch n := d.IntN(100); {
	case n < 3:
		// no email
	case n < 7:
		id.shared = d.IntN(len(sharedMailboxes))
		id.email = sharedMailboxes[id.shared]
	default:
		// The trainee's index makes the address unique: the only repeated
		// addresses are the planted ones.
		local := id.first.ascii + "." + id.last.ascii
		switch d.IntN(4) {
		case 0:
			local = id.first.ascii + id.last.ascii
		case 1:
			local = id.first.ascii[:1] + "." + id.last.ascii
		}
		id.email = local + itoa(i) + "@" + d.pick(emailDomains)
	}
}
