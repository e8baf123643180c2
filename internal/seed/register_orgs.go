package seed

import "time"

var providerColumns = []string{
	"id", "name", "code", "ukprn", "accreditation_id", "dttp_id", "accredited",
	"apply_sync_enabled", "discarded_at", "created_at", "updated_at",
}

// registerLaunch is when Register went live and imported the providers and
// trainees DTTP held: older records carry this created_at.
var registerLaunch = date(2021, time.June, 28)

// provider makes provider i: universities (accreditation ids 1xxx) and
// school-centred providers (SCITTs, 5xxx), as the real ids run.
func (r *register) provider(i int, b *rowBuf) {
	d := r.orgDice.at(streamProvider, i)
	town := towns[(i*7+d.IntN(3))%len(towns)]
	var name, accreditation string
	if d.chance(0.35) {
		name = d.pick([]string{"University of ", "", ""}) + town
		if name == town {
			name = town + d.pick([]string{" University", " Spa University", " Institute of Education"})
		}
		accreditation = itoa(1000 + i)
	} else {
		name = town + d.pick([]string{" SCITT", " Teacher Training Partnership", " Schools' Training Partnership", " Primary SCITT", " Teaching School Hub SCITT"})
		accreditation = itoa(5000 + i)
	}
	const codeChars = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
	var code any = string([]byte{codeChars[1+d.IntN(9)], codeChars[10+d.IntN(24)], codeChars[d.IntN(len(codeChars))]})
	if i%7 == 5 {
		code = nil
	}

	var dttpID any
	if i%9 != 4 { // providers accredited after DTTP closed have no DTTP id
		dttpID = d.uuid()
	}
	var applySync any
	if i%11 != 3 { // some providers never chose
		applySync = d.chance(0.4)
	}
	created := d.moment(registerLaunch)
	if i%9 == 4 {
		created = d.moment(d.dayIn(date(2022, 1, 1), date(2025, 12, 31)))
	}
	updated := d.moment(d.dayIn(created, today))
	var discarded any
	if i == 2 { // a provider that closed; its trainees stay
		discarded = updated
	}
	var ukprn, accreditationID any = "10" + padded(int(mix64(uint64(i))%1000000), 6), accreditation
	switch i {
	case 2: // the closed provider lost its accreditation
		accreditationID = nil
	case 3: // imported from DTTP without one
		ukprn = nil
	}
	b.add(int64(i+1), name, code, ukprn, accreditationID, dttpID,
		i%13 != 7, applySync, discarded, created, updated)
}

var registerSchoolColumns = []string{"id", "urn", "name", "town", "postcode", "open_date", "close_date", "created_at", "updated_at"}

// school makes a school: employing schools and training partners of
// salaried and school-direct trainees.
func (r *register) school(i int, b *rowBuf) {
	d := r.orgDice.at(streamSchool, i)
	urn, name, town := r.schoolIdentity(i)
	var townVal, postcode, opened, closed any = town, d.postcode(), nil, nil
	if i%17 == 5 {
		townVal = nil
	}
	if i%19 == 6 {
		postcode = nil
	}
	if d.chance(0.6) {
		opened = d.dayIn(date(1950, 1, 1), date(2024, 9, 1))
	}
	if d.chance(0.05) || i == 1 {
		closed = d.dayIn(date(2016, 8, 31), date(2026, 7, 31))
	}
	created := d.moment(registerLaunch)
	b.add(int64(i+1), urn, name, townVal, postcode, opened, closed, created, d.moment(d.dayIn(registerLaunch, today)))
}

// schoolIdentity is school i's URN, name and town, from a stream of its own
// so that the training partner that is the school can repeat them.
func (r *register) schoolIdentity(i int) (urn, name, town string) {
	d := r.orgDice.at(streamSchoolName, i)
	town = d.pick(towns)
	// Distinct six-digit URNs: 7919 is prime to 900,000.
	return itoa(100000 + (i*7919)%900000), d.schoolName(town), town
}

var trainingPartnerColumns = []string{
	"id", "name", "provider_id", "record_type", "school_id", "ukprn", "urn", "discarded_at", "created_at", "updated_at",
}

// trainingPartner makes training partner i (formerly lead partner): the
// first r.schools are the schools, with the same ids, so a trainee's
// training_partner_id can be drawn like a school id; after them come the
// universities that partner other providers (record_type hei).
func (r *register) trainingPartner(i int, b *rowBuf) {
	d := r.orgDice.at(streamTrainingPartner, i)
	created := d.moment(registerLaunch)
	if i < r.schools {
		urn, name, _ := r.schoolIdentity(i)
		var discarded any
		if i%23 == 11 {
			discarded = d.moment(d.dayIn(created, today))
		}
		b.add(int64(i+1), name, nil, "school", int64(i+1), nil, urn, discarded, created, d.moment(d.dayIn(created, today)))
		return
	}
	p := i - r.schools
	if p%3 != 1 {
		return
	}
	var name any = "Partner HEI " + itoa(p+1)
	if p == 1 {
		name = nil // an HEI imported from DTTP without one
	}
	b.add(int64(i+1), name, int64(p+1), "hei", nil, "10"+padded(int(mix64(uint64(p))%1000000), 6), nil, nil, created, d.moment(d.dayIn(created, today)))
}
