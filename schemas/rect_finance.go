package schemas

// What DfE pays lead providers through Register early career teachers: a
// contract per contracted lead provider and year, the fee structures that
// price it, the monthly statements that pay it, and the adjustments the
// finance team makes to a statement by hand:
//
//	contracts.active_lead_provider_id → active_lead_providers (.lead_provider_id, .contract_period_year)
//	contract_banded_fee_structures.contract_id → contracts (every contract has one)
//	  contract_banded_fee_structure_band_terms.banded_fee_structure_id → contract_banded_fee_structures
//	contract_flat_rate_fee_structures.contract_id → contracts (ittecf_ectp contracts only)
//	statements.contract_id → contracts
//	  statement_adjustments.statement_id → statements
//	  declarations.payment_statement_id, .clawback_statement_id → statements
//
// Money is in pounds sterling and ratios are fractions of 1, all exact
// decimals: each column keeps the source's precision and scale, and a value
// that does not fit them is quarantined, never rounded. The service computes
// a statement's payments from these tables on the fly (its PaymentCalculator);
// it stores no totals.

// LeadProviderContracts are the contracts with lead providers, one or more
// per contracted lead provider and year.
var LeadProviderContracts = Contract{
	Entity: "contracts",
	Description: "Contracts between DfE and a lead provider for a contract period (cohort year): one row per contract, " +
		"priced by its fee structures (contract_banded_fee_structures, and for ittecf_ectp contracts also " +
		"contract_flat_rate_fee_structures) and paid through its monthly statements. A lead provider usually has one " +
		"contract a year, but the database does not make active_lead_provider_id unique.",
	Source:     "rect",
	Table:      "contracts",
	PrimaryKey: []string{"id"},
	// A source before 20260713075124 also has ecf_contract_version and
	// ecf_mentor_contract_version, which the preflight lists as new.
	MinSchemaVersion: "20260603140320",
	Mode:             Full,
	Columns: columns([]Column{
		idColumn("contract"),
		{Name: "active_lead_provider_id", SourceType: "int8", Type: Int64, References: "active_lead_providers.id",
			Description: "The lead provider and contract period (cohort year) the contract is with (active_lead_providers.id)."},
		{Name: "contract_type", SourceType: "contract_types", Type: Text, LowCardinality: true,
			Description: "ecf (Early Career Framework: every declaration is paid through the banded fee structure) or ittecf_ectp " +
				"(the ITTECF early career teacher programme: ECTs' declarations through the banded fee structure, mentors' " +
				"through the flat-rate one)."},
		{Name: "vat_rate", SourceType: "numeric", Type: Numeric, Precision: 3, Scale: 2,
			Description: "VAT rate as a fraction (0.20 is 20%; the service's default), added to a statement's total only when " +
				"the lead provider is VAT registered (lead_providers.vat_registered)."},
	}, timestampColumns("contract")),
}

// BandedFeeStructures price a contract's declarations in bands.
var BandedFeeStructures = Contract{
	Entity: "contract_banded_fee_structures",
	Description: "Banded fee structures: one row per contract (unique contract_id; every contract has one), with the " +
		"fees that do not depend on the band. The fee per participant of each band is in " +
		"contract_banded_fee_structure_band_terms. For an ittecf_ectp contract it prices ECTs only; mentors are paid " +
		"through contract_flat_rate_fee_structures.",
	Source:     "rect",
	Table:      "contract_banded_fee_structures",
	PrimaryKey: []string{"id"},
	// 20260614133538 added uplift_target_ratio.
	MinSchemaVersion: "20260614133538",
	Mode:             Full,
	Columns: columns([]Column{
		idColumn("banded fee structure"),
		{Name: "contract_id", SourceType: "int8", Type: Int64, References: "contracts.id", Description: "The contract it prices (contracts.id)."},
		{Name: "recruitment_target", SourceType: "int4", Type: Int32,
			Description: "Participants the lead provider is contracted to recruit; bands are filled in order up to it " +
				"when the service fee is computed."},
		{Name: "setup_fee", SourceType: "numeric", Type: Numeric, Precision: 12, Scale: 2,
			Description: "Set-up fee in pounds. Not paid as a lump sum: when the service fee is computed from the bands, it is " +
				"taken out of band A's service fees in proportion to how much of band A the recruitment target fills."},
		{Name: "monthly_service_fee", SourceType: "numeric", Type: Numeric, Precision: 12, Scale: 2, Nullable: true,
			Description: "Service fee in pounds paid on each monthly statement, as agreed; NULL when the service computes " +
				"it from the bands instead (each band's participants up to the recruitment target × fee_per_declaration × " +
				"service_fee_ratio, less the set-up fee, over 29 payments)."},
		{Name: "uplift_fee_per_declaration", SourceType: "numeric", Type: Numeric, Precision: 12, Scale: 2,
			Description: "Fee in pounds paid, on top of the output fee, for each billable declaration of a participant with a " +
				"pupil premium or sparsity uplift (declarations.pupil_premium_uplift, sparsity_uplift), and recovered for " +
				"each one clawed back."},
		{Name: "uplift_target_ratio", SourceType: "numeric", Type: Numeric, Precision: 5, Scale: 4, Nullable: true,
			Description: "Share of recruited participants expected to attract an uplift, as a fraction (0.3300 is 33%), shown " +
				"as a target on ecf contracts' statements; NULL when none was set."},
	}, timestampColumns("fee structure")),
}

// BandTerms are the fees of one band of a banded fee structure.
var BandTerms = Contract{
	Entity: "contract_banded_fee_structure_band_terms",
	Description: "The terms of each band of a banded fee structure: one row per (banded fee structure, band), unique. " +
		"Bands (A, B, C…, each holding a number of participants) belong to the lead provider's year and fill in order; " +
		"a participant is paid at the fee of the band they fall in. A declaration's output fee is fee_per_declaration × " +
		"output_fee_ratio × its type's share (started and completed 20%, each retained and extended 15%); the rest of " +
		"the fee (service_fee_ratio) is paid as the monthly service fee.",
	Source:     "rect",
	Table:      "contract_banded_fee_structure_band_terms",
	PrimaryKey: []string{"id"},
	// The table has this name since 20260618092900 (it was
	// contract_banded_fee_structure_bands); band_id is NOT NULL, as read
	// here, since 20260622081540.
	MinSchemaVersion: "20260622081540",
	Mode:             Full,
	Columns: columns([]Column{
		idColumn("band's terms"),
		{Name: "banded_fee_structure_id", SourceType: "int8", Type: Int64, References: "contract_banded_fee_structures.id",
			Description: "The banded fee structure these terms belong to (contract_banded_fee_structures.id)."},
		{Name: "band_id", SourceType: "int8", Type: Int64,
			Description: "The band (active_lead_provider_bands.id, a table nightshift does not copy): one of the lead " +
				"provider's bands for the year, with its letter and capacity."},
		{Name: "fee_per_declaration", SourceType: "numeric", Type: Numeric, Precision: 12, Scale: 2,
			Description: "Fee in pounds for a participant in this band, split between output and service fees by the two ratios."},
		{Name: "output_fee_ratio", SourceType: "numeric", Type: Numeric, Precision: 3, Scale: 2,
			Description: "Share of fee_per_declaration paid through declarations (output fees), as a fraction (0.60 is 60%); " +
				"with service_fee_ratio it makes 1.00, which the service checks but the database does not."},
		{Name: "service_fee_ratio", SourceType: "numeric", Type: Numeric, Precision: 3, Scale: 2,
			Description: "Share of fee_per_declaration paid through the monthly service fee, as a fraction (0.40 is 40%)."},
	}, timestampColumns("band's terms")),
}

// FlatRateFeeStructures price mentors' training on ittecf_ectp contracts.
var FlatRateFeeStructures = Contract{
	Entity: "contract_flat_rate_fee_structures",
	Description: "Flat-rate fee structures: one row per ittecf_ectp contract (unique contract_id), pricing its mentors' " +
		"training at one fee per mentor, half paid on a started declaration and half on a completed one. ecf contracts " +
		"have none.",
	Source:           "rect",
	Table:            "contract_flat_rate_fee_structures",
	PrimaryKey:       []string{"id"},
	MinSchemaVersion: "20260603140320",
	Mode:             Full,
	Columns: columns([]Column{
		idColumn("flat-rate fee structure"),
		{Name: "contract_id", SourceType: "int8", Type: Int64, References: "contracts.id", Description: "The contract it prices (contracts.id)."},
		{Name: "recruitment_target", SourceType: "int4", Type: Int32, Description: "Mentors the lead provider is contracted to train."},
		{Name: "fee_per_declaration", SourceType: "numeric", Type: Numeric, Precision: 12, Scale: 2,
			Description: "Fee in pounds per mentor: half is paid for the mentor's started declaration and half for the completed one."},
	}, timestampColumns("fee structure")),
}

// Statements are the monthly payment statements of a contract.
var Statements = Contract{
	Entity: "statements",
	Description: "Monthly payment statements: one row per statement of a contract, for a month and year; one per contracted " +
		"lead provider and month (the service checks it; the database does not). Output statements pay the declarations " +
		"assigned to them (declarations.payment_statement_id) and recover clawbacks (clawback_statement_id), with the " +
		"service fee and any statement_adjustments; status moves open → payable → paid. The amounts are not stored: " +
		"the service computes them from the contract's fee structures.",
	Source:           "rect",
	Table:            "statements",
	PrimaryKey:       []string{"id"},
	MinSchemaVersion: "20260603140320",
	Mode:             Full,
	Columns: columns([]Column{
		idColumn("statement"),
		{Name: "contract_id", SourceType: "int8", Type: Int64, References: "contracts.id", Description: "The contract the statement pays (contracts.id)."},
		{Name: "month", SourceType: "int4", Type: Int32, LowCardinality: true, Description: "Month of the statement, 1 to 12."},
		{Name: "year", SourceType: "int4", Type: Int32, LowCardinality: true,
			Description: "Calendar year of the statement (not the cohort year, which is the contract's)."},
		{Name: "deadline_date", SourceType: "date", Type: Date,
			Description: "Last day on which a declaration can be assigned to this statement."},
		{Name: "payment_date", SourceType: "date", Type: Date, Description: "Day DfE pays the statement; after the deadline."},
		{Name: "status", SourceType: "statement_statuses", Type: Text, LowCardinality: true,
			Description: "open (still taking declarations), payable (past its deadline, awaiting payment) or paid."},
		{Name: "fee_type", SourceType: "fee_types", Type: Text, LowCardinality: true,
			Description: "output (pays declarations and the monthly fees; the statements lead providers see in the API) or " +
				"service (service fees only: no declaration is assigned to it)."},
		{Name: "marked_as_paid_at", SourceType: "timestamp", Type: Timestamp, Nullable: true,
			Description: "When the finance team authorised payment (UTC); NULL until then."},
		{Name: "api_id", SourceType: "uuid", Type: UUID, Description: "The statement's id in the lead provider API."},
		{Name: "api_updated_at", SourceType: "timestamp", Type: Timestamp, Nullable: true,
			Description: "When the statement last changed for the lead provider API (UTC)."},
	}, timestampColumns("statement")),
}

// StatementAdjustments are amounts the finance team adds to a statement.
var StatementAdjustments = Contract{
	Entity: "statement_adjustments",
	Description: "Adjustments to a statement's total made by hand by DfE's finance team: one row per adjustment, positive " +
		"(an extra payment) or negative (a deduction), with a label. They are added while an output statement is not " +
		"yet paid, and count in its total before VAT.",
	Source:           "rect",
	Table:            "statement_adjustments",
	PrimaryKey:       []string{"id"},
	MinSchemaVersion: "20260603140320",
	Mode:             Full,
	Columns: columns([]Column{
		idColumn("adjustment"),
		{Name: "statement_id", SourceType: "int8", Type: Int64, References: "statements.id", Description: "The statement adjusted (statements.id)."},
		{Name: "payment_type", SourceType: "varchar", Type: Text,
			Description: "What the adjustment is for, as the finance team wrote it (free text, up to 500 characters)."},
		// The source column is numeric without a precision: Rails stores
		// whatever BigDecimal it is given. numeric(38,9) is exactly what
		// BigQuery's NUMERIC holds.
		{Name: "amount", SourceType: "numeric", Type: Numeric, Precision: 38, Scale: 9,
			Description: "Amount in pounds, negative for a deduction; the service allows -1,000,000 to 1,000,000, never 0. " +
				"The source column has no precision or scale: an amount with more than 9 decimal places (or 29 digits before " +
				"the point) cannot be held here exactly, so its row is quarantined (nightshift.quarantine), never rounded."},
		{Name: "ecf_id", SourceType: "uuid", Type: UUID, Nullable: true,
			Description: "Id of the adjustment in the previous service (ECF1), for adjustments migrated from it; NULL for those made since."},
	}, timestampColumns("adjustment")),
}
