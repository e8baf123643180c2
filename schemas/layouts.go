package schemas

// The BigQuery layout of every entity, in one place so that the choices
// can be read side by side and reviewed by an analyst; init copies each
// into its contract's BigQuery field, which everything else reads (the
// loader, `nightshift bigquery relayout`, the data dictionary).
//
// How they were chosen, as an analyst querying through Looker would:
//
//   - Only the tables that grow with people and events — trainees, teachers,
//     the periods, declarations and the statuses — are partitioned; at a
//     million rows and more, a filter on the partitioning column (a cohort,
//     a month of declarations) then reads and bills only those partitions.
//   - Partitions are coarse: MONTH of a date, or wide ranges of an id. Every
//     run rewrites each table whole, and a load job may modify at most 4,000
//     partitions (MaxPartitionsPerJob), which eleven years of DAY
//     partitions exceed; 200 years of months (1960 to 2159, the span time
//     partitions cover) are 2,400. Academic years and cohorts start in
//     August or September, so a filter on a year's dates reads twelve
//     months exactly.
//   - Partitioning columns are never or rarely NULL (NULLs go to the
//     __NULL__ partition, dates outside 1960–2159 to __UNPARTITIONED__:
//     kept, just never pruned) and never personal (BigQuery holds those
//     hashed or not at all).
//   - Clustering follows the filters of the dashboards: the organisation
//     (provider, school, appropriate body, statement) first, then the
//     categories (route, status, type), then the person.
//   - The reference tables stay as they are (small): a few thousand rows,
//     which BigQuery reads whole in one block and bills at its 10 MB
//     minimum per table whatever the layout. BigQuery advises clustering
//     rather than partitioning below about 10 GB a partition, and
//     clustering pays only on tables many blocks long.
//
// A change of Partition here is a migration: the next run refuses to load
// the entity until `nightshift bigquery relayout` has rebuilt its tables.
// A change of Cluster is applied by the next run itself.

func init() {
	for _, c := range registry {
		if l, ok := layouts[c.Entity]; ok {
			c.BigQuery = l
		}
	}
}

// small is the layout of a reference table: none.
func small(rows string) Layout {
	return Layout{Why: rows + ": small enough that BigQuery reads it whole in any query, so neither partitions nor clustering would save anything."}
}

// monthly partitions by the month of a date or timestamp.
func monthly(column string) *Partition { return &Partition{Column: column, By: ByMonth} }

var layouts = map[string]Layout{
	"trainees": {
		Partition: monthly("itt_start_date"),
		Cluster:   []string{"provider_id", "training_route_name", "state_name"},
		Why: "Trainees are counted by cohort: the course's start date (itt_start_date), and an academic cycle (August to July) " +
			"is twelve monthly partitions. It is NULL on records without course details yet, mostly drafts (the __NULL__ " +
			"partition). Within a month, " +
			"rows are sorted by provider, then training route and status: what nearly every dashboard filters on.",
	},
	"trainee_withdrawals":                 small("One row per withdrawal, a tenth of the trainees at most"),
	"trainee_withdrawal_reasons":          small("A few rows per withdrawal"),
	"withdrawal_reasons":                  small("33 reasons"),
	"providers":                           small("Some hundreds of providers"),
	"academic_cycles":                     small("One row per year"),
	"training_partners":                   small("Some thousands of partners"),
	"schools":                             small("Some tens of thousands of schools"),
	"lead_providers":                      small("A dozen lead providers"),
	"delivery_partners":                   small("Some hundreds of delivery partners"),
	"appropriate_bodies":                  small("Some hundreds of appropriate bodies"),
	"appropriate_body_periods":            small("Some hundreds of appropriate bodies over time"),
	"active_lead_providers":               small("A dozen lead providers a year"),
	"lead_provider_delivery_partnerships": small("Some hundreds of pairings a year"),
	"school_partnerships":                 small("Some tens of thousands of partnerships"),
	"teachers": {
		Partition: &Partition{Column: "id", Range: &IntegerRange{Start: 0, End: 10_000_000, Interval: 100_000}},
		Cluster:   []string{"trs_induction_status"},
		Why: "No date describes every teacher (TRS's dates are NULL until TRS answers, and when the service first saw a teacher " +
			"is rarely asked), so the table is split by ranges of its key: never NULL, growing as teachers register, so the " +
			"partitions fill evenly (100,000 teachers each; ids past 10 million would go to __UNPARTITIONED__). A look-up or a " +
			"join restricted to some ids reads only their partitions; sorted by induction status, what reports count by.",
	},
	"ect_at_school_periods": {
		Partition: monthly("started_on"),
		Cluster:   []string{"school_id", "teacher_id"},
		Why: "Spells are counted by when they start (started_on, never NULL; cohorts start in September). Sorted by school, " +
			"what schools' and regions' dashboards filter on, then by teacher, for one teacher's history.",
	},
	"mentor_at_school_periods": {
		Partition: monthly("started_on"),
		Cluster:   []string{"school_id", "teacher_id"},
		Why:       "As ect_at_school_periods: by the month a spell starts (never NULL), sorted by school, then teacher.",
	},
	"mentorship_periods": {
		Partition: monthly("started_on"),
		Cluster:   []string{"ect_at_school_period_id", "mentor_at_school_period_id"},
		Why: "By the month a mentorship starts (never NULL), sorted by the ECT's spell, then the mentor's: mentorships are " +
			"always reached from one side or the other.",
	},
	"induction_periods": {
		Partition: monthly("started_on"),
		Cluster:   []string{"appropriate_body_period_id", "teacher_id"},
		Why: "By the month an induction period starts (never NULL; periods imported from DQT can start decades ago, before " +
			"1960 in __UNPARTITIONED__), sorted by appropriate body, which oversees and reports on them, then teacher.",
	},
	"training_periods": {
		Partition: monthly("started_on"),
		Cluster:   []string{"training_programme", "school_partnership_id", "expression_of_interest_id"},
		Why: "By the month training starts (never NULL), sorted by programme (provider-led or school-led, the first filter of " +
			"every training report), then the school's partnership and the expression of interest, which lead to the lead " +
			"provider and the year.",
	},
	"contracts":                                small("A few contracts per lead provider and year"),
	"contract_banded_fee_structures":           small("One per contract"),
	"contract_banded_fee_structure_band_terms": small("A few bands per fee structure"),
	"contract_flat_rate_fee_structures":        small("One per ittecf_ectp contract"),
	"statements":                               small("One per lead provider and month"),
	"statement_adjustments":                    small("A few per statement"),
	"declarations": {
		Partition: monthly("declaration_date"),
		Cluster:   []string{"payment_statement_id", "declaration_type", "payment_status", "training_period_id"},
		Why: "The largest table. Declarations are paid and reported by month, so by the month of declaration_date (never NULL). " +
			"Sorted by payment statement (one lead provider's month, what finance reconciles), then declaration type and payment " +
			"status, then training period, for one participant's declarations.",
	},
	"audits": {
		Partition: monthly("created_at"),
		Cluster:   []string{"auditable_type", "auditable_id"},
		Why: "Changes are read by when they were made, so by the month of created_at (set by the audited gem on every row; " +
			"NULL only if someone wrote an audit by hand). Sorted by the kind of record, then the record: one trainee's history " +
			"reads a few blocks.",
	},
	"events": {
		Partition: monthly("happened_at"),
		Cluster:   []string{"event_type", "teacher_id"},
		Why: "Events are read by when they happened, so by the month of happened_at (defaulted by the database; a period's " +
			"events can happen years before they were written). Sorted by event type, what reports count, then teacher, for one " +
			"teacher's timeline.",
	},
	"register_statuses": {
		Partition: &Partition{Column: "entity_id", Range: &IntegerRange{Start: 0, End: 100_000_000, Interval: 1_000_000}},
		Cluster:   []string{"entity_type", "status"},
		Why: "A status has no date (it is as of the run), and rows are found by the id of what they describe, so by ranges of " +
			"entity_id (never NULL; a million ids each). Sorted by entity type and status: every count of statuses filters on both.",
	},
	"rect_statuses": {
		Partition: &Partition{Column: "entity_id", Range: &IntegerRange{Start: 0, End: 100_000_000, Interval: 1_000_000}},
		Cluster:   []string{"entity_type", "status"},
		Why:       "As register_statuses: by ranges of entity_id (never NULL), sorted by entity type and status.",
	},
}
