package seed

import (
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"
)

var auditColumns = []string{
	"id", "action", "associated_id", "associated_type", "auditable_id", "auditable_type", "audited_changes",
	"comment", "created_at", "remote_address", "request_uuid", "user_id", "user_type", "username", "version",
}

// audit is one change of a trainee, before it is numbered.
type audit struct {
	at      time.Time
	action  string
	changes map[string]any
}

// Who writes audits in Register: people signed in (user_type User), and
// imports and the API, which name themselves.
var (
	auditProcesses = []string{"HESA collection import", "DTTP import", "Apply import", "TRS TRN update job"}
	auditComments  = []string{
		"Corrected at the trainee's request", "Name changed after marriage", "Updated following email from trainee",
		"Date of birth corrected from passport",
	}
)

// auditRows writes trainee i's audits, as the audited gem records them: a
// create, then an update per change, each with the columns that changed
// (enums as integers, [old, new] for updates). The state changes follow the
// trainee's plan and end at the state its row holds; some changes touch
// personal columns (names, email, date of birth), each ending at the value
// the row holds. Trainee unit i < providers also writes an audit of
// provider i+1, and some trainees a degree's (a model nightshift has no
// contract for).
func (r *register) auditRows(i int, b *rowBuf) {
	var p traineePlan
	r.plan(i, &p)
	original := i
	if p.kind == traineeDuplicate {
		original = i - 1
	}
	var id identity
	r.identity(original, r.startYear(original, r.kindOf(original)), &id)
	d := r.auditDice.at(streamAudit, i)
	provider := r.providerOf(i)

	var audits []audit
	state := func(s int) any {
		if s == stateNull {
			return nil
		}
		return s
	}
	created := map[string]any{"state": 0, "provider_id": provider, "slug": d.base58(24)}
	if p.route != routeNull {
		created["training_route"] = p.route
	}
	if p.kind != traineeAllNulls {
		created["first_names"], created["last_name"] = id.first.written, id.last.written
		created["date_of_birth"] = id.dob.Format(time.DateOnly)
	}
	imported := p.year <= 2020 || p.state == stateNull
	if imported {
		// Imported whole (DTTP, or a record whose state was never set):
		// the create holds the state as it is.
		created["state"] = state(p.state)
	}
	audits = append(audits, audit{at: p.created, action: "create", changes: created})

	cur, last := 0, p.created
	if imported {
		cur = p.state
	}
	// move records a change of state; the changes keep their order, each
	// at least a minute after the one before.
	move := func(at time.Time, to int) {
		if to == cur {
			return
		}
		at = latest(at, last.Add(time.Minute))
		audits = append(audits, audit{at: at, action: "update", changes: map[string]any{"state": []any{state(cur), state(to)}}})
		cur, last = to, at
	}
	if !imported {
		if !p.submittedAt.IsZero() {
			move(p.submittedAt, stateSubmittedForTRN)
			if p.hasTRN && p.state != stateSubmittedForTRN {
				// The TRN comes back within minutes for most, the same
				// day: two changes of state in one day.
				move(p.submittedAt.Add(time.Duration(d.between(2, 240))*time.Minute), stateTRNReceived)
			}
		}
		switch p.kind {
		case traineeWithdrawnReinstated:
			move(d.moment(p.withdrawDate), stateWithdrawn)
			move(d.moment(days(p.withdrawDate, 60)), stateTRNReceived) // withdrawal undone
		case traineeRewithdrawn:
			move(d.moment(p.firstWithdrawDate), stateWithdrawn)
			move(d.moment(days(p.firstWithdrawDate, d.between(1, 30))), stateTRNReceived)
		case traineeDeferredReinstated:
			move(d.moment(p.deferDate), stateDeferred)
			move(d.moment(p.reinstateDate), stateTRNReceived)
		}
		switch p.state {
		case stateRecommendedForAward, stateAwarded:
			move(p.recommendedAt, stateRecommendedForAward)
			if p.state == stateAwarded {
				move(p.awardedAt, stateAwarded)
			}
		case stateDeferred:
			move(d.moment(p.deferDate), stateDeferred)
		case stateWithdrawn:
			move(d.moment(p.withdrawDate), stateWithdrawn)
		}
		move(p.updated, p.state) // whatever else happened, the row's state is the last
	}

	// Changes of personal details, each ending at the row's value, and of
	// course details, which are not personal.
	if p.kind != traineeAllNulls && d.chance(0.3) {
		at := d.moment(d.dayIn(p.created, p.updated))
		change := map[string]any{}
		switch d.IntN(4) {
		case 0:
			change["last_name"] = []any{d.pick(lastNamesWritten), id.last.written}
		case 1:
			change["first_names"] = []any{id.first.ascii, id.first.written}
		case 2:
			change["date_of_birth"] = []any{days(id.dob, d.between(1, 400)).Format(time.DateOnly), id.dob.Format(time.DateOnly)}
		default:
			if id.email != "" {
				change["email"] = []any{nil, id.email}
			} else {
				change["middle_names"] = []any{nil, "Jo"}
			}
		}
		if d.chance(0.5) {
			change["itt_end_date"] = []any{days(p.ittEnd, -d.between(1, 60)).Format(time.DateOnly), p.ittEnd.Format(time.DateOnly)}
		}
		audits = append(audits, audit{at: at, action: "update", changes: change})
	}
	if !p.discardedAt.IsZero() {
		audits = append(audits, audit{at: p.discardedAt, action: "update",
			changes: map[string]any{"discarded_at": []any{nil, p.discardedAt.Format("2006-01-02T15:04:05.000Z")}}})
	}
	// The create first; the others in the order they happened.
	slices.SortStableFunc(audits[1:], func(a, b audit) int { return a.at.Compare(b.at) })

	traineeID := int64(i + 1)
	for v, a := range audits {
		at := earliest(latest(a.at, audits[0].at), asOf)
		r.addAudit(b, d, a.action, int64(provider), "Provider", traineeID, "Trainee", a.changes, at, v+1, p.year <= 2020)
	}

	if d.chance(0.15) && p.kind != traineeAllNulls {
		// One of the trainee's degrees: a model with no contract.
		changes := map[string]any{
			"subject": d.pick(secondarySubjects), "institution": d.pick(ittProviders), "graduation_year": p.year - d.between(0, 5),
			"grade": d.pick([]string{"First-class honours", "Upper second-class honours (2:1)", "Lower second-class honours (2:2)"}),
		}
		r.addAudit(b, d, "create", traineeID, "Trainee", traineeID*3, "Degree", changes, earliest(latest(d.moment(d.dayIn(p.created, p.updated)), p.created), asOf), 1, false)
	}
	if i < r.providers {
		changes := map[string]any{"accredited": []any{false, true}}
		if d.chance(0.5) {
			changes = map[string]any{"apply_sync_enabled": []any{nil, true}}
		}
		r.addAudit(b, d, "update", nil, "", int64(i+1), "Provider", changes, d.moment(d.dayIn(registerLaunch, today)), 2, false)
	}
}

// addAudit writes one audit row, with an author: a person signed in, a
// named process, or someone through the API who is named by email.
func (r *register) addAudit(b *rowBuf, d *dice, action string, associatedID any, associatedType string, auditableID int64, auditableType string,
	changes map[string]any, at time.Time, version int, imported bool,
) {
	text, _ := json.Marshal(changes) // maps of strings, numbers and lists marshal
	var userID, userType, username, remote, requestUUID, comment any
	switch n := d.IntN(100); {
	case imported || n < 15:
		username = d.pick(auditProcesses)
	case n < 20:
		// An API client, named by the email of the person who set it up.
		username = id2email(d)
		u := d.uuid()
		requestUUID = hex.EncodeToString(u[:])
	default:
		userID, userType = int64(1+d.IntN(400)), "User"
		remote = "10." + itoa(d.IntN(256)) + "." + itoa(d.IntN(256)) + "." + itoa(1+d.IntN(254))
		u := d.uuid()
		requestUUID = hex.EncodeToString(u[:])
		if d.chance(0.05) {
			comment = d.pick(auditComments)
		}
	}
	var assocType any
	if associatedType != "" {
		assocType = associatedType
	}
	r.auditID++
	b.add(r.auditID, action, associatedID, assocType, auditableID, auditableType, json.RawMessage(text),
		comment, at, remote, requestUUID, userID, userType, username, version)
}

// id2email is the address of a provider's staff member.
func id2email(d *dice) string {
	f, l := firstNames[d.IntN(len(firstNames))], lastNames[d.IntN(len(lastNames))]
	return f.ascii + "." + l.ascii + "@" + d.pick(emailDomains)
}

// lastNamesWritten is the written forms of the last names.
var lastNamesWritten = func() []string {
	out := make([]string, len(lastNames))
	for i, n := range lastNames {
		out[i] = n.written
	}
	return out
}()
