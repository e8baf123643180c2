package schemas

// Teachers are the early career teachers and mentors of Register early
// career teachers.
var Teachers = Contract{
	Entity: "teachers",
	Description: "Early career teachers (ECTs) and their mentors in Register early career teachers: one row per person, " +
		"with the details the Teaching Regulation Agency (TRS) holds. TRN is unique; a person registered twice is " +
		"merged (anonymisation_reason teacher_record_merged). trs_induction_status is TRS's induction status (None, " +
		"RequiredToComplete, Exempt, InProgress, Passed, Failed, FailedInWales); the service shows InProgress with no open " +
		"induction period as Paused, which rect_statuses computes.",
	Source:     "rect",
	Table:      "teachers",
	PrimaryKey: []string{"id"},
	// 20260812163524 added trs_response and trs_redirected_to.
	MinSchemaVersion: "20260812163524",
	Mode:             Full,
	Ignored:          map[string]string{"search": "a full-text search vector the database generates from names and TRN, for the service's own search"},
	Columns: columns([]Column{
		idColumn("teacher"),
		{Name: "trn", SourceType: "varchar", Type: Text, Nullable: true, PII: PIIPersonal, Description: "Teacher reference number (7 digits); NULL only for TRN-less teachers."},
		{Name: "trnless", SourceType: "bool", Type: Bool, Description: "Whether the teacher was registered without a TRN."},
		{Name: "trs_first_name", SourceType: "varchar", Type: Text, Nullable: true, PII: PIIPersonal, Description: "First name as TRS holds it."},
		{Name: "trs_last_name", SourceType: "varchar", Type: Text, Nullable: true, PII: PIIPersonal, Description: "Last name as TRS holds it."},
		{Name: "corrected_name", SourceType: "varchar", Type: Text, Nullable: true, PII: PIIPersonal, Description: "Name as corrected by the school or an appropriate body, when TRS's is wrong."},
		{Name: "trs_induction_status", SourceType: "varchar", Type: Text, Nullable: true, LowCardinality: true,
			Description: "Induction status held by TRS: None, RequiredToComplete, Exempt, InProgress, Passed, Failed or FailedInWales " +
				"(CamelCase strings as TRS sends them); NULL until TRS has been asked. InProgress with no open induction period is shown as Paused by the service."},
		{Name: "trs_induction_start_date", SourceType: "date", Type: Date, Nullable: true, Description: "Induction start date held by TRS."},
		{Name: "trs_induction_completed_date", SourceType: "date", Type: Date, Nullable: true, Description: "Induction completion date held by TRS."},
		{Name: "trs_qts_awarded_on", SourceType: "date", Type: Date, Nullable: true, Description: "Date qualified teacher status was awarded, per TRS."},
		{Name: "trs_qts_status_description", SourceType: "varchar", Type: Text, Nullable: true, LowCardinality: true, Description: "TRS's description of the QTS status."},
		{Name: "trs_initial_teacher_training_provider_name", SourceType: "varchar", Type: Text, Nullable: true, Description: "Initial teacher training provider, per TRS."},
		{Name: "trs_initial_teacher_training_end_date", SourceType: "date", Type: Date, Nullable: true, Description: "End of initial teacher training, per TRS."},
		{Name: "trs_data_last_refreshed_at", SourceType: "timestamp", Type: Timestamp, Nullable: true, Description: "When the TRS details were last refreshed (UTC)."},
		{Name: "trs_response", SourceType: "trs_responses", Type: Text, Nullable: true, LowCardinality: true, Description: "TRS's last answer about the teacher: ok, not_found, gone or permanent_redirect."},
		{Name: "trs_redirected_to", SourceType: "varchar", Type: Text, Nullable: true, PII: PIIPersonal, Description: "The TRN TRS redirects this teacher's record to (trs_response permanent_redirect: the record was merged into another)."},
		{Name: "api_id", SourceType: "uuid", Type: UUID, Description: "The teacher's id in the lead provider API."},
		{Name: "api_ect_training_record_id", SourceType: "uuid", Type: UUID, Description: "Id of the teacher's ECT training record in the lead provider API."},
		{Name: "api_mentor_training_record_id", SourceType: "uuid", Type: UUID, Description: "Id of the teacher's mentor training record in the lead provider API."},
		{Name: "ect_first_became_eligible_for_training_at", SourceType: "timestamp", Type: Timestamp, Nullable: true, Description: "When the teacher first became eligible for ECT training (UTC)."},
		{Name: "mentor_first_became_eligible_for_training_at", SourceType: "timestamp", Type: Timestamp, Nullable: true, Description: "When the teacher first became eligible for mentor training (UTC)."},
		{Name: "ect_became_ineligible_for_funding_on", SourceType: "date", Type: Date, Nullable: true, Description: "Date ECT training stopped being funded."},
		{Name: "mentor_became_ineligible_for_funding_on", SourceType: "date", Type: Date, Nullable: true, Description: "Date mentor training stopped being funded."},
		{Name: "mentor_became_ineligible_for_funding_reason", SourceType: "mentor_became_ineligible_for_funding_reason", Type: Text, Nullable: true, LowCardinality: true,
			Description: "Why mentor funding stopped: completed_declaration_received, completed_during_early_roll_out or started_not_completed."},
		{Name: "ect_payments_frozen_year", SourceType: "int4", Type: Int32, Nullable: true, LowCardinality: true, Description: "Contract period year whose ECT payments are frozen for this teacher (contract_periods.year); NULL if none."},
		{Name: "mentor_payments_frozen_year", SourceType: "int4", Type: Int32, Nullable: true, LowCardinality: true, Description: "Contract period year whose mentor payments are frozen for this teacher (contract_periods.year); NULL if none."},
		{Name: "migration_mode", SourceType: "participant_migration_mode", Type: Text, Nullable: true, LowCardinality: true,
			Description: "How the teacher was migrated from the previous service: latest_induction_records, all_induction_records or not_migrated."},
		{Name: "anonymised_at", SourceType: "timestamp", Type: Timestamp, Nullable: true, Description: "When the record was anonymised (UTC); NULL for records that were not."},
		{Name: "anonymisation_reason", SourceType: "anonymisation_reasons", Type: Text, Nullable: true, LowCardinality: true, Description: "Why the record was anonymised: registered_in_error or teacher_record_merged; NULL if it was not."},
		{Name: "api_updated_at", SourceType: "timestamp", Type: Timestamp, Nullable: true, Description: "When the teacher last changed for the lead provider API (UTC); bumped without updated_at."},
		{Name: "api_unfunded_mentor_updated_at", SourceType: "timestamp", Type: Timestamp, Nullable: true, Description: "When the teacher last changed as an unfunded mentor for the API (UTC)."},
	}, timestampColumns("teacher")),
}

// Schools are the schools of RECT.
var Schools = Contract{
	Entity:           "schools",
	Description:      "Schools that register early career teachers and mentors (Register early career teachers), linked to GIAS by URN.",
	Source:           "rect",
	Table:            "schools",
	PrimaryKey:       []string{"id"},
	MinSchemaVersion: "20260603140320",
	Mode:             Full,
	Columns: columns([]Column{
		idColumn("school"),
		{Name: "urn", SourceType: "int4", Type: Int32, Description: "Unique reference number of the school in GIAS, Get information about schools (gias_schools.urn); unique."},
		{Name: "api_id", SourceType: "uuid", Type: UUID, Description: "The school's id in the lead provider API."},
		{Name: "induction_tutor_name", SourceType: "varchar", Type: Text, Nullable: true, PII: PIIPersonal, Description: "Name of the school's induction tutor."},
		{Name: "induction_tutor_email", SourceType: "citext", Type: Text, Nullable: true, PII: PIIPersonal, Description: "Email of the school's induction tutor (often a shared mailbox)."},
		{Name: "induction_tutor_last_nominated_in", SourceType: "int4", Type: Int32, Nullable: true, LowCardinality: true, Description: "Contract period year the induction tutor was last nominated in (contract_periods.year)."},
		{Name: "last_chosen_appropriate_body_id", SourceType: "int8", Type: Int64, References: "appropriate_body_periods.id", Nullable: true, LowCardinality: true, Description: "Appropriate body the school last chose for its ECTs (appropriate_body_periods.id)."},
		{Name: "last_chosen_lead_provider_id", SourceType: "int8", Type: Int64, References: "lead_providers.id", Nullable: true, LowCardinality: true, Description: "Lead provider the school last chose (lead_providers.id)."},
		{Name: "last_chosen_training_programme", SourceType: "training_programme", Type: Text, Nullable: true, LowCardinality: true, Description: "Training programme the school last chose: provider_led or school_led."},
		{Name: "marked_as_eligible", SourceType: "bool", Type: Bool, Description: "Whether an admin marked the school eligible."},
		{Name: "opted_out_of_reminder_emails_until", SourceType: "date", Type: Date, Nullable: true, Description: "Until when the school receives no reminder emails."},
	}, timestampColumns("school")),
}

// LeadProviders deliver provider-led training.
var LeadProviders = Contract{
	Entity:           "lead_providers",
	Description:      "Lead providers, the organisations contracted to deliver provider-led training and paid through declarations.",
	Source:           "rect",
	Table:            "lead_providers",
	PrimaryKey:       []string{"id"},
	MinSchemaVersion: "20260603140320",
	Mode:             Full,
	Columns: columns([]Column{
		idColumn("lead provider"),
		{Name: "name", SourceType: "varchar", Type: Text, Description: "Lead provider's name."},
		{Name: "ecf_id", SourceType: "uuid", Type: UUID, Nullable: true, Description: "Id in the previous service (ECF1)."},
		{Name: "ecf_cpd_lead_provider_id", SourceType: "uuid", Type: UUID, Nullable: true, Description: "CPD lead provider id in the previous service."},
		{Name: "vat_registered", SourceType: "bool", Type: Bool, Description: "Whether the lead provider is VAT registered (affects payments)."},
	}, timestampColumns("lead provider")),
}

// DeliveryPartners deliver training for lead providers.
var DeliveryPartners = Contract{
	Entity:           "delivery_partners",
	Description:      "Delivery partners, organisations that deliver training on behalf of lead providers.",
	Source:           "rect",
	Table:            "delivery_partners",
	PrimaryKey:       []string{"id"},
	MinSchemaVersion: "20260603140320",
	Mode:             Full,
	Columns: columns([]Column{
		idColumn("delivery partner"),
		{Name: "name", SourceType: "varchar", Type: Text, Description: "Delivery partner's name."},
		{Name: "api_id", SourceType: "uuid", Type: UUID, Description: "The delivery partner's id in the lead provider API."},
		{Name: "api_updated_at", SourceType: "timestamp", Type: Timestamp, Nullable: true, Description: "When it last changed for the API (UTC)."},
	}, timestampColumns("delivery partner")),
}
