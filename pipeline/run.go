// Package pipeline runs a plan of steps and keeps the run ledger. It knows
// nothing about entities, sources or targets: a Task is a named list of
// Steps, and the runner executes each task's steps in order, with retries
// capped and classified, recording every attempt.
package pipeline

import (
	"time"
)

// Trigger says what started a run.
type Trigger string

const (
	TriggerSchedule Trigger = "schedule"
	TriggerManual   Trigger = "manual"
	TriggerBackfill Trigger = "backfill"
	TriggerRetry    Trigger = "retry"
	TriggerRestore  Trigger = "restore"
)

// Status is where a run or a step stands.
type Status string

const (
	StatusRunning   Status = "running"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusAborted   Status = "aborted"
	StatusAbandoned Status = "abandoned"
	StatusRefused   Status = "refused"
	// StatusStaged is an entity of a run that did not publish: its rows
	// were read and checked, and then thrown away with the run.
	StatusStaged Status = "staged"
)

// Run is one execution of the pipeline, as recorded in nightshift.runs.
type Run struct {
	ID  int64
	Env string
	// Production says the environment is production, by the
	// configuration's definition: notifications say so loudly.
	Production bool
	Trigger    Trigger
	Mode       string
	Entities   []string
	Reason     string
	StartedBy  string
	StartedAt  time.Time
	// Spec is what the run was asked to do; RetryOf the run it retries.
	Spec    Spec
	RetryOf int64
	// SourceVersions is the schema_migrations version of each source.
	SourceVersions map[string]string
	// Additions is what the preflight found in the sources that did not
	// stop the run; nil when the run checked no source.
	Additions *Additions
}
