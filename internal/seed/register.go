package seed

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
)

// register generates Register trainee teachers: providers, schools,
// trainees and their withdrawals. Ids are chosen by the seed (row i has id
// i+1), so that a child row can name its parent without a lookup.
type register struct {
	opts      Options
	providers int
	schools   int
	trainees  int
	kinds     planter

	// Read from the database: the schema file inserts these.
	cycleIDs  map[int]int64 // start year → academic_cycles.id
	reasonIDs map[string]int64
	// anyBytes is a SQL_ASCII database: like a legacy one, it takes text
	// that is not UTF-8, and the seed plants some (Latin-1 names).
	anyBytes bool

	counts counter
	// Uses of each shared mailbox, and duplicates sharing an original's
	// own address: together they count the emails held by several trainees.
	sharedMailboxUses [len(sharedMailboxes)]int64
	sharedPairs       int64
	// Running ids: trainee_withdrawals as that table makes them [0] and as
	// the reasons table recomputes them [1]; trainee_withdrawal_reasons.
	withdrawalIDs [2]int64
	reasonRowID   int64
	auditID       int64

	// One dice per purpose: a computation that needs another row's facts
	// (a duplicate reads its original) must not disturb its own sequence.
	kindDice, planDice, identityDice, detailDice, providerDice, withdrawalDice, orgDice, auditDice *dice
}

// Trainee edge-case kinds (see planted.go for what each plants).
const (
	traineeNormal = iota
	traineeNullState
	traineeNullRoute
	traineeAllNulls
	traineeSoftDeleted
	traineeWithdrawnReinstated
	traineeRewithdrawn
	traineeDeferredReinstated
	traineeExtremeDates
	traineeRetiredRoute
	traineeDuplicate
	traineeNullProgress
)

var traineeKindProbs = []float64{
	traineeNullState - 1:           0.004,
	traineeNullRoute - 1:           0.004,
	traineeAllNulls - 1:            0.001,
	traineeSoftDeleted - 1:         0.012,
	traineeWithdrawnReinstated - 1: 0.006,
	traineeRewithdrawn - 1:         0.002,
	traineeDeferredReinstated - 1:  0.010,
	traineeExtremeDates - 1:        0.001,
	traineeRetiredRoute - 1:        0.003,
	traineeDuplicate - 1:           0.020,
	traineeNullProgress - 1:        0.005,
}

func newRegister(opts Options) *register {
	r := &register{
		opts:      opts,
		providers: clamp(scaled(20, opts.Scale), 6, 400),
		schools:   clamp(scaled(150, opts.Scale), 20, 30000),
		trainees:  max(scaled(1000, opts.Scale), 40),
		counts:    counter{},
	}
	r.kinds = planter{n: r.trainees, probs: traineeKindProbs}
	r.kindDice = newDice(opts.Seed)
	r.planDice = newDice(opts.Seed)
	r.identityDice = newDice(opts.Seed)
	r.detailDice = newDice(opts.Seed)
	r.providerDice = newDice(opts.Seed)
	r.withdrawalDice = newDice(opts.Seed)
	r.orgDice = newDice(opts.Seed)
	r.auditDice = newDice(opts.Seed)
	return r
}

func scaled(n int, scale float64) int { return int(math.Round(float64(n) * scale)) }

func clamp(n, lo, hi int) int { return min(max(n, lo), hi) }

func (r *register) prepare(ctx context.Context, tx pgx.Tx) error {
	var encoding string
	if err := tx.QueryRow(ctx, "SHOW server_encoding").Scan(&encoding); err != nil {
		return fmt.Errorf("read the server encoding: %w", err)
	}
	r.anyBytes = encoding == "SQL_ASCII"
	r.cycleIDs = map[int]int64{}
	rows, err := tx.Query(ctx, "SELECT extract(year FROM start_date)::int, id FROM academic_cycles")
	if err != nil {
		return fmt.Errorf("read academic cycles: %w", err)
	}
	for rows.Next() {
		var year int
		var id int64
		if err := rows.Scan(&year, &id); err != nil {
			return fmt.Errorf("read academic cycles: %w", err)
		}
		r.cycleIDs[year] = id
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read academic cycles: %w", err)
	}
	for y := 2015; y <= 2026; y++ {
		if _, ok := r.cycleIDs[y]; !ok {
			return fmt.Errorf("academic cycle %d/%d is missing: was the schema file changed?", y, y+1)
		}
	}

	r.reasonIDs = map[string]int64{}
	rows, err = tx.Query(ctx, "SELECT name, id FROM withdrawal_reasons")
	if err != nil {
		return fmt.Errorf("read withdrawal reasons: %w", err)
	}
	for rows.Next() {
		var name string
		var id int64
		if err := rows.Scan(&name, &id); err != nil {
			return fmt.Errorf("read withdrawal reasons: %w", err)
		}
		r.reasonIDs[name] = id
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read withdrawal reasons: %w", err)
	}
	for _, set := range [][]string{legacyReasons, june2023Reasons, providerReasons, traineeReasons} {
		for _, name := range set {
			if _, ok := r.reasonIDs[name]; !ok {
				return fmt.Errorf("withdrawal reason %q is missing: was the schema file changed?", name)
			}
		}
	}
	return nil
}

func (r *register) tables() []table {
	return []table{
		{name: "providers", columns: providerColumns, units: r.providers, unit: r.provider},
		{name: "schools", columns: registerSchoolColumns, units: r.schools, unit: r.school},
		{name: "training_partners", columns: trainingPartnerColumns, units: r.schools + r.providers, unit: r.trainingPartner},
		{name: "trainees", columns: traineeColumns, units: r.trainees, unit: r.trainee},
		{name: "trainee_withdrawals", columns: withdrawalColumns, units: r.trainees, unit: r.withdrawalRows},
		{name: "trainee_withdrawal_reasons", columns: withdrawalReasonColumns, units: r.trainees, unit: r.withdrawalReasonRows},
		{name: "audits", columns: auditColumns, units: r.trainees, unit: r.auditRows},
	}
}

func (r *register) planted() map[string]int64 {
	out := r.counts.copy()
	out[PlantedSharedEmails] = r.sharedPairs
	for _, uses := range r.sharedMailboxUses {
		if uses > 1 {
			out[PlantedSharedEmails]++
		}
	}
	if r.anyBytes {
		out[PlantedNonUTF8Trainees] += 0
	}
	for _, k := range []string{
		PlantedDuplicateTRNs, PlantedSharedEmails, PlantedSoftDeletedTrainees, PlantedNullStateTrainees,
		PlantedNullRouteTrainees, PlantedAllNullTrainees, PlantedRetiredRouteTrainees, PlantedExtremeDateTrainees,
		PlantedWithdrawnThenReinstated, PlantedWithdrawnReinstatedWithdrawn, PlantedDiscardedWithdrawals,
		PlantedDeferredThenReinstated, PlantedLegacyWithdrawalReasons, PlantedNullProgressTrainees,
	} {
		out[k] += 0 // a kind planted zero times still has its key
	}
	return out
}

// cycleOf returns the start year of the academic cycle (1 August to 31
// July) containing day.
func cycleOf(day time.Time) int {
	if day.Month() >= time.August {
		return day.Year()
	}
	return day.Year() - 1
}

// cycleID is the academic_cycles id of the cycle containing day, or NULL
// outside the cycles the schema defines.
func (r *register) cycleID(day time.Time) any {
	if day.IsZero() {
		return nil
	}
	if id, ok := r.cycleIDs[cycleOf(day)]; ok {
		return id
	}
	return nil
}
