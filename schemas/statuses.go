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
		{Name: "status_changed_at", SourceType: "timestamp", Type: Timestamp, Nullable: true, InRange: inRangeWhy,
			Description: "When the status last changed, where the source records it (see status_changed_at_source); NULL where it does not. Versions and status_history begin at this time when it fits."},
		{Name: "status_changed_at_source", SourceType: "text", Type: Text, Nullable: true, LowCardinality: true,
			Description: "Where status_changed_at comes from: audits (Register's audit trail of the trainee's state), events (RECT's event log), training_periods (its withdrawn_at or deferred_at)."},
	}
}

// registerStateName is the CASE turning Register's trainees.state code
// (expr) into its name; the statuses query and the history rebuilt from
// the audit trail name states alike.
func registerStateName(expr string) string {
	return `CASE ` + expr + ` WHEN 0 THEN 'draft' WHEN 1 THEN 'submitted_for_trn' WHEN 2 THEN 'trn_received'
	           WHEN 3 THEN 'recommended_for_award' WHEN 4 THEN 'withdrawn' WHEN 5 THEN 'deferred'
	           WHEN 6 THEN 'awarded' ELSE 'unknown_' || ` + expr + ` END`
}

// inRange is a condition that the timestamp expr is within the years every
// target holds (not infinite either): a change time outside them is left
// NULL, so the statuses' change times are never quarantined (InRange).
func inRange(expr string) string {
	return expr + " >= '0001-01-01' AND " + expr + " < '10000-01-01'"
}

const inRangeWhy = "the query keeps only times within the years 1 to 9999"

// The RECT event types that mark a change of each status (the service's
// Event::EVENT_TYPES, app/models/event.rb).
const (
	declarationPaymentEvents  = `'teacher_declaration_created', 'teacher_declaration_eligible', 'teacher_declaration_payable', 'teacher_declaration_paid', 'teacher_declaration_voided'`
	declarationClawbackEvents = `'teacher_declaration_awaiting_clawback', 'teacher_declaration_clawed_back'`
	inductionEvents           = `'teacher_trs_induction_status_updated', 'teacher_passes_induction', 'teacher_fails_induction', 'teacher_induction_status_reset', 'induction_period_opened', 'induction_period_closed', 'induction_period_reopened', 'induction_period_deleted'`
	trainingActiveEvents      = `'teacher_starts_training_period', 'teacher_resumes_training_period'`
)

// RegisterStatuses are the statuses of Register trainee teachers.
var RegisterStatuses = Contract{
	Entity: "register_statuses",
	Description: "The status of every trainee of Register trainee teachers at the run's snapshot " +
		"(state as a name: draft, submitted_for_trn, trn_received, recommended_for_award, withdrawn, deferred, awarded).",
	Source: "register",
	// The last audit that changed the state (Register audits every change
	// of a trainee, the state's as [old, new] codes) is when the current
	// state began.
	Query: `SELECT 'trainee'::text AS entity_type, t.id AS entity_id,
	` + registerStateName("t.state") + ` AS status,
	a.changed_at AS status_changed_at,
	CASE WHEN a.changed_at IS NOT NULL THEN 'audits' END AS status_changed_at_source
FROM public.trainees t
LEFT JOIN (SELECT auditable_id, max(created_at) AS changed_at FROM public.audits
           WHERE auditable_type = 'Trainee' AND audited_changes ? 'state' AND ` + inRange("created_at") + `
           GROUP BY auditable_id) a ON a.auditable_id = t.id`,
	Reads: map[string][]string{
		"trainees": {"id", "state"},
		"audits":   {"auditable_type", "auditable_id", "audited_changes", "created_at"},
	},
	ChangedAt:       "status_changed_at",
	ChangedAtSource: "status_changed_at_source",
	// Every state change in the audit trail: a create audit holds the
	// first state, an update audit [old, new].
	HistoryBefore: `SELECT 'trainee'::text AS entity_type, a.auditable_id::bigint AS entity_id,
	` + registerStateName(`(CASE jsonb_typeof(a.audited_changes -> 'state') WHEN 'array' THEN a.audited_changes -> 'state' ->> 1
	            ELSE a.audited_changes ->> 'state' END)::int`) + ` AS status,
	a.created_at AS changed_at, 'audits'::text AS source
FROM {{schema}}.audits a
WHERE a.auditable_type = 'Trainee' AND a.audited_changes ? 'state' AND a.created_at IS NOT NULL`,
	HistoryBeforeReads: []string{"audits"},
	PrimaryKey:         []string{"entity_type", "entity_id"},
	MinSchemaVersion:   "20250721121140",
	Mode:               Full,
	History:            true,
	StatusOf:           map[string]string{"trainee": "trainees"},
	Columns:            statusColumns("trainee"),
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
	// When each status began: the last event of the kind that changes it
	// (the service records one for every declaration and induction status
	// change), or the training period's own withdrawn_at or deferred_at.
	// Each kind's events are gathered in one pass over the log.
	Query: `WITH declaration_events AS (
	SELECT declaration_id,
	       max(happened_at) FILTER (WHERE event_type IN (` + declarationPaymentEvents + `)) AS payment_at,
	       max(happened_at) FILTER (WHERE event_type IN (` + declarationClawbackEvents + `)) AS clawback_at
	FROM public.events WHERE declaration_id IS NOT NULL AND ` + inRange("happened_at") + `
	  AND event_type IN (` + declarationPaymentEvents + `, ` + declarationClawbackEvents + `)
	GROUP BY declaration_id
), induction_events AS (
	SELECT teacher_id, max(happened_at) AS changed_at FROM public.events
	WHERE teacher_id IS NOT NULL AND ` + inRange("happened_at") + ` AND event_type IN (` + inductionEvents + `) GROUP BY teacher_id
), training_events AS (
	SELECT training_period_id, max(happened_at) AS changed_at FROM public.events
	WHERE training_period_id IS NOT NULL AND ` + inRange("happened_at") + ` AND event_type IN (` + trainingActiveEvents + `) GROUP BY training_period_id
)
SELECT 'declaration_payment'::text AS entity_type, d.id AS entity_id, d.payment_status::text AS status,
	e.payment_at AS status_changed_at, CASE WHEN e.payment_at IS NOT NULL THEN 'events' END AS status_changed_at_source
FROM public.declarations d LEFT JOIN declaration_events e ON e.declaration_id = d.id
UNION ALL
SELECT 'declaration_clawback', d.id, d.clawback_status::text,
	e.clawback_at, CASE WHEN e.clawback_at IS NOT NULL THEN 'events' END
FROM public.declarations d LEFT JOIN declaration_events e ON e.declaration_id = d.id
UNION ALL
SELECT 'teacher_induction', t.id,
	CASE WHEN t.trs_induction_status = 'InProgress' AND NOT EXISTS (
	         SELECT 1 FROM public.induction_periods ip WHERE ip.teacher_id = t.id AND ip.finished_on IS NULL)
	     THEN 'Paused' ELSE t.trs_induction_status END,
	ie.changed_at, CASE WHEN ie.changed_at IS NOT NULL THEN 'events' END
FROM public.teachers t LEFT JOIN induction_events ie ON ie.teacher_id = t.id
UNION ALL
SELECT 'training_period', p.id, p.status,
	p.changed_at, CASE WHEN p.changed_at IS NULL THEN NULL WHEN p.status IN ('withdrawn', 'deferred') THEN 'training_periods' ELSE 'events' END
FROM (SELECT id, status,
	CASE status WHEN 'withdrawn' THEN withdrawn_at WHEN 'deferred' THEN deferred_at ELSE started_at END AS changed_at
FROM (SELECT tp.id, CASE WHEN ` + inRange("tp.withdrawn_at") + ` THEN tp.withdrawn_at END AS withdrawn_at,
	CASE WHEN ` + inRange("tp.deferred_at") + ` THEN tp.deferred_at END AS deferred_at, te.changed_at AS started_at,
	CASE WHEN tp.training_programme = 'school_led' THEN 'active'
	     WHEN tp.deferred_at IS NULL AND tp.withdrawn_at IS NULL THEN 'active'
	     WHEN tp.deferred_at IS NULL OR tp.withdrawn_at >= tp.deferred_at THEN 'withdrawn'
	     ELSE 'deferred' END AS status
	FROM public.training_periods tp LEFT JOIN training_events te ON te.training_period_id = tp.id) s) p`,
	Reads: map[string][]string{
		"declarations":      {"id", "payment_status", "clawback_status"},
		"teachers":          {"id", "trs_induction_status"},
		"induction_periods": {"teacher_id", "finished_on"},
		"training_periods":  {"id", "training_programme", "deferred_at", "withdrawn_at"},
		"events":            {"declaration_id", "teacher_id", "training_period_id", "event_type", "happened_at"},
	},
	ChangedAt:       "status_changed_at",
	ChangedAtSource: "status_changed_at_source",
	// The events that name the status they lead to (a created declaration
	// may start as no_payment or eligible, so it is left out).
	HistoryBefore: `SELECT 'declaration_payment'::text AS entity_type, e.declaration_id AS entity_id,
	CASE e.event_type WHEN 'teacher_declaration_eligible' THEN 'eligible' WHEN 'teacher_declaration_payable' THEN 'payable'
	                  WHEN 'teacher_declaration_paid' THEN 'paid' ELSE 'voided' END AS status,
	e.happened_at AS changed_at, 'events'::text AS source
FROM {{schema}}.events e
WHERE e.declaration_id IS NOT NULL AND e.happened_at IS NOT NULL
  AND e.event_type IN ('teacher_declaration_eligible', 'teacher_declaration_payable', 'teacher_declaration_paid', 'teacher_declaration_voided')
UNION ALL
SELECT 'declaration_clawback', e.declaration_id,
	CASE e.event_type WHEN 'teacher_declaration_awaiting_clawback' THEN 'awaiting_clawback' ELSE 'clawed_back' END, e.happened_at, 'events'
FROM {{schema}}.events e
WHERE e.declaration_id IS NOT NULL AND e.happened_at IS NOT NULL AND e.event_type IN (` + declarationClawbackEvents + `)
UNION ALL
SELECT 'training_period', e.training_period_id,
	CASE e.event_type WHEN 'teacher_defers_training_period' THEN 'deferred' WHEN 'teacher_withdraws_training_period' THEN 'withdrawn' ELSE 'active' END,
	e.happened_at, 'events'
FROM {{schema}}.events e
WHERE e.training_period_id IS NOT NULL AND e.happened_at IS NOT NULL
  AND e.event_type IN (` + trainingActiveEvents + `, 'teacher_defers_training_period', 'teacher_withdraws_training_period')
UNION ALL
SELECT 'teacher_induction', e.teacher_id, CASE e.event_type WHEN 'teacher_passes_induction' THEN 'Passed' ELSE 'Failed' END, e.happened_at, 'events'
FROM {{schema}}.events e
WHERE e.teacher_id IS NOT NULL AND e.happened_at IS NOT NULL AND e.event_type IN ('teacher_passes_induction', 'teacher_fails_induction')`,
	HistoryBeforeReads: []string{"events"},
	PrimaryKey:         []string{"entity_type", "entity_id"},
	MinSchemaVersion:   "20260603140320",
	Mode:               Full,
	History:            true,
	StatusOf: map[string]string{
		"declaration_payment": "declarations", "declaration_clawback": "declarations",
		"teacher_induction": "teachers", "training_period": "training_periods",
	},
	Columns: statusColumns("declaration_payment, declaration_clawback, teacher_induction (Paused when in progress without an open induction period) or training_period (active, deferred or withdrawn)"),
}
