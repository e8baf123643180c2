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
	// Detail holds what a later step or a retry needs, stored as JSON.
	Detail map[string]any
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
