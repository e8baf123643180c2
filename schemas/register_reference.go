package schemas

// Providers are the accredited initial teacher training providers.
var Providers = Contract{
	Entity:           "providers",
	Description:      "Accredited initial teacher training providers (universities, SCITTs) of Register trainee teachers.",
	Source:           "register",
	Table:            "providers",
	PrimaryKey:       []string{"id"},
	MinSchemaVersion: "20250721121140",
	Mode:             Full,
	Ignored:          map[string]string{"searchable": "a full-text search vector for Register's own search"},
	Columns: columns([]Column{
		idColumn("provider"),
		{Name: "name", SourceType: "varchar", Type: Text, Description: "Provider's name."},
		{Name: "code", SourceType: "varchar", Type: Text, Nullable: true, Description: "Provider's three-character code in the teacher training service."},
		{Name: "ukprn", SourceType: "varchar", Type: Text, Nullable: true, Description: "UK Provider Reference Number (8 digits)."},
		{Name: "accreditation_id", SourceType: "varchar", Type: Text, Nullable: true, Description: "DfE accreditation id; NULL for a provider that lost its accreditation."},
		{Name: "dttp_id", SourceType: "uuid", Type: UUID, Nullable: true, Description: "Id in DTTP, the service before Register; NULL for providers accredited later."},
		{Name: "accredited", SourceType: "bool", Type: Bool, Description: "Whether the provider is currently accredited."},
		{Name: "apply_sync_enabled", SourceType: "bool", Type: Bool, Nullable: true, Description: "Whether applications from Apply are imported automatically."},
		{Name: "discarded_at", SourceType: "timestamp", Type: Timestamp, Nullable: true, Description: "When the provider was soft-deleted (UTC); its trainees stay."},
	}, timestampColumns("provider")),
}

// AcademicCycles are the training years.
var AcademicCycles = Contract{
	Entity:           "academic_cycles",
	Description:      "Academic cycles (1 August to 31 July) that trainees start and end their training in.",
	Source:           "register",
	Table:            "academic_cycles",
	PrimaryKey:       []string{"id"},
	MinSchemaVersion: "20250721121140",
	Mode:             Full,
	Columns: columns([]Column{
		idColumn("academic cycle"),
		{Name: "start_date", SourceType: "date", Type: Date, Description: "First day of the cycle (1 August)."},
		{Name: "end_date", SourceType: "date", Type: Date, Description: "Last day of the cycle (31 July)."},
	}, timestampColumns("cycle")),
}

// TraineeWithdrawals record each withdrawal of a trainee.
var TraineeWithdrawals = Contract{
	Entity: "trainee_withdrawals",
	Description: "Withdrawals of trainees from their training: one row per withdrawal. An undone withdrawal " +
		"(withdrawn in error) is kept with discarded_at set, and the trainee's state goes back.",
	Source:     "register",
	Table:      "trainee_withdrawals",
	PrimaryKey: []string{"id"},
	// 20251007154220 added safeguarding_concern_reasons.
	MinSchemaVersion: "20251007154220",
	Mode:             Full,
	Columns: columns([]Column{
		idColumn("withdrawal"),
		{Name: "trainee_id", SourceType: "int8", Type: Int64, References: "trainees.id", Description: "The trainee withdrawn (trainees.id)."},
		{Name: "date", SourceType: "date", Type: Date, Nullable: true, Description: "Date the trainee left the training; NULL on some legacy withdrawals."},
		{Name: "trigger", SourceType: "trigger_type", Type: Text, Nullable: true, LowCardinality: true,
			Description: "Who decided the withdrawal: provider or trainee (decides which reasons were offered)."},
		{Name: "future_interest", SourceType: "future_interest_type", Type: Text, Nullable: true, LowCardinality: true,
			Description: "Whether the trainee is interested in training in future: yes, no or unknown."},
		{Name: "another_reason", SourceType: "varchar", Type: Text, Nullable: true, Description: "Free text when the reason was 'another reason'; NULL otherwise."},
		{Name: "safeguarding_concern_reasons", SourceType: "varchar", Type: Text, Nullable: true, Description: "Free text describing safeguarding concerns, when safeguarding_concerns was a reason; NULL otherwise."},
		{Name: "discarded_at", SourceType: "timestamp", Type: Timestamp, Nullable: true, Description: "When the withdrawal was undone (UTC); NULL if it stands."},
	}, timestampColumns("withdrawal")),
}

// TraineeWithdrawalReasons link withdrawals to their reasons.
var TraineeWithdrawalReasons = Contract{
	Entity: "trainee_withdrawal_reasons",
	Description: "The reasons given for each withdrawal: one row per (withdrawal, reason). Legacy rows link the " +
		"trainee directly and have no withdrawal (the old relation, being retired).",
	Source:           "register",
	Table:            "trainee_withdrawal_reasons",
	PrimaryKey:       []string{"id"},
	MinSchemaVersion: "20250721121140",
	Mode:             Full,
	Columns: columns([]Column{
		idColumn("link"),
		{Name: "trainee_id", SourceType: "int8", Type: Int64, References: "trainees.id", Nullable: true, Description: "The trainee, on legacy rows (trainees.id)."},
		{Name: "trainee_withdrawal_id", SourceType: "int8", Type: Int64, References: "trainee_withdrawals.id", Nullable: true, Description: "The withdrawal (trainee_withdrawals.id); NULL on legacy rows."},
		{Name: "withdrawal_reason_id", SourceType: "int8", Type: Int64, References: "withdrawal_reasons.id", LowCardinality: true, Description: "The reason (withdrawal_reasons.id)."},
	}, timestampColumns("link")),
}

// WithdrawalReasons name the reasons a trainee can be withdrawn for.
var WithdrawalReasons = Contract{
	Entity: "withdrawal_reasons",
	Description: "Reasons a trainee can be withdrawn for. Three generations coexist: 7 legacy reasons, 6 from June 2023 " +
		"and 20 from November 2024.",
	Source:           "register",
	Table:            "withdrawal_reasons",
	PrimaryKey:       []string{"id"},
	MinSchemaVersion: "20250721121140",
	Mode:             Full,
	Columns: columns([]Column{
		idColumn("reason"),
		{Name: "name", SourceType: "varchar", Type: Text, LowCardinality: true, Description: "The reason's slug, e.g. financial_problems or record_added_in_error; unique."},
	}, timestampColumns("reason")),
}

// TrainingPartners are the schools and universities providers train with.
var TrainingPartners = Contract{
	Entity: "training_partners",
	Description: "Training partners (called lead partners until December 2025) that trainees are placed with: " +
		"a school (record_type school, school_id set) or a higher education institution (record_type hei, provider_id set).",
	Source:     "register",
	Table:      "training_partners",
	PrimaryKey: []string{"id"},
	// 20251209113730 renamed lead_partners to training_partners.
	MinSchemaVersion: "20251209113730",
	Mode:             Full,
	Columns: columns([]Column{
		idColumn("training partner"),
		{Name: "name", SourceType: "varchar", Type: Text, Nullable: true, Description: "The partner's name."},
		{Name: "record_type", SourceType: "varchar", Type: Text, LowCardinality: true, Description: "What the partner is: school or hei."},
		{Name: "school_id", SourceType: "int8", Type: Int64, Nullable: true, Description: "The school, when the partner is one (Register's schools.id)."},
		{Name: "provider_id", SourceType: "int8", Type: Int64, References: "providers.id", Nullable: true, Description: "The provider, when the partner is a higher education institution (providers.id)."},
		{Name: "urn", SourceType: "citext", Type: Text, Nullable: true, Description: "The school's unique reference number (GIAS)."},
		{Name: "ukprn", SourceType: "citext", Type: Text, Nullable: true, Description: "UK Provider Reference Number of a higher education institution."},
		{Name: "discarded_at", SourceType: "timestamp", Type: Timestamp, Nullable: true, Description: "When the partner was soft-deleted (UTC); trainees may still point to it."},
	}, timestampColumns("training partner")),
}
