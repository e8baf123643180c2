package pipeline

import (
	"fmt"
	"strings"
)

// Kind is what a run does to its targets.
type Kind string

const (
	// KindFull reads every entity of the run in full and replaces its tables.
	KindFull Kind = "full"
	// KindBackfill reloads one entity, or a window of it, in checkpointed
	// chunks.
	KindBackfill Kind = "backfill"
	// KindRestore puts back a version of an entity's tables that a target
	// kept.
	KindRestore Kind = "restore"
	// KindPropagate finishes the BigQuery publish of a run whose warehouse
	// publish committed (a retry of such a run).
	KindPropagate Kind = "propagate"
)

// Spec is what a run was asked to do, recorded in nightshift.runs.spec so
// that `nightshift retry` replays the same kind of run with the same scope.
// It names entities as data; the meaning of each kind is the planner's.
type Spec struct {
	Kind     Kind     `json:"kind"`
	Entities []string `json:"entities"`
	// From and To bound a backfill's window (YYYY-MM-DD; empty: every row);
	// ChunkRows is its chunk size.
	From      string `json:"from,omitempty"`
	To        string `json:"to,omitempty"`
	ChunkRows int64  `json:"chunk_rows,omitempty"`
	// RestoreRun is the run whose version a restore brings back; 0 means
	// the version before the current one.
	RestoreRun int64 `json:"restore_run,omitempty"`
	// DataRun is the run whose extract a propagate run publishes.
	DataRun int64 `json:"data_run,omitempty"`
	// AcceptLoss names the entities the publish's loss check lets through
	// (--accept-loss): someone knows their rows really went.
	AcceptLoss []string `json:"accept_loss,omitempty"`
}

// Destructive says whether the run replaces data in a way that needs the
// environment named in production: a backfill or a restore (seed 004: a
// full sync started on production by mistake that could not be undone).
// Accepting a loss (--accept-loss) is destructive too: it publishes a table
// that lost rows.
func (s Spec) Destructive() bool {
	return s.Kind == KindBackfill || s.Kind == KindRestore || len(s.AcceptLoss) > 0
}

// ReadsSources says whether the run reads the sources: a full run and a
// backfill do; a restore and the BigQuery half of a published run only
// move what the targets already hold.
func (s Spec) ReadsSources() bool {
	return s.Kind == KindFull || s.Kind == KindBackfill || s.Kind == ""
}

// Mode is the one-line description of the spec kept in nightshift.runs.mode:
// two backfills with the same mode are the same backfill, so the second
// resumes the first.
func (s Spec) Mode() string {
	switch s.Kind {
	case KindBackfill:
		return fmt.Sprintf("backfill %s %s..%s by %d rows", strings.Join(s.Entities, ","), s.From, s.To, s.ChunkRows)
	case KindRestore:
		if s.RestoreRun != 0 {
			return fmt.Sprintf("restore %s to run %d", strings.Join(s.Entities, ","), s.RestoreRun)
		}
		return "restore " + strings.Join(s.Entities, ",")
	case KindPropagate:
		return fmt.Sprintf("propagate run %d", s.DataRun)
	}
	return string(KindFull)
}

// Operation names the spec in refusals and messages.
func (s Spec) Operation() string {
	if s.Kind == KindFull || s.Kind == "" {
		return "run"
	}
	if s.Kind == KindPropagate {
		return "retry"
	}
	return string(s.Kind)
}
