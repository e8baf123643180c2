package schemas

import (
	"fmt"
	"slices"
	"strings"
)

// registry holds every contract, in the order entities are listed and run.
var registry = []*Contract{
	&Trainees, &TraineeWithdrawals, &TraineeWithdrawalReasons, &WithdrawalReasons, &Providers, &AcademicCycles, &TrainingPartners,
	&Schools, &LeadProviders, &DeliveryPartners,
	&AppropriateBodies, &AppropriateBodyPeriods, &ActiveLeadProviders, &LeadProviderDeliveryPartnerships, &SchoolPartnerships,
	&Teachers,
	&ECTAtSchoolPeriods, &MentorAtSchoolPeriods, &MentorshipPeriods, &InductionPeriods, &TrainingPeriods,
	&LeadProviderContracts, &BandedFeeStructures, &BandTerms, &FlatRateFeeStructures, &Statements, &StatementAdjustments,
	&Declarations, &RegisterStatuses, &RECTStatuses, &Audits, &Events,
}

// All returns every contract in a stable order.
func All() []*Contract { return slices.Clone(registry) }

// Lookup returns the contract of an entity, or an error that lists the
// entities there are.
func Lookup(entity string) (*Contract, error) {
	for _, c := range registry {
		if c.Entity == entity {
			return c, nil
		}
	}
	return nil, fmt.Errorf("unknown entity %q (known: %s)", entity, strings.Join(Names(), ", "))
}

// Names lists the entity names.
func Names() []string {
	names := make([]string, len(registry))
	for i, c := range registry {
		names[i] = c.Entity
	}
	return names
}
