package schemas

// Statuses are one row per (entity type, entity id) with the entity's
// status at the run's snapshot: the statuses the services store, and those
// they only compute on the fly, computed here from the same snapshot so
// that analysts can see them, and their history, in the warehouse.
//
// The entity types are: trainee (trainees.state), declaration_payment and
// declaration_clawback (declarations.payment_status, clawback_status),
// teacher_induction (teachers.trs_induction_status, or Paused) and
// training_period (derived).

func statusColumns(types string) []Column {
	return []Column{
		{Name: "entity_type", SourceType: "text", Type: Text, LowCardinality: true,
			Description: "What the status is of: " + types + "."},
		{Name: "entity_id", SourceType: "int8", Type: Int64,
			Description: "Id of the entity in its table (trainees.id, declarations.id, teachers.id, training_periods.id)."},
		{Name: "status", SourceType: "text", Type: Text, Nullable: true, LowCardinality: true,
			Description: "The entity's status at the run's snapshot of the source; NULL when the source holds none."},
	}
}

// RegisterStatuses are the statuses of Register trainee teachers.
var RegisterStatuses = Contract{
	Entity: "register_statuses",
	Description: "The status of every trainee of Register trainee teachers at the run's snapshot " +
		"(state as a name: draft, submitted_for_trn, trn_received, recommended_for_award, withdrawn, deferred, awarded).",
	Source: "register",
	Query: `SELECT 'trainee'::text AS entity_type, id AS entity_id,
	CASE state WHEN 0 THEN 'draft' WHEN 1 THEN 'submitted_for_trn' WHEN 2 THEN 'trn_received'
	           WHEN 3 THEN 'recommended_for_award' WHEN 4 THEN 'withdrawn' WHEN 5 THEN 'deferred'
	           WHEN 6 THEN 'awarded' ELSE 'unknown_' || state END AS status
FROM public.trainees`,
	Reads:            map[string][]string{"trainees": {"id", "state"}},
	PrimaryKey:       []string{"entity_type", "entity_id"},
	MinSchemaVersion: "20250721121140",
	Mode:             Full,
	History:          true,
	StatusOf:         map[string]string{"trainee": "trainees"},
	Columns:          statusColumns("trainee"),
}

// RECTStatuses are the statuses of Register early career teachers. Two are
// computed as the service computes them (dfe-sources.md §iv.7):
//   - a training period is active when school-led or neither deferred nor
//     withdrawn; otherwise the later of withdrawn_at and deferred_at wins;
//   - induction is Paused when TRS says InProgress but the teacher has no
//     open induction period.
var RECTStatuses = Contract{
	Entity: "rect_statuses",
	Description: "The status of every declaration (payment and clawback), teacher (induction) and training period " +
		"of Register early career teachers at the run's snapshot, including the statuses the service only computes on the fly.",
	Source: "rect",
	Query: `SELECT 'declaration_payment'::text AS entity_type, id AS entity_id, payment_status::text AS status FROM public.declarations
UNION ALL
SELECT 'declaration_clawback', id, clawback_status::text FROM public.declarations
UNION ALL
SELECT 'teacher_induction', t.id,
	CASE WHEN t.trs_induction_status = 'InProgress' AND NOT EXISTS (
	         SELECT 1 FROM public.induction_periods ip WHERE ip.teacher_id = t.id AND ip.finished_on IS NULL)
	     THEN 'Paused' ELSE t.trs_induction_status END
FROM public.teachers t
UNION ALL
SELECT 'training_period', tp.id,
	CASE WHEN tp.training_programme = 'school_led' THEN 'active'
	     WHEN tp.deferred_at IS NULL AND tp.withdrawn_at IS NULL THEN 'active'
	     WHEN tp.deferred_at IS NULL OR tp.withdrawn_at >= tp.deferred_at THEN 'withdrawn'
	     ELSE 'deferred' END
FROM public.training_periods tp`,
	Reads: map[string][]string{
		"declarations":      {"id", "payment_status", "clawback_status"},
		"teachers":          {"id", "trs_induction_status"},
		"induction_periods": {"teacher_id", "finished_on"},
		"training_periods":  {"id", "training_programme", "deferred_at", "withdrawn_at"},
	},
	PrimaryKey:       []string{"entity_type", "entity_id"},
	MinSchemaVersion: "20260603140320",
	Mode:             Full,
	History:          true,
	StatusOf: map[string]string{
		"declaration_payment": "declarations", "declaration_clawback": "declarations",
		"teacher_induction": "teachers", "training_period": "training_periods",
	},
	Columns: statusColumns("declaration_payment, declaration_clawback, teacher_induction (Paused when in progress without an open induction period) or training_period (active, deferred or withdrawn)"),
}
