package steps

import (
	"context"
	"errors"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/steps/loadwarehouse"
	"github.com/dfe-nightshift/nightshift/steps/reconcile"
)

// loadWarehouseStep checks the staging table against the source and swaps
// it in, staging the spool file first when the extract did not.
type loadWarehouseStep struct{ e *entity }

func (s *loadWarehouseStep) Name() string { return "load-warehouse" }

func (s *loadWarehouseStep) Run(ctx context.Context, _ int) (pipeline.Outcome, error) {
	e := s.e
	if e.file.Path == "" {
		return pipeline.Outcome{}, pipeline.MarkPermanent(errNoExtract)
	}
	load := e.load()
	var res loadwarehouse.Result
	var err error
	if staged := e.staged; staged != nil {
		// The extract filled the staging table as it read. Only once: if
		// this fails, the staging table is gone and a retry stages the
		// spool file.
		e.staged = nil
		res, err = load.Publish(ctx, *staged)
	} else {
		res, err = load.Run(ctx)
	}
	if err != nil {
		// A mismatch against the source is not cured by loading again.
		var mismatch *reconcile.MismatchError
		if errors.As(err, &mismatch) {
			err = pipeline.MarkPermanent(err)
		}
		return pipeline.Outcome{}, err
	}
	return pipeline.Outcome{
		Rows: res.Rows, Checksum: e.source.Sum,
		Detail: map[string]any{"table": e.deps.Schema + "." + e.contract.Entity, "previous_rows": res.Previous},
	}, nil
}
