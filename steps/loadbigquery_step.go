package steps

import (
	"context"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/steps/loadbigquery"
)

// loadBigQueryStep loads the entity's spool file into BigQuery, after the
// warehouse publish committed. Its jobs are the data run's (dataRun), so
// a retried publish — in this run or a `nightshift retry` — awaits what an
// earlier attempt started instead of loading, or keeping __previous, twice.
type loadBigQueryStep struct {
	e *entity
}

func (s *loadBigQueryStep) Name() string { return "load-bigquery" }

// LoadedBigQuery is the load-bigquery step's output.
type LoadedBigQuery struct {
	Dataset      string `json:"dataset"`
	Table        string `json:"table"`
	Job          string `json:"job"`
	KeptPrevious bool   `json:"kept_previous"`
	DailyTable   string `json:"daily_table,omitempty"`
	DailyRows    int64  `json:"daily_rows,omitempty"`
	// Withheld is the statuses left out, as the warehouse's publish left
	// them out, because the rows they describe are quarantined.
	Withheld int64 `json:"withheld,omitempty"`
	// Reclustered names the tables whose clustering the load changed to
	// the contract's.
	Reclustered []string `json:"reclustered,omitempty"`
}

func (s *loadBigQueryStep) Run(ctx context.Context, _ int) (pipeline.Outcome, error) {
	e := s.e
	if e.out.File.Path == "" {
		return pipeline.Outcome{}, pipeline.MarkPermanent(errNoExtract)
	}
	// The statuses the warehouse withheld are left out here too
	// (bigquery_parity.go).
	file, withheld, removeFile, err := bigQueryFile(ctx, e)
	if err != nil {
		return pipeline.Outcome{}, err
	}
	defer removeFile()
	load := loadbigquery.Load{
		Target: *e.deps.BigQuery, Contract: e.contract, File: file, RunID: e.runID,
		BatchSize: e.deps.BatchSize, Mem: e.deps.Mem,
	}
	res, err := load.Run(ctx)
	if err != nil {
		return pipeline.Outcome{}, err
	}
	if err := recordBigQueryLoad(ctx, e.deps.Warehouse, e.contract.Entity, e.runID, res); err != nil {
		return pipeline.Outcome{}, err
	}
	out := LoadedBigQuery{Dataset: e.deps.BigQuery.Dataset, Table: e.contract.Entity, Job: res.JobID, KeptPrevious: res.KeptPrevious, Reclustered: res.Reclustered}
	out.Withheld = withheld
	if e.contract.History {
		// Statuses also keep their day in <entity>_daily: BigQuery's view
		// of the history, one partition per day, replaced on a re-run.
		rows, err := load.LoadDaily(ctx, e.out.SnapshotAt)
		if err != nil {
			return pipeline.Outcome{}, err
		}
		out.DailyTable, out.DailyRows = loadbigquery.DailyTable(e.contract.Entity), rows
	}
	return pipeline.Outcome{Rows: res.Rows, Bytes: res.Bytes, Detail: out}, nil
}
