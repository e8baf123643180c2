package lookml

// The explores of the model. Which paths an analyst follows from an entity
// is chosen here; how each join is made — its condition and relationship —
// is derived from the contracts (Column.References, Contract.StatusOf), so
// an explore cannot follow a key the contracts do not declare.

// exploreSpec is an explore of an entity: the entity and the joins that
// hang off it.
type exploreSpec struct {
	base string
	// note is added to the entity's description: what the joins mean.
	note  string
	joins []joinSpec
}

// joinSpec brings one more view into an explore.
type joinSpec struct {
	// name is the join's name; the view's when empty. A view joined twice
	// into one explore needs one.
	name string
	// on is the base or join this one hangs off.
	on string
	// column is, following a key, on's column that references the view
	// joined; collecting, the "entity.column" that references on.
	column  string
	collect bool
	// statuses joins the statuses of on: one join per entity type.
	statuses bool
}

// follow joins the view on's column references: many rows of on to one.
func follow(on, column string) joinSpec { return joinSpec{on: on, column: column} }

// collect joins the rows of an entity whose column references on: one row
// of on to many.
func collect(on, entityColumn string) joinSpec {
	return joinSpec{on: on, column: entityColumn, collect: true}
}

// statusesOf joins the status of each row of on from the statuses entity
// that describes it.
func statusesOf(on string) joinSpec { return joinSpec{on: on, statuses: true} }

// as names the join.
func (j joinSpec) as(name string) joinSpec { j.name = name; return j }

// trainingChain is what a training period leads to: the ECT or mentor and
// school it is for, and, when provider-led, the lead provider and delivery
// partner of the school's partnership for the contract period.
func trainingChain() []joinSpec {
	return []joinSpec{
		follow("training_periods", "ect_at_school_period_id"),
		follow("ect_at_school_periods", "teacher_id").as("ect"),
		follow("ect_at_school_periods", "school_id").as("ect_school"),
		follow("training_periods", "mentor_at_school_period_id"),
		follow("mentor_at_school_periods", "teacher_id").as("mentor"),
		follow("mentor_at_school_periods", "school_id").as("mentor_school"),
		follow("training_periods", "school_partnership_id"),
		follow("school_partnerships", "lead_provider_delivery_partnership_id"),
		follow("lead_provider_delivery_partnerships", "active_lead_provider_id"),
		follow("active_lead_providers", "lead_provider_id"),
	}
}

func explores() []exploreSpec {
	return []exploreSpec{
		{base: "trainees", joins: []joinSpec{
			follow("trainees", "provider_id"),
			follow("trainees", "start_academic_cycle_id").as("start_academic_cycle"),
			follow("trainees", "end_academic_cycle_id").as("end_academic_cycle"),
			follow("trainees", "training_partner_id"),
			collect("trainees", "trainee_withdrawals.trainee_id"),
			collect("trainee_withdrawals", "trainee_withdrawal_reasons.trainee_withdrawal_id"),
			follow("trainee_withdrawal_reasons", "withdrawal_reason_id"),
			statusesOf("trainees"),
		}},
		{base: "teachers",
			note: "Training periods, their school partnerships, lead providers and delivery partners, and declarations are the " +
				"teacher's as an ECT; mentor_training_periods are the teacher's as a mentor (the training_periods explore has both).",
			joins: []joinSpec{
				collect("teachers", "ect_at_school_periods.teacher_id"),
				follow("ect_at_school_periods", "school_id").as("ect_school"),
				collect("ect_at_school_periods", "training_periods.ect_at_school_period_id"),
				follow("training_periods", "school_partnership_id"),
				follow("school_partnerships", "lead_provider_delivery_partnership_id"),
				follow("lead_provider_delivery_partnerships", "active_lead_provider_id"),
				follow("active_lead_providers", "lead_provider_id"),
				follow("lead_provider_delivery_partnerships", "delivery_partner_id"),
				collect("training_periods", "declarations.training_period_id"),
				statusesOf("training_periods"),
				collect("teachers", "mentor_at_school_periods.teacher_id"),
				follow("mentor_at_school_periods", "school_id").as("mentor_school"),
				collect("mentor_at_school_periods", "training_periods.mentor_at_school_period_id").as("mentor_training_periods"),
				collect("teachers", "induction_periods.teacher_id"),
				follow("induction_periods", "appropriate_body_period_id"),
				follow("appropriate_body_periods", "appropriate_body_id"),
				statusesOf("teachers"),
			}},
		{base: "training_periods", joins: append(trainingChain(),
			follow("lead_provider_delivery_partnerships", "delivery_partner_id"),
			follow("training_periods", "expression_of_interest_id").as("expression_of_interest"),
			follow("expression_of_interest", "lead_provider_id").as("expression_of_interest_lead_provider"),
			collect("training_periods", "declarations.training_period_id"),
			statusesOf("training_periods"),
		)},
		{base: "declarations",
			note: "delivery_partners is the delivery partner when the declaration was made.",
			joins: append(append([]joinSpec{follow("declarations", "training_period_id")}, trainingChain()...),
				follow("declarations", "delivery_partner_when_created_id"),
				follow("declarations", "mentorship_period_id"),
				follow("declarations", "payment_statement_id").as("payment_statement"),
				follow("declarations", "clawback_statement_id").as("clawback_statement"),
			)},
		{base: "statements", joins: []joinSpec{
			follow("statements", "contract_id"),
			follow("contracts", "active_lead_provider_id"),
			follow("active_lead_providers", "lead_provider_id"),
			collect("statements", "statement_adjustments.statement_id"),
			collect("statements", "declarations.payment_statement_id").as("paid_declarations"),
			collect("statements", "declarations.clawback_statement_id").as("clawed_back_declarations"),
		}},
		{base: "contracts", joins: []joinSpec{
			follow("contracts", "active_lead_provider_id"),
			follow("active_lead_providers", "lead_provider_id"),
			collect("contracts", "contract_banded_fee_structures.contract_id"),
			collect("contract_banded_fee_structures", "contract_banded_fee_structure_band_terms.banded_fee_structure_id"),
			collect("contracts", "contract_flat_rate_fee_structures.contract_id"),
			collect("contracts", "statements.contract_id"),
		}},
		{base: "audits",
			note: "auditable_id is the id of a record of the model auditable_type (trainees.id for a Trainee): join it to that " +
				"explore's table by both, as a Looker join cannot follow a key whose table varies by row."},
		{base: "events", joins: []joinSpec{
			follow("events", "teacher_id"),
			follow("events", "school_id"),
			follow("events", "induction_period_id"),
			follow("events", "training_period_id"),
			follow("events", "declaration_id"),
			follow("events", "lead_provider_id"),
		}},
	}
}
