package steps

import (
	"context"
	"errors"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/steps/loadwarehouse"
	"github.com/dfe-nightshift/nightshift/steps/reconcile"
)

// loadWarehouseStep loads the spool file into the reporting warehouse.
type loadWarehouseStep struct{ e *entity }

func (s *loadWarehouseStep) Name() string { return "load-warehouse" }

func (s *loadWarehouseStep) Run(ctx context.Context, _ int) (pipeline.Outcome, error) {
	e := s.e
	if e.file.Path == "" {
		return pipeline.Outcome{}, pipeline.MarkPermanent(errNoExtract)
	}
	load := loadwarehouse.Load{
		Pool: e.deps.Warehouse, Schema: e.deps.Schema, Contract: e.contract,
		File: e.file, Source: e.source, BatchSize: e.deps.BatchSize, Mem: e.deps.Mem, Views: e.deps.Views,
	}
	res, err := load.Run(ctx)
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
