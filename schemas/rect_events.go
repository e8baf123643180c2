package schemas

// Events is RECT's domain log: what happened to a teacher, a period, a
// declaration or an organisation, when, and by what kind of author (the
// service's Events::Record). Like Register's audits, it is kept out of the
// service's analytics stream, and it is what timelines are made of.
var Events = Contract{
	Entity: "events",
	Description: "What happened in Register early career teachers (Events::Record), one row per event: its type " +
		"(teacher_registered_as_ect, induction_period_opened, teacher_withdraws_training_period, teacher_declaration_created, " +
		"…), when it happened (happened_at, which can be long before the row was written, e.g. a period's start), the kind of " +
		"author and the records it concerns. heading and body are written for people and name the teacher; metadata holds " +
		"the changes the event made, by column.",
	Source:     "rect",
	Table:      "events",
	PrimaryKey: []string{"id"},
	// Every column read is in the oldest of the migrations the schema file
	// carries (schema.rb 2026_08_13 has them all).
	MinSchemaVersion: "20260603140320",
	Mode:             Full,
	Ignored: map[string]string{
		"author_id": "the id of the RECT user account of the author, a key into users, which nightshift does not copy; " +
			"author_type says what kind of author it was, and timelines say no more",
		"user_id": "the RECT user account an admin event is about (a role given or taken), a key into users, which nightshift does not copy",
		"modifications": "the changes of metadata again, as sentences for people that quote old and new values " +
			"(\"Name changed from 'A' to 'B'\"), so no part of them can be classified; metadata has them key by key",
		"zendesk_ticket_id": "the number of the support ticket behind an admin's change, in a helpdesk nightshift does not copy",
	},
	Columns: columns([]Column{
		idColumn("event"),
		{Name: "event_type", SourceType: "text", Type: Text, Nullable: true, LowCardinality: true,
			Description: "What happened, one of about a hundred types (app/models/event.rb): teacher_registered_as_ect, " +
				"teacher_starts_training_period, teacher_defers_training_period, induction_period_opened, teacher_passes_induction, " +
				"teacher_declaration_created, …"},
		{Name: "happened_at", SourceType: "timestamp", Type: Timestamp, Nullable: true,
			Description: "When it happened (UTC): for a period's start or end, that day; otherwise when it was recorded."},
		{Name: "author_type", SourceType: "event_author_types", Type: Text, LowCardinality: true,
			Description: "Kind of author: appropriate_body_user, school_user, dfe_staff_user, lead_provider_api or system."},
		{Name: "author_name", SourceType: "text", Type: Text, Nullable: true, PII: PIIPersonal, Description: "Name of the person who did it, for people authors."},
		{Name: "author_email", SourceType: "citext", Type: Text, Nullable: true, PII: PIIPersonal, Description: "Email of the person who did it, for people authors."},
		{Name: "heading", SourceType: "text", Type: Text, Nullable: true, PII: PIIPersonal,
			Description: "One line for people, naming the teacher: \"Ada Lovelace was registered as an ECT at Hill School\"."},
		{Name: "body", SourceType: "text", Type: Text, Nullable: true, PII: PIIPersonal, Description: "Free text for people: an admin's note or reason."},
		{Name: "metadata", SourceType: "jsonb", Type: JSON, Nullable: true,
			Description: "What the event changed, as Rails' changes of the record ({column: [old, new]}), or ids it relates (mentor_id, mentee_id).",
			Keys:        &Keys{Otherwise: eventEntities, Changes: true}},
		{Name: "teacher_id", SourceType: "int4", Type: Int64, Nullable: true, References: "teachers.id", Description: "The teacher it concerns (teachers.id)."},
		{Name: "school_id", SourceType: "int4", Type: Int64, Nullable: true, References: "schools.id", Description: "The school it concerns (schools.id)."},
		{Name: "appropriate_body_period_id", SourceType: "int4", Type: Int64, Nullable: true, References: "appropriate_body_periods.id", Description: "The appropriate body it concerns (appropriate_body_periods.id)."},
		{Name: "ect_at_school_period_id", SourceType: "int4", Type: Int64, Nullable: true, References: "ect_at_school_periods.id", Description: "The ECT's spell at a school it concerns (ect_at_school_periods.id)."},
		{Name: "mentor_at_school_period_id", SourceType: "int4", Type: Int64, Nullable: true, References: "mentor_at_school_periods.id", Description: "The mentor's spell at a school it concerns (mentor_at_school_periods.id)."},
		{Name: "mentorship_period_id", SourceType: "int4", Type: Int64, Nullable: true, References: "mentorship_periods.id", Description: "The mentorship it concerns (mentorship_periods.id)."},
		{Name: "induction_period_id", SourceType: "int4", Type: Int64, Nullable: true, References: "induction_periods.id", Description: "The induction period it concerns (induction_periods.id)."},
		{Name: "induction_extension_id", SourceType: "int4", Type: Int64, Nullable: true, Description: "The induction extension it concerns (induction_extensions.id)."},
		{Name: "training_period_id", SourceType: "int4", Type: Int64, Nullable: true, References: "training_periods.id", Description: "The training period it concerns (training_periods.id)."},
		{Name: "declaration_id", SourceType: "int8", Type: Int64, Nullable: true, References: "declarations.id", Description: "The declaration it concerns (declarations.id)."},
		{Name: "lead_provider_id", SourceType: "int4", Type: Int64, Nullable: true, References: "lead_providers.id", Description: "The lead provider it concerns (lead_providers.id)."},
		{Name: "delivery_partner_id", SourceType: "int4", Type: Int64, Nullable: true, References: "delivery_partners.id", Description: "The delivery partner it concerns (delivery_partners.id)."},
		{Name: "active_lead_provider_id", SourceType: "int8", Type: Int64, Nullable: true, References: "active_lead_providers.id", Description: "The lead provider's year it concerns (active_lead_providers.id)."},
		{Name: "lead_provider_delivery_partnership_id", SourceType: "int8", Type: Int64, Nullable: true, References: "lead_provider_delivery_partnerships.id",
			Description: "The lead provider's partnership with a delivery partner it concerns (lead_provider_delivery_partnerships.id)."},
		{Name: "school_partnership_id", SourceType: "int4", Type: Int64, Nullable: true, References: "school_partnerships.id", Description: "The school's partnership it concerns (school_partnerships.id)."},
		{Name: "contract_period_id", SourceType: "int8", Type: Int64, Nullable: true, LowCardinality: true, Description: "The contract period it concerns, by year (contract_periods.year)."},
		{Name: "schedule_id", SourceType: "int8", Type: Int64, Nullable: true, Description: "The schedule it concerns (schedules.id)."},
		{Name: "statement_id", SourceType: "int8", Type: Int64, Nullable: true, References: "statements.id", Description: "The payment statement it concerns (statements.id)."},
		{Name: "statement_adjustment_id", SourceType: "int8", Type: Int64, Nullable: true, References: "statement_adjustments.id", Description: "The statement adjustment it concerns (statement_adjustments.id)."},
		{Name: "pending_induction_submission_batch_id", SourceType: "int8", Type: Int64, Nullable: true,
			Description: "The appropriate body's bulk upload it came from (pending_induction_submission_batches.id)."},
	}, timestampColumns("event")),
}

// eventEntities are the records whose changes RECT's events carry in
// metadata; a key is kept only if it is a column of one of them that none
// holds as personal.
var eventEntities = []string{
	"teachers", "ect_at_school_periods", "mentor_at_school_periods", "mentorship_periods",
	"induction_periods", "training_periods", "declarations",
}
