package steps

import (
	"context"
	"errors"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/steps/reconcile"
)

// stageStep checks the staging table against the source and builds its
// primary key, staging the spool file first when the extract's staging
// table is gone (a failed earlier attempt dropped it). Nothing analysts see
// changes: the publish swaps every staged table in at once.
type stageStep struct{ e *entity }

func (s *stageStep) Name() string { return "stage" }

// Staged is the stage step's output.
type Staged struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
}

func (s *stageStep) Run(ctx context.Context, _ int) (pipeline.Outcome, error) {
	e := s.e
	if e.out.File.Path == "" {
		return pipeline.Outcome{}, pipeline.MarkPermanent(errNoExtract)
	}
	load := e.load()
	staged := e.staged
	// The extract filled the staging table as it read; use it once. If this
	// attempt fails, the staging table is gone and a retry stages the spool
	// file.
	e.staged = nil
	if staged == nil {
		sum, err := load.StageFile(ctx)
		if err != nil {
			return pipeline.Outcome{}, err
		}
		staged = &sum
	}
	rows, err := load.Prepare(ctx, *staged)
	if err != nil {
		// A mismatch against the source is not cured by staging again.
		var mismatch *reconcile.MismatchError
		if errors.As(err, &mismatch) {
			err = pipeline.MarkPermanent(err)
		}
		return pipeline.Outcome{}, err
	}
	e.rows = rows
	return pipeline.Outcome{Rows: rows, Checksum: e.out.Source.Sum,
		Detail: Staged{Table: "nightshift_staging." + e.contract.Entity, Rows: rows}}, nil
}
