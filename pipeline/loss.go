package pipeline

import (
	"errors"
	"fmt"
	"strings"
)

// LossFinding is what the publish's loss check found in one entity: the
// rows of the published table whose key the staged table no longer has,
// and the signs that its source went back in time (a point-in-time
// restore, seed 003). Tripped says it is past the entity's threshold;
// Accepted that the run was told to publish it all the same
// (--accept-loss).
type LossFinding struct {
	Entity    string  `json:"entity"`
	Published int64   `json:"published_rows"`
	Staged    int64   `json:"staged_rows"`
	Deleted   int64   `json:"deleted_rows"`
	Fraction  float64 `json:"deleted_fraction"`
	Threshold float64 `json:"max_deleted_fraction"`
	// SampleKeys are up to 10 of the deleted rows' keys, smallest first.
	SampleKeys []string `json:"sample_keys,omitempty"`
	// BackInTime says, one sign each, how the source is older than what
	// the warehouse holds.
	BackInTime []string `json:"back_in_time,omitempty"`
	Tripped    bool     `json:"tripped"`
	Accepted   bool     `json:"accepted,omitempty"`
}

func (f LossFinding) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d rows published, %d staged, %d deleted (%.1f%%, threshold %.1f%%)",
		f.Entity, f.Published, f.Staged, f.Deleted, 100*f.Fraction, 100*f.Threshold)
	if len(f.SampleKeys) > 0 {
		fmt.Fprintf(&b, ", missing keys e.g. %s", strings.Join(f.SampleKeys, ", "))
	}
	if len(f.BackInTime) > 0 {
		fmt.Fprintf(&b, "; went back in time: %s", strings.Join(f.BackInTime, "; "))
	}
	return b.String()
}

// ErrLoss is what every LossError is (errors.Is), also as the ledger's
// text of one.
var ErrLoss = errors.New("loss detected, nothing published")

// LossError refuses a publish: data disappeared from a source past its
// threshold, or the source went back in time. It is permanent (retrying
// reads the same source) and refuses the run (nothing is published).
type LossError struct {
	Findings []LossFinding
}

func (e *LossError) Error() string {
	lines := make([]string, len(e.Findings))
	var names []string
	for i, f := range e.Findings {
		lines[i] = f.String()
		names = append(names, "--accept-loss "+f.Entity)
	}
	return fmt.Sprintf("%s: %s; if the change is real, run again with %s --reason TEXT",
		ErrLoss, strings.Join(lines, " | "), strings.Join(names, " "))
}

// Is makes a LossError an ErrLoss.
func (e *LossError) Is(target error) bool { return target == ErrLoss }

// RefuseLoss is the error a publish returns for findings that tripped:
// a refusal, never retried.
func RefuseLoss(findings []LossFinding) error {
	return Refuse(MarkPermanent(&LossError{Findings: findings}))
}

// lossOf returns the loss findings that refused a run, if that is what
// refused it.
func lossOf(err error) []LossFinding {
	var le *LossError
	if errors.As(err, &le) {
		return le.Findings
	}
	return nil
}
