package steps

import (
	"context"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/steps/loadbigquery"
)

// loadBigQueryStep loads the spool file into BigQuery.
type loadBigQueryStep struct{ e *entity }

func (s *loadBigQueryStep) Name() string { return "load-bigquery" }

func (s *loadBigQueryStep) Run(ctx context.Context, attempt int) (pipeline.Outcome, error) {
	e := s.e
	if e.file.Path == "" {
		return pipeline.Outcome{}, pipeline.MarkPermanent(errNoExtract)
	}
	load := loadbigquery.Load{
		Target: *e.deps.BigQuery, Contract: e.contract, File: e.file, RunID: e.runID, Attempt: attempt,
		BatchSize: e.deps.BatchSize, Mem: e.deps.Mem,
	}
	res, err := load.Run(ctx)
	if err != nil {
		return pipeline.Outcome{}, err
	}
	detail := map[string]any{"dataset": e.deps.BigQuery.Dataset, "table": e.contract.Entity, "job": res.JobID, "kept_previous": res.KeptPrevious}
	if e.contract.History {
		// Statuses also keep their day in <entity>_daily: BigQuery's view
		// of the history, one partition per day, replaced on a re-run.
		rows, err := load.LoadDaily(ctx, e.snapshot.Time)
		if err != nil {
			return pipeline.Outcome{}, err
		}
		detail["daily_table"], detail["daily_rows"] = loadbigquery.DailyTable(e.contract.Entity), rows
	}
	return pipeline.Outcome{Rows: res.Rows, Bytes: res.Bytes, Detail: detail}, nil
}
