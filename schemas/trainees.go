package schemas

// Trainees is a trainee of Register trainee teachers: one row per initial
// teacher training enrolment, so one person can have several rows.
var Trainees = Contract{
	Entity: "trainees",
	Description: "Trainees registered for initial teacher training (Register trainee teachers). " +
		"One row per training record: a person who trains twice, or was registered twice, has two rows " +
		"(trn is not unique). Soft-deleted records are kept, with discarded_at set.",
	Source:     "register",
	Table:      "trainees",
	PrimaryKey: []string{"id"},
	// 20260303085049 added funding_eligibility, the newest column read
	// (20260114115229 renamed slug_sent_to_dqt_at to slug_sent_to_trs_at,
	// 20251209113730 renamed lead partners to training partners).
	MinSchemaVersion: "20260303085049",
	Mode:             Full,
	Ignored:          traineesIgnored,
	Columns: []Column{
		{Name: "id", SourceType: "int8", Type: Int64, Description: "Register's identifier of the training record."},
		{Name: "slug", SourceType: "citext", Type: Text, Description: "Public 24-character identifier used in Register's URLs."},
		{Name: "provider_trainee_id", SourceType: "text", Type: Text, Nullable: true, PII: PIIPersonal, Description: "The provider's own reference for the trainee (its student number): identifies a person at the provider."},
		{Name: "provider_id", SourceType: "int8", Type: Int64, References: "providers.id", Description: "Accredited provider responsible for the training (providers.id)."},
		{Name: "first_names", SourceType: "text", Type: Text, Nullable: true, PII: PIIPersonal, Description: "Trainee's first names."},
		{Name: "middle_names", SourceType: "text", Type: Text, Nullable: true, PII: PIIPersonal, Description: "Trainee's middle names."},
		{Name: "last_name", SourceType: "text", Type: Text, Nullable: true, PII: PIIPersonal, Description: "Trainee's last name."},
		{Name: "date_of_birth", SourceType: "date", Type: Date, Nullable: true, PII: PIIPersonal, Description: "Trainee's date of birth."},
		{Name: "sex", SourceType: "int4", Type: Int32, Nullable: true, PII: PIISpecial, LowCardinality: true, Description: "Sex as recorded by the provider (code).", Labels: sexLabels},
		{Name: "email", SourceType: "text", Type: Text, Nullable: true, PII: PIIPersonal, Description: "Trainee's email address as the provider entered it (free text, may be shared)."},
		{Name: "trn", SourceType: "varchar", Type: Text, Nullable: true, PII: PIIPersonal, Description: "Teacher reference number from the Teaching Regulation Agency; not unique across training records."},
		{Name: "hesa_id", SourceType: "varchar", Type: Text, Nullable: true, PII: PIIPersonal, Description: "HESA student identifier, for trainees registered through the HESA collection."},
		{Name: "state", SourceType: "int4", Type: Int32, Nullable: true, LowCardinality: true, Description: "Stored status of the training record (code).", Labels: traineeStates},
		{Name: "training_route", SourceType: "int4", Type: Int32, Nullable: true, LowCardinality: true, Description: "Training route (code); 13, provider-led postgraduate salaried, was retired in July 2024.", Labels: trainingRoutes},
		{Name: "training_initiative", SourceType: "int4", Type: Int32, Nullable: true, LowCardinality: true, Description: "Training initiative the trainee is part of (code).", Labels: trainingInitiatives},
		{Name: "course_subject_one", SourceType: "text", Type: Text, Nullable: true, LowCardinality: true, Description: "Main subject of the course."},
		{Name: "course_subject_two", SourceType: "text", Type: Text, Nullable: true, LowCardinality: true, Description: "Second subject of the course, if any."},
		{Name: "course_subject_three", SourceType: "text", Type: Text, Nullable: true, LowCardinality: true, Description: "Third subject of the course, if any."},
		{Name: "course_min_age", SourceType: "int4", Type: Int32, Nullable: true, LowCardinality: true, Description: "Youngest pupil age the course trains for."},
		{Name: "course_max_age", SourceType: "int4", Type: Int32, Nullable: true, LowCardinality: true, Description: "Oldest pupil age the course trains for."},
		{Name: "course_education_phase", SourceType: "int4", Type: Int32, Nullable: true, LowCardinality: true, Description: "Education phase of the course (code).", Labels: map[int]string{0: "primary", 1: "secondary", 2: "early_years"}},
		{Name: "study_mode", SourceType: "int4", Type: Int32, Nullable: true, LowCardinality: true, Description: "Study mode (code).", Labels: map[int]string{0: "part_time", 1: "full_time"}},
		{Name: "itt_start_date", SourceType: "date", Type: Date, Nullable: true, Description: "Start date of the initial teacher training course."},
		{Name: "itt_end_date", SourceType: "date", Type: Date, Nullable: true, Description: "Expected end date of the initial teacher training course."},
		{Name: "trainee_start_date", SourceType: "date", Type: Date, Nullable: true, Description: "Date the trainee actually started, when different from the course start."},
		{Name: "defer_date", SourceType: "date", Type: Date, Nullable: true, Description: "Date the training was deferred; kept after a reinstatement."},
		{Name: "reinstate_date", SourceType: "date", Type: Date, Nullable: true, Description: "Date a deferred trainee was reinstated."},
		{Name: "outcome_date", SourceType: "date", Type: Date, Nullable: true, Description: "Date the trainee met the standards for the award."},
		{Name: "defer_reason", SourceType: "varchar", Type: Text, Nullable: true, PII: PIISpecial, Description: "Why the training was deferred, in the provider's words: free text that can describe health or family circumstances."},
		{Name: "submitted_for_trn_at", SourceType: "timestamp", Type: Timestamp, Nullable: true, Description: "When the record was submitted to request a TRN (UTC)."},
		{Name: "recommended_for_award_at", SourceType: "timestamp", Type: Timestamp, Nullable: true, Description: "When the provider recommended the trainee for QTS or EYTS (UTC)."},
		{Name: "awarded_at", SourceType: "timestamp", Type: Timestamp, Nullable: true, Description: "When QTS or EYTS was awarded (UTC)."},
		{Name: "applying_for_bursary", SourceType: "bool", Type: Bool, Nullable: true, Description: "Whether the trainee applied for a bursary."},
		{Name: "applying_for_grant", SourceType: "bool", Type: Bool, Nullable: true, Description: "Whether the trainee applied for a grant."},
		{Name: "applying_for_scholarship", SourceType: "bool", Type: Bool, Nullable: true, Description: "Whether the trainee applied for a scholarship."},
		{Name: "course_uuid", SourceType: "uuid", Type: UUID, Nullable: true, Description: "The course in Find and Apply the trainee is on, when chosen from the course list."},
		{Name: "course_allocation_subject_id", SourceType: "int8", Type: Int64, Nullable: true, Description: "Allocation subject the course counts against for funding (allocation_subjects.id)."},
		{Name: "ebacc", SourceType: "bool", Type: Bool, Nullable: true, Description: "Whether the course leads to an English Baccalaureate subject."},
		{Name: "region", SourceType: "varchar", Type: Text, Nullable: true, LowCardinality: true, Description: "Region of England the training takes place in (for salaried and apprenticeship routes)."},
		{Name: "iqts_country", SourceType: "varchar", Type: Text, Nullable: true, LowCardinality: true, Description: "Country an international QTS (iqts route) trainee trains in."},
		{Name: "placement_detail", SourceType: "int4", Type: Int32, Nullable: true, LowCardinality: true, Description: "Whether the provider has given the trainee's school placements (code).", Labels: map[int]string{0: "has_placement_detail", 1: "no_placement_detail"}},
		{Name: "bursary_tier", SourceType: "int4", Type: Int32, Nullable: true, LowCardinality: true, Description: "Bursary tier 1..3, when tiered."},
		{Name: "funding_eligibility", SourceType: "varchar", Type: Text, Nullable: true, LowCardinality: true, Description: "Funding eligibility: eligible or not_eligible."},
		{Name: "commencement_status", SourceType: "int4", Type: Int32, Nullable: true, LowCardinality: true, Description: "Whether the trainee started on time (code).", Labels: map[int]string{0: "itt_started_on_time", 1: "itt_started_later", 2: "itt_not_yet_started"}},
		{Name: "ethnic_group", SourceType: "int4", Type: Int32, Nullable: true, PII: PIISpecial, LowCardinality: true, Description: "Ethnic group (code).", Labels: map[int]string{0: "asian_ethnic_group", 1: "black_ethnic_group", 2: "mixed_ethnic_group", 3: "white_ethnic_group", 4: "other_ethnic_group", 5: "not_provided_ethnic_group"}},
		{Name: "ethnic_background", SourceType: "text", Type: Text, Nullable: true, PII: PIISpecial, LowCardinality: true, Description: "Ethnic background within the group."},
		{Name: "additional_ethnic_background", SourceType: "text", Type: Text, Nullable: true, PII: PIISpecial, Description: "Ethnic background in the trainee's own words, when none of the listed ones fits."},
		{Name: "diversity_disclosure", SourceType: "int4", Type: Int32, Nullable: true, PII: PIISpecial, LowCardinality: true, Description: "Whether the trainee shared diversity information at all (code).", Labels: map[int]string{0: "diversity_disclosed", 1: "diversity_not_disclosed"}},
		{Name: "disability_disclosure", SourceType: "int4", Type: Int32, Nullable: true, PII: PIISpecial, LowCardinality: true, Description: "Whether the trainee disclosed a disability (code).", Labels: map[int]string{0: "disabled", 1: "no_disability", 2: "not_provided"}},
		{Name: "record_source", SourceType: "varchar", Type: Text, Nullable: true, LowCardinality: true, Description: "Where the record came from: apply, dttp, hesa_collection, hesa_trn_data, manual, api or csv."},
		{Name: "start_academic_cycle_id", SourceType: "int8", Type: Int64, References: "academic_cycles.id", Nullable: true, Description: "Academic cycle (1 Aug–31 Jul) the training started in (academic_cycles.id)."},
		{Name: "end_academic_cycle_id", SourceType: "int8", Type: Int64, References: "academic_cycles.id", Nullable: true, Description: "Academic cycle the training ends in (academic_cycles.id)."},
		{Name: "employing_school_id", SourceType: "int8", Type: Int64, Nullable: true, Description: "School employing a salaried trainee (schools.id)."},
		{Name: "employing_school_not_applicable", SourceType: "bool", Type: Bool, Nullable: true, Description: "The provider said no employing school applies (so employing_school_id is NULL on purpose)."},
		{Name: "training_partner_id", SourceType: "int8", Type: Int64, References: "training_partners.id", Nullable: true, Description: "Training partner, formerly lead partner: a school or a higher education institution (training_partners.id)."},
		{Name: "training_partner_not_applicable", SourceType: "bool", Type: Bool, Nullable: true, Description: "The provider said no training partner applies (so training_partner_id is NULL on purpose)."},
		{Name: "progress", SourceType: "jsonb", Type: JSON, Nullable: true, Description: "Which sections of the record the provider has completed (JSON object); NULL on some imported records."},
		{Name: "submission_ready", SourceType: "bool", Type: Bool, Nullable: true, Description: "Whether the record is complete enough to submit; NULL on some imported records."},
		{Name: "created_from_dttp", SourceType: "bool", Type: Bool, Description: "Whether the record was first created by the import from DTTP, the service before Register."},
		{Name: "created_from_hesa", SourceType: "bool", Type: Bool, Description: "Whether the record was first created by the HESA collection import."},
		{Name: "hesa_updated_at", SourceType: "timestamp", Type: Timestamp, Nullable: true, Description: "When the HESA collection import last changed the record (UTC)."},
		{Name: "slug_sent_to_trs_at", SourceType: "timestamp", Type: Timestamp, Nullable: true, Description: "When the record's slug was sent to the Teaching Regulation Agency's service (TRS) (UTC)."},
		{Name: "discarded_at", SourceType: "timestamp", Type: Timestamp, Nullable: true, Description: "When the record was soft-deleted (UTC); NULL for live records."},
		{Name: "created_at", SourceType: "timestamp", Type: Timestamp, Description: "When the record was created in Register (UTC)."},
		{Name: "updated_at", SourceType: "timestamp", Type: Timestamp, Description: "When the record was last changed through Register's application (UTC); some writes bypass it."},
	},
}

// traineesIgnored are the columns of Register's trainees table nightshift
// does not read, and why: none is of use to an analyst, and some would
// carry PII out for nothing.
var traineesIgnored = map[string]string{
	"additional_dttp_data":         "the raw DTTP record a migrated trainee was imported from: import plumbing, holds PII",
	"application_choice_id":        "key of the application in Apply, a service whose data is not under contract",
	"apply_application_id":         "Register's copy of the Apply application, not under contract (record_source says a record came from Apply)",
	"dormancy_dttp_id":             "DTTP sync plumbing of the service before Register",
	"dttp_id":                      "DTTP sync plumbing of the service before Register",
	"dttp_update_sha":              "DTTP sync plumbing of the service before Register",
	"placement_assignment_dttp_id": "DTTP sync plumbing of the service before Register",
	"hesa_editable":                "a user-interface permission flag, not a fact about the training",
	"searchable":                   "a full-text search vector of names and identifiers (PII), for Register's own search",
}

// The labels of Register's integer enums, from its models and initialisers
// (app/models/trainee.rb, config/initializers/training_routes.rb).
var (
	traineeStates = map[int]string{
		0: "draft", 1: "submitted_for_trn", 2: "trn_received", 3: "recommended_for_award",
		4: "withdrawn", 5: "deferred", 6: "awarded",
	}
	trainingRoutes = map[int]string{
		0: "assessment_only", 1: "provider_led_postgrad", 2: "early_years_undergrad",
		3: "school_direct_tuition_fee", 4: "school_direct_salaried", 5: "pg_teaching_apprenticeship",
		6: "early_years_assessment_only", 7: "early_years_salaried", 8: "early_years_postgrad",
		9: "provider_led_undergrad", 10: "opt_in_undergrad", 11: "hpitt_postgrad", 12: "iqts",
		13: "provider_led_postgrad_salaried", 14: "teacher_degree_apprenticeship",
	}
	trainingInitiatives = map[int]string{
		0: "transition_to_teach", 1: "troops_to_teachers", 2: "now_teach", 3: "future_teaching_scholars",
		4: "no_initiative", 5: "maths_physics_chairs_programme_researchers_in_schools", 6: "veterans_teaching_undergraduate_bursary",
		7: "international_relocation_payment", 8: "primary_mathematics_specialist", 9: "additional_itt_place_for_pe_with_a_priority_subject",
		10: "abridged_itt_course",
	}
	sexLabels = map[int]string{0: "male", 1: "female", 2: "other", 3: "sex_not_provided", 4: "prefer_not_to_say"}
)
