package schemas

// Reference tables of Register early career teachers that the people and
// periods point to: appropriate bodies (who oversee inductions) and the
// chain that ties a school's training to a lead provider and a delivery
// partner for a cohort year:
//
//	training_periods.school_partnership_id → school_partnerships
//	  .lead_provider_delivery_partnership_id → lead_provider_delivery_partnerships
//	    .active_lead_provider_id → active_lead_providers (.lead_provider_id, .contract_period_year)
//	    .delivery_partner_id → delivery_partners
//
// A training period that is only an expression of interest has no school
// partnership; its expression_of_interest_id points at active_lead_providers
// directly. In the service's database neither lead_provider_delivery_partnerships
// nor school_partnerships has a foreign key up the chain: only their unique
// pairs hold it together.

// AppropriateBodies are the organisations that oversee statutory induction.
var AppropriateBodies = Contract{
	Entity: "appropriate_bodies",
	Description: "Appropriate bodies: the organisations (teaching school hubs, local authorities, national bodies) that " +
		"oversee and sign off ECTs' statutory induction. One row per body that signs in to the service; what a body was " +
		"called and what type it was over time is in appropriate_body_periods, which induction periods point to.",
	Source:           "rect",
	Table:            "appropriate_bodies",
	PrimaryKey:       []string{"id"},
	MinSchemaVersion: "20260603140320",
	Mode:             Full,
	Columns: columns([]Column{
		idColumn("appropriate body"),
		{Name: "name", SourceType: "varchar", Type: Text, Description: "The appropriate body's current name."},
		{Name: "dfe_sign_in_organisation_id", SourceType: "int8", Type: Int64,
			Description: "The body's organisation in DfE Sign-in, through which its staff log in (dfe_sign_in_organisations.id, a table nightshift does not copy)."},
	}, timestampColumns("appropriate body")),
}

// AppropriateBodyPeriods are the appropriate bodies as induction periods,
// ECT spells and schools refer to them.
var AppropriateBodyPeriods = Contract{
	Entity: "appropriate_body_periods",
	Description: "Appropriate bodies as recorded against inductions: one row per appropriate body as it was for a span of " +
		"time (name and type). induction_periods.appropriate_body_period_id, ect_at_school_periods.school_reported_appropriate_body_id " +
		"and schools.last_chosen_appropriate_body_id point here. Legacy bodies imported from DQT, the Database of Qualified " +
		"Teachers, have no appropriate_body_id.",
	Source:           "rect",
	Table:            "appropriate_body_periods",
	PrimaryKey:       []string{"id"},
	MinSchemaVersion: "20260603140320",
	Mode:             Full,
	Columns: columns([]Column{
		idColumn("appropriate body period"),
		{Name: "appropriate_body_id", SourceType: "int8", Type: Int64, References: "appropriate_bodies.id", Nullable: true,
			Description: "The appropriate body this is a period of (appropriate_bodies.id); NULL for legacy bodies imported from DQT."},
		{Name: "name", SourceType: "varchar", Type: Text, Description: "The appropriate body's name during the period."},
		{Name: "body_type", SourceType: "appropriate_body_type", Type: Text, Nullable: true, LowCardinality: true,
			Description: "Kind of appropriate body: teaching_school_hub (the default), local_authority or national; NULL when unknown."},
		{Name: "dfe_sign_in_organisation_id", SourceType: "uuid", Type: UUID, Nullable: true,
			Description: "The body's organisation in DfE Sign-in, by its DfE Sign-in uuid (not dfe_sign_in_organisations.id); NULL for bodies that never signed in."},
		{Name: "dqt_id", SourceType: "uuid", Type: UUID, Nullable: true,
			Description: "The body's id in DQT, the Database of Qualified Teachers, for bodies imported from it; NULL otherwise."},
	}, timestampColumns("appropriate body period")),
}

// ActiveLeadProviders are lead providers contracted for a cohort year.
var ActiveLeadProviders = Contract{
	Entity: "active_lead_providers",
	Description: "Lead providers contracted for a contract period (cohort year): one row per (lead provider, year), unique. " +
		"Delivery partnerships hang off these rows, and a training period that is only an expression of interest points " +
		"here (training_periods.expression_of_interest_id).",
	Source:           "rect",
	Table:            "active_lead_providers",
	PrimaryKey:       []string{"id"},
	MinSchemaVersion: "20260603140320",
	Mode:             Full,
	Columns: columns([]Column{
		idColumn("contracted lead provider for the year"),
		{Name: "lead_provider_id", SourceType: "int8", Type: Int64, References: "lead_providers.id", LowCardinality: true, Description: "The lead provider (lead_providers.id)."},
		{Name: "contract_period_year", SourceType: "int8", Type: Int64, LowCardinality: true,
			Description: "The contract period (cohort) year, e.g. 2025 for the cohort starting in autumn 2025; a contract period runs June to May (contract_periods.year)."},
	}, timestampColumns("row")),
}

// LeadProviderDeliveryPartnerships pair a contracted lead provider with a
// delivery partner.
var LeadProviderDeliveryPartnerships = Contract{
	Entity: "lead_provider_delivery_partnerships",
	Description: "Which delivery partners work with a lead provider in a contract period: one row per (active lead provider, " +
		"delivery partner), unique. Schools partner with one of these pairs (school_partnerships). Holds no foreign key to " +
		"active_lead_providers or delivery_partners in the service's database.",
	Source:           "rect",
	Table:            "lead_provider_delivery_partnerships",
	PrimaryKey:       []string{"id"},
	MinSchemaVersion: "20260603140320",
	Mode:             Full,
	Columns: columns([]Column{
		idColumn("pairing of a lead provider and a delivery partner"),
		{Name: "active_lead_provider_id", SourceType: "int8", Type: Int64, References: "active_lead_providers.id",
			Description: "The lead provider in a contract period (active_lead_providers.id)."},
		{Name: "delivery_partner_id", SourceType: "int8", Type: Int64, References: "delivery_partners.id", Description: "The delivery partner (delivery_partners.id)."},
		{Name: "ecf_id", SourceType: "uuid", Type: UUID, Nullable: true,
			Description: "Id of the same provider relationship in the previous service (ECF1), for pairings migrated from it; NULL for pairings made since."},
	}, timestampColumns("pairing")),
}

// SchoolPartnerships are a school's partnerships with a lead provider and
// delivery partner for a year.
var SchoolPartnerships = Contract{
	Entity: "school_partnerships",
	Description: "Partnerships of a school with a lead provider and delivery partner for a contract period: one row per (school, lead " +
		"provider and delivery partner pairing), unique. Provider-led training periods point here " +
		"(training_periods.school_partnership_id); follow lead_provider_delivery_partnership_id to active_lead_providers for " +
		"the lead provider and year.",
	Source:           "rect",
	Table:            "school_partnerships",
	PrimaryKey:       []string{"id"},
	MinSchemaVersion: "20260603140320",
	Mode:             Full,
	Columns: columns([]Column{
		idColumn("school partnership"),
		{Name: "school_id", SourceType: "int8", Type: Int64, References: "schools.id", Description: "The school (schools.id)."},
		{Name: "lead_provider_delivery_partnership_id", SourceType: "int8", Type: Int64, References: "lead_provider_delivery_partnerships.id",
			Description: "The lead provider and delivery partner the school works with, for one contract period (lead_provider_delivery_partnerships.id)."},
		{Name: "api_id", SourceType: "uuid", Type: UUID, Description: "The partnership's id in the lead provider API."},
		{Name: "api_updated_at", SourceType: "timestamp", Type: Timestamp, Nullable: true,
			Description: "When the partnership last changed for the lead provider API (UTC); bumped without updated_at."},
	}, timestampColumns("partnership")),
}
