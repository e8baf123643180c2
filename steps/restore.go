package steps

import (
	"context"
	"errors"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/loadbigquery"
	"github.com/dfe-nightshift/nightshift/steps/loadwarehouse"
)

// RestoreTask puts back the previous version of an entity in every target.
func RestoreTask(runID int64, d Deps, c *schemas.Contract) pipeline.Task {
	steps := []pipeline.Step{&restoreWarehouseStep{d: d, c: c}}
	if d.BigQuery != nil {
		steps = append(steps, &restoreBigQueryStep{d: d, c: c, runID: runID})
	}
	return pipeline.Task{Entity: c.Entity, Steps: steps}
}

type restoreWarehouseStep struct {
	d Deps
	c *schemas.Contract
}

func (s *restoreWarehouseStep) Name() string { return "restore-warehouse" }

func (s *restoreWarehouseStep) Run(ctx context.Context, _ int) (pipeline.Outcome, error) {
	rows, err := loadwarehouse.Restore(ctx, s.d.Warehouse, s.d.Schema, s.c, s.d.Views)
	if errors.Is(err, loadwarehouse.ErrNoPrevious) {
		return pipeline.Outcome{}, pipeline.MarkPermanent(err)
	}
	if err != nil {
		return pipeline.Outcome{}, err
	}
	return pipeline.Outcome{Rows: rows, Detail: map[string]any{"table": s.d.Schema + "." + s.c.Entity}}, nil
}

type restoreBigQueryStep struct {
	d     Deps
	c     *schemas.Contract
	runID int64
}

func (s *restoreBigQueryStep) Name() string { return "restore-bigquery" }

func (s *restoreBigQueryStep) Run(ctx context.Context, attempt int) (pipeline.Outcome, error) {
	if err := loadbigquery.Restore(ctx, *s.d.BigQuery, s.c.Entity, s.runID, attempt); err != nil {
		return pipeline.Outcome{}, err
	}
	return pipeline.Outcome{Detail: map[string]any{"dataset": s.d.BigQuery.Dataset, "table": s.c.Entity}}, nil
}
