package schemas

// The periods of Register early career teachers. Every period has
// started_on and an inclusive finished_on (NULL while ongoing); overlaps
// between periods of one kind for one teacher are forbidden by the service
// but not by its database (see the data_quality_issues view).

var rectPeriodIgnored = map[string]string{
	"range": "a daterange the database generates from started_on and finished_on",
}

// atSchoolColumns are the columns of a spell of a teacher (who: ECT or
// mentor) at a school, with the extra columns of that kind of spell.
func atSchoolColumns(who string, extra ...Column) []Column {
	return columns([]Column{
		idColumn("period"),
		{Name: "teacher_id", SourceType: "int8", Type: Int64, References: "teachers.id", Description: "The " + who + " (teachers.id)."},
		{Name: "school_id", SourceType: "int8", Type: Int64, References: "schools.id", Description: "The school (schools.id)."},
	}, periodColumns("spell at the school"), []Column{
		{Name: "email", SourceType: "citext", Type: Text, Nullable: true, PII: PIIPersonal, Description: "The " + who + "'s email at the school (may be a generic address)."},
	}, extra, []Column{
		{Name: "reported_leaving_by_school_id", SourceType: "int8", Type: Int64, References: "schools.id", Nullable: true, Description: "School that reported the " + who + " leaving (schools.id)."},
	}, provenanceColumns(), timestampColumns("period"))
}

// ECTAtSchoolPeriods are the spells of an ECT at a school.
var ECTAtSchoolPeriods = Contract{
	Entity:           "ect_at_school_periods",
	Description:      "Spells of an early career teacher at a school. At most one is open per teacher.",
	Source:           "rect",
	Table:            "ect_at_school_periods",
	PrimaryKey:       []string{"id"},
	MinSchemaVersion: "20260603140320",
	Mode:             Full,
	Ignored:          rectPeriodIgnored,
	Columns: atSchoolColumns("ECT",
		Column{Name: "working_pattern", SourceType: "working_pattern", Type: Text, Nullable: true, LowCardinality: true, Description: "part_time or full_time."},
		Column{Name: "school_reported_appropriate_body_id", SourceType: "int8", Type: Int64, References: "appropriate_body_periods.id", Nullable: true, Description: "Appropriate body the school reported (appropriate_body_periods.id)."},
	),
}

// MentorAtSchoolPeriods are the spells of a mentor at a school.
var MentorAtSchoolPeriods = Contract{
	Entity:           "mentor_at_school_periods",
	Description:      "Spells of a mentor at a school. A mentor may be open at several schools at once.",
	Source:           "rect",
	Table:            "mentor_at_school_periods",
	PrimaryKey:       []string{"id"},
	MinSchemaVersion: "20260603140320",
	Mode:             Full,
	Ignored:          rectPeriodIgnored,
	Columns:          atSchoolColumns("mentor"),
}

// MentorshipPeriods pair an ECT with a mentor.
var MentorshipPeriods = Contract{
	Entity:           "mentorship_periods",
	Description:      "Spells of an ECT being mentored by a mentor at the same school. At most one is open per ECT spell.",
	Source:           "rect",
	Table:            "mentorship_periods",
	PrimaryKey:       []string{"id"},
	MinSchemaVersion: "20260603140320",
	Mode:             Full,
	Ignored:          rectPeriodIgnored,
	Columns: columns([]Column{
		idColumn("period"),
		{Name: "ect_at_school_period_id", SourceType: "int8", Type: Int64, References: "ect_at_school_periods.id", Description: "The ECT's spell at the school (ect_at_school_periods.id)."},
		{Name: "mentor_at_school_period_id", SourceType: "int8", Type: Int64, References: "mentor_at_school_periods.id", Description: "The mentor's spell at the school (mentor_at_school_periods.id)."},
	}, periodColumns("mentorship"), provenanceColumns(), timestampColumns("period")),
}

// InductionPeriods are the statutory induction periods.
var InductionPeriods = Contract{
	Entity: "induction_periods",
	Description: "Statutory induction periods recorded by appropriate bodies: one row per spell of induction of a teacher under one " +
		"appropriate body. The outcome (pass or fail) is set only on the finished period that ends the induction, and a " +
		"teacher has at most one period with an outcome (a partial unique index on teacher_id where outcome is set). " +
		"induction_programme is the older vocabulary (fip is provider-led, cip and diy school-led); training_programme the newer.",
	Source:           "rect",
	Table:            "induction_periods",
	PrimaryKey:       []string{"id"},
	MinSchemaVersion: "20260603140320",
	Mode:             Full,
	Ignored:          rectPeriodIgnored,
	Columns: columns([]Column{
		idColumn("period"),
		{Name: "teacher_id", SourceType: "int8", Type: Int64, References: "teachers.id", Nullable: true, Description: "The teacher (teachers.id); NULL on a few orphaned rows the database allows."},
		{Name: "appropriate_body_period_id", SourceType: "int8", Type: Int64, References: "appropriate_body_periods.id", LowCardinality: true, Description: "The appropriate body overseeing the induction (appropriate_body_periods.id)."},
	}, periodColumns("induction period"), []Column{
		{Name: "induction_programme", SourceType: "induction_programme", Type: Text, LowCardinality: true,
			Description: "Programme as recorded: fip (provider-led), cip or diy (school-led), unknown or pre_september_2021."},
		{Name: "training_programme", SourceType: "training_programme", Type: Text, Nullable: true, LowCardinality: true, Description: "provider_led or school_led; NULL on older rows."},
		{Name: "number_of_terms", SourceType: "float8", Type: Float64, Nullable: true, Description: "Terms of induction served in the period (0 to 16, may be fractional)."},
		{Name: "outcome", SourceType: "induction_outcomes", Type: Text, Nullable: true, LowCardinality: true, Description: "pass or fail, on the period that ends the induction; NULL on every other period (at most one per teacher)."},
		{Name: "fail_confirmation_sent_on", SourceType: "date", Type: Date, Nullable: true, Description: "Date the failed induction was confirmed to the teacher; NULL unless the outcome is fail."},
	}, timestampColumns("period")),
}

// TrainingPeriods are the spells of training with a lead provider or the
// school.
var TrainingPeriods = Contract{
	Entity: "training_periods",
	Description: "Spells of training of an ECT or a mentor: one row per spell with one lead provider (provider-led) or the school " +
		"(school-led); exactly one of the two at-school period ids is set. The service does not store a status, it derives " +
		"one: school-led is always active; otherwise active when neither deferred_at nor withdrawn_at is set, else withdrawn " +
		"or deferred, whichever of withdrawn_at and deferred_at is later (both may be set). rect_statuses computes it. " +
		"finished_on is set once the training is deferred or withdrawn.",
	Source:           "rect",
	Table:            "training_periods",
	PrimaryKey:       []string{"id"},
	MinSchemaVersion: "20260603140320",
	Mode:             Full,
	Ignored:          rectPeriodIgnored,
	Columns: columns([]Column{
		idColumn("period"),
		{Name: "ect_at_school_period_id", SourceType: "int8", Type: Int64, References: "ect_at_school_periods.id", Nullable: true, Description: "The ECT's spell at the school, for ECT training (ect_at_school_periods.id)."},
		{Name: "mentor_at_school_period_id", SourceType: "int8", Type: Int64, References: "mentor_at_school_periods.id", Nullable: true, Description: "The mentor's spell at the school, for mentor training (mentor_at_school_periods.id)."},
		{Name: "school_partnership_id", SourceType: "int8", Type: Int64, References: "school_partnerships.id", Nullable: true, Description: "The school's partnership with a lead provider and delivery partner (school_partnerships.id); NULL for school-led training and while only an expression of interest."},
		{Name: "expression_of_interest_id", SourceType: "int8", Type: Int64, References: "active_lead_providers.id", Nullable: true, LowCardinality: true, Description: "Lead provider the school expressed interest in (active_lead_providers.id)."},
		{Name: "schedule_id", SourceType: "int8", Type: Int64, Nullable: true, LowCardinality: true, Description: "Payment schedule of milestones the lead provider declares against (schedules.id); provider-led only, NULL for school-led."},
		{Name: "training_programme", SourceType: "training_programme", Type: Text, LowCardinality: true, Description: "provider_led or school_led."},
	}, periodColumns("training"), []Column{
		{Name: "deferred_at", SourceType: "timestamp", Type: Timestamp, Nullable: true, Description: "When the training was deferred (UTC); NULL if never deferred."},
		{Name: "deferral_reason", SourceType: "deferral_reasons", Type: Text, Nullable: true, LowCardinality: true,
			Description: "Why the training was deferred: bereavement, long_term_sickness, parental_leave, career_break or other."},
		{Name: "withdrawn_at", SourceType: "timestamp", Type: Timestamp, Nullable: true, Description: "When the participant was withdrawn from the training (UTC); NULL if never withdrawn."},
		{Name: "withdrawal_reason", SourceType: "withdrawal_reasons", Type: Text, Nullable: true, LowCardinality: true,
			Description: "Why the participant was withdrawn: left_teaching_profession, moved_school, mentor_no_longer_being_mentor, switched_to_school_led, changed_lead_provider or other."},
	}, provenanceColumns(), []Column{
		{Name: "api_transfer_updated_at", SourceType: "timestamp", Type: Timestamp, Nullable: true, Description: "When the transfer details last changed for the API (UTC); bumped without updated_at."},
	}, timestampColumns("period")),
}

// Declarations are the lead providers' claims for payment.
var Declarations = Contract{
	Entity: "declarations",
	Description: "Declarations: one row per lead provider's claim that a participant of a training period reached a milestone " +
		"(started, retained-1..4, completed, extended-1..3), which is what the provider is paid for. Statuses change in place: " +
		"payment_status moves no_payment → eligible → payable → paid, and no_payment, eligible or payable can instead go to voided; " +
		"once paid, clawback_status can move no_clawback → awaiting_clawback → clawed_back (on a later statement). " +
		"The overall status the API shows is clawback_status when that is not no_clawback, otherwise payment_status. " +
		"A voided declaration may be resubmitted as a new row of the same type.",
	Source:           "rect",
	Table:            "declarations",
	PrimaryKey:       []string{"id"},
	MinSchemaVersion: "20260603140320",
	Mode:             Full,
	Columns: columns([]Column{
		idColumn("declaration"),
		{Name: "api_id", SourceType: "uuid", Type: UUID, Description: "The declaration's id in the lead provider API."},
		{Name: "training_period_id", SourceType: "int8", Type: Int64, References: "training_periods.id", Nullable: true, Description: "The training declared for (training_periods.id); required by the service, nullable in the database."},
		{Name: "mentorship_period_id", SourceType: "int8", Type: Int64, References: "mentorship_periods.id", Nullable: true, Description: "The ECT's mentorship at the time (mentorship_periods.id); ECT declarations only."},
		{Name: "delivery_partner_when_created_id", SourceType: "int8", Type: Int64, References: "delivery_partners.id", Description: "Delivery partner at the time of the declaration (delivery_partners.id)."},
		{Name: "declaration_type", SourceType: "declaration_types", Type: Text, LowCardinality: true, Description: "Milestone declared: started, retained-1..4, completed or extended-1..3."},
		{Name: "declaration_date", SourceType: "timestamp", Type: Timestamp, Description: "When the milestone was reached, per the lead provider (UTC)."},
		{Name: "evidence_type", SourceType: "evidence_types", Type: Text, Nullable: true, LowCardinality: true, Description: "Evidence held, e.g. training-event-attended or 75-percent-engagement-met."},
		{Name: "payment_status", SourceType: "declaration_payment_statuses", Type: Text, LowCardinality: true, Description: "Payment status: no_payment (shown as submitted in the API), eligible, payable, paid or voided."},
		{Name: "clawback_status", SourceType: "declaration_clawback_statuses", Type: Text, LowCardinality: true, Description: "Clawback status of a paid declaration: no_clawback, awaiting_clawback or clawed_back."},
		{Name: "payment_statement_id", SourceType: "int8", Type: Int64, References: "statements.id", Nullable: true, Description: "Payment statement the declaration is or was paid on (statements.id); NULL until it is assigned one."},
		{Name: "clawback_statement_id", SourceType: "int8", Type: Int64, References: "statements.id", Nullable: true, Description: "Statement the declaration is clawed back on (statements.id); NULL unless clawed back."},
		{Name: "pupil_premium_uplift", SourceType: "bool", Type: Bool, Description: "Whether a pupil premium uplift applies."},
		{Name: "sparsity_uplift", SourceType: "bool", Type: Bool, Description: "Whether a sparsity uplift applies."},
		{Name: "voided_by_user_id", SourceType: "int8", Type: Int64, Nullable: true, Description: "DfE staff user who voided the declaration by hand (users.id); NULL otherwise."},
		{Name: "voided_by_user_at", SourceType: "timestamp", Type: Timestamp, Nullable: true, Description: "When a DfE staff user voided it (UTC); NULL otherwise."},
		{Name: "api_updated_at", SourceType: "timestamp", Type: Timestamp, Nullable: true, Description: "When it last changed for the API (UTC)."},
	}, timestampColumns("declaration")),
}
