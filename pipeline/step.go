package pipeline

import (
	"context"
	"time"
)

// Step is one unit of work for one entity: extract, load-warehouse, …
// Running a step again, after a failure or in a later run, must leave its
// target exactly as one successful run would.
type Step interface {
	// Name is the step's kind, as recorded in step_runs.step.
	Name() string
	// Run performs one attempt; attempt counts from 1.
	Run(ctx context.Context, attempt int) (Outcome, error)
}

// Outcome is what a successful attempt reports to the ledger.
type Outcome struct {
	Rows     int64
	Bytes    int64
	Checksum string
	// Detail is the step's typed output: what a later step, or a retry in
	// another process, needs; stored as JSON in step_runs.detail.
	Detail any
}

// Task is the ordered steps of one entity. A step runs only after the one
// before it succeeded.
type Task struct {
	Entity string
	Steps  []Step
	// SumRows says the steps move disjoint rows (a backfill's chunks), so
	// the entity's rows are their sum, not the most any step moved.
	SumRows bool
}

// RunEntity is the entity name under which the ledger records the steps
// that act on the whole run at once: the publish.
const RunEntity = "*"

// Plan is what a run will do, in three phases. Stage prepares every entity
// out of analysts' sight (tasks in parallel). Only when every stage task
// succeeded does Publish make them visible in the warehouse, all at once,
// in one transaction that also records the publication in the ledger. Only
// after that commit does Propagate copy the run to the secondary targets
// (BigQuery), per entity, idempotently per run. A run stopped before
// Publish committed has changed nothing analysts see.
type Plan struct {
	Stage     []Task
	Publish   Step
	Propagate []Task
	// AfterPropagate, when set, runs once every Propagate task succeeded,
	// as a step of the whole run (entity RunEntity): what needs all the
	// run's entities in the secondary target at once (BigQuery's status
	// history, views and freshness). The run has propagated only when it
	// succeeded too.
	AfterPropagate Step
	// Discard throws away the staging of a run that will not publish,
	// keeping only what a resume needs. It runs on a context that survives
	// the run's cancellation.
	Discard func(ctx context.Context)
	// Close releases what the plan holds (source snapshots).
	Close func()
	// SourceVersions is the schema_migrations version of each source read.
	SourceVersions map[string]string
	// Additions is what the preflight found in the sources that did not
	// stop the run (a newer schema version, a source column added): the
	// runner records it with the run, and every report of the run shows it.
	Additions *Additions
	// Notes are other things worth a log line that did not stop the run (a
	// backfill's chunks already done).
	Notes []string
}

// EntityResult is how one entity fared in a run.
type EntityResult struct {
	Entity string
	Status Status
	Rows   int64
	// Steps is how many steps ran; Attempts how many attempts they took in
	// all, so Attempts - Steps is the number of retries.
	Steps    int
	Attempts int
	Duration time.Duration
	// FailedStep and Err are set when Status is failed or aborted.
	FailedStep string
	Err        error
}

// StageOnly plans a run of tasks that need no publish: each task's steps
// are the whole of the run (tests, and tools that run steps directly).
func StageOnly(tasks ...Task) Planner {
	return func(context.Context, *Run) (*Plan, error) { return &Plan{Stage: tasks}, nil }
}
