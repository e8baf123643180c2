package seed

import (
	"math/big"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// The money of Register early career teachers: each contract's fee
// structures and the adjustments DfE's finance team makes to statements.
// Money and ratios are sent as exact decimals: a float64 (0.2 has no exact
// binary form) would leave the value to the driver's formatting, and the
// pipeline's tests compare these values digit for digit.

// decimal is unscaled × 10^-scale, with that many decimal places.
func decimal(unscaled int64, scale int) pgtype.Numeric {
	return pgtype.Numeric{Int: big.NewInt(unscaled), Exp: int32(-scale), Valid: true}
}

// pounds is an amount of money given in pence.
func pounds(pence int64) pgtype.Numeric { return decimal(pence, 2) }

// decimalString is an exact decimal written out, for values an int64 of
// units cannot hold (more digits than 18).
func decimalString(s string) pgtype.Numeric {
	var n pgtype.Numeric
	if err := n.Scan(s); err != nil {
		panic("seed: bad decimal " + s)
	}
	return n
}

// contractYear is the cohort year and lead provider (0-based) of contract
// index i (contract id i+1, the id of its active lead provider).
func contractYear(i int) (year, lp int) { return firstCohort + i%cohorts, i / cohorts }

// ittecfFrom is the first cohort whose contracts are ittecf_ectp (the
// ITTECF early career teacher programme) rather than ecf.
const ittecfFrom = 2025

func contractType(year int) string {
	if year >= ittecfFrom {
		return "ittecf_ectp"
	}
	return "ecf"
}

// financeCreated is when the fee structures of contract i were set up, just
// after the contract.
func financeCreated(i int) time.Time { return time.Date(2025, 2, 10, 12, 30, i, 0, time.UTC) }

var bandedFeeStructureColumns = []string{
	"id", "contract_id", "recruitment_target", "setup_fee", "monthly_service_fee",
	"uplift_fee_per_declaration", "uplift_target_ratio", "created_at", "updated_at",
}

// bandedFeeStructure is contract i's: every contract has one (the ECTs'
// fees of an ittecf_ectp contract, all the fees of an ecf one).
func (r *rect) bandedFeeStructure(i int, b *rowBuf) {
	year, _ := contractYear(i)
	d := r.refDice.at(streamStatement, 1<<41+i)
	target := int32(50 * d.between(30, 120)) // 1,500 to 6,000 participants
	setup := pounds(int64(d.between(40_000, 150_000))*100 + int64(d.IntN(100)))
	// Older contracts agreed a monthly service fee; the service computes
	// it from the bands for the newer ones.
	var monthly any
	if year <= 2023 {
		monthly = pounds(int64(d.between(18_000, 60_000))*100 + int64(d.IntN(100)))
	}
	// The uplift target ratios DfE set for ecf contracts (the service's
	// backfill migration 20260618144509); none for ittecf_ectp.
	var uplift, upliftTarget any = pounds(0), nil
	if contractType(year) == "ecf" {
		uplift = pounds(100_00)
		upliftTarget = decimal(3300, 4)
		if year == 2024 {
			upliftTarget = decimal(4000, 4)
		}
	}
	created := financeCreated(i)
	updated := d.moment(d.dayIn(rectLaunch, days(rectLaunch, 60)))
	b.add(int64(i+1), int64(i+1), target, setup, monthly, uplift, upliftTarget, created, updated)
}

var bandTermColumns = []string{
	"id", "banded_fee_structure_id", "band_id", "fee_per_declaration", "output_fee_ratio", "service_fee_ratio",
	"created_at", "updated_at",
}

// bandsPerProvider is the most bands a lead provider has in a year: the id
// stride of active_lead_provider_bands (a table not seeded) and of the
// band terms.
const bandsPerProvider = 4

// feeSplits are (output, service) shares of a band's fee, in hundredths.
var feeSplits = [][2]int64{{60, 40}, {55, 45}, {70, 30}}

// bandTerms are the 3 or 4 bands of banded fee structure i (contract i):
// band A pays most per participant, each later band less.
func (r *rect) bandTerms(i int, b *rowBuf) {
	d := r.refDice.at(streamStatement, 1<<42+i)
	n := 3 + d.IntN(2)
	split := feeSplits[d.IntN(len(feeSplits))]
	fee := int64(d.between(1_100, 1_450))*100 + int64(d.IntN(100)) // band A, in pence
	created := financeCreated(i)
	for k := range n {
		id := int64(i*bandsPerProvider + k + 1)
		b.add(id, int64(i+1), id, pounds(fee), decimal(split[0], 2), decimal(split[1], 2), created, created)
		fee = fee * int64(100-d.between(5, 12)) / 100
	}
}

var flatRateFeeStructureColumns = []string{
	"id", "contract_id", "recruitment_target", "fee_per_declaration", "created_at", "updated_at",
}

// flatRateFeeStructure prices the mentors of the i-th ittecf_ectp contract.
func (r *rect) flatRateFeeStructure(i int, b *rowBuf) {
	years := lastCohort - ittecfFrom + 1
	lp, year := i/years, ittecfFrom+i%years
	contract := activeLeadProviderID(lp, year)
	d := r.refDice.at(streamStatement, 1<<43+i)
	created := financeCreated(int(contract - 1))
	b.add(int64(i+1), contract, int32(50*d.between(10, 50)),
		pounds(int64(d.between(900, 1_300))*100+int64(5*d.IntN(20))), created, created)
}

// flatRateFeeStructures is how many contracts are ittecf_ectp.
const flatRateFeeStructures = leadProviderCount * (lastCohort - ittecfFrom + 1)

var statementAdjustmentColumns = []string{
	"id", "statement_id", "payment_type", "amount", "ecf_id", "created_at", "updated_at",
}

// adjustmentKinds are what the finance team writes in payment_type, and
// whether such an adjustment takes money off the statement.
var adjustmentKinds = []struct {
	label    string
	negative bool
}{
	{"Uplift fees not paid in previous statement", false},
	{"Clawback of duplicate started declaration", true},
	{"Additional service fee", false},
	{"Correction to band A output payment", false},
	{"Correction to band A output payment", true},
	{"Mentor training fee correction", false},
	{"Overpayment recovered", true},
	{"Late declaration paid by hand", false},
	{"Reconciliation with ECF1 statement", true},
	{"Contract variation", false},
}

// Statements whose adjustments the seed plants: the pro-rata amounts
// Ruby's BigDecimal computed and nobody rounded. Both are output statements
// of the first lead provider's 2021 and 2022 contracts, which every scale
// has.
const (
	overPreciseStatement = 1*statementsPerContract + 4  // contract 2 (2022), fifth statement
	tinyAmountStatement  = 0*statementsPerContract + 15 // contract 1 (2021), sixteenth statement
)

// statementAdjustments are the adjustments of statement i (0-based, as in
// statement): about one output statement in twelve has one or two.
func (r *rect) statementAdjustments(i int, b *rowBuf) {
	contract, k := i/statementsPerContract, i%statementsPerContract
	cohort := firstCohort + contract%cohorts
	_, _, deadline, payment := statementDates(cohort, k)
	if k%12 == 0 || days(deadline, -25).After(today) {
		return // a service statement, or one too far ahead to adjust yet
	}
	d := r.refDice.at(streamStatement, 1<<40+i)
	add := func(label string, amount pgtype.Numeric) {
		r.adjustmentID++
		if payment.Before(rectLaunch) {
			// Migrated from the previous service with its statement.
			at := d.moment(rectLaunch)
			b.add(r.adjustmentID, int64(i+1), label, amount, d.uuid(), at, at)
			return
		}
		day := d.dayIn(days(deadline, -25), earliest(deadline, today))
		created := d.moment(day)
		updated := created
		if d.chance(0.2) { // corrected before the deadline
			updated = latest(created, earliest(d.moment(d.dayIn(day, earliest(deadline, today))), asOf))
		}
		b.add(r.adjustmentID, int64(i+1), label, amount, nil, created, updated)
	}

	switch i {
	case overPreciseStatement:
		// 12,500 pounds over 12 months, as an unrounded BigDecimal
		// division leaves it; the same amount rounded to 9 places fits.
		add("Additional service fee (pro rata)", decimalString("1041.6666666666666666667"))
		add("Additional service fee (pro rata)", decimal(1041_666666667, 9))
		r.counts.inc(PlantedOverPreciseAdjustments)
	case tinyAmountStatement:
		// A rounding difference carried over from ECF1: a tenth of a
		// nano-pound, which numeric(38,9) cannot hold.
		add("Rounding difference from ECF1", decimalString("0.0000000001"))
		add("Rounding difference from ECF1", decimal(1, 9))
		r.counts.inc(PlantedOverPreciseAdjustments)
	}

	if !d.chance(1.0 / 12) {
		return
	}
	for range 1 + d.IntN(2) {
		kind := adjustmentKinds[d.IntN(len(adjustmentKinds))]
		// Typed in by hand: whole pounds, pounds and pence, or tens of pence.
		var unscaled int64
		var scale int
		switch d.IntN(3) {
		case 0:
			unscaled, scale = int64(d.between(50, 25_000)), 0
		case 1:
			unscaled, scale = int64(d.between(50_00, 25_000_00)), 2
		default:
			unscaled, scale = int64(d.between(5_0, 25_000_0)), 1
		}
		if kind.negative {
			unscaled = -unscaled
		}
		add(kind.label, decimal(unscaled, scale))
	}
}
