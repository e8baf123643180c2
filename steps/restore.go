package steps

import (
	"context"
	"errors"
	"fmt"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/loadbigquery"
	"github.com/dfe-nightshift/nightshift/steps/loadwarehouse"
)

// RestorePlan puts back, for each entity, the version its tables kept
// that run toRun loaded (0: the version before the current one): in the
// warehouse in the run's one publish transaction, then in BigQuery with
// copy jobs whose ids derive from this run. Restoring a version already in
// place changes nothing.
func RestorePlan(runID int64, d Deps, contracts []*schemas.Contract, toRun int64) *pipeline.Plan {
	restored := &Restores{Entities: map[string]loadwarehouse.Restored{}}
	p := &pipeline.Plan{Publish: &restoreStep{runID: runID, d: d, contracts: contracts, toRun: toRun, out: restored}}
	if d.BigQuery != nil {
		for _, c := range contracts {
			p.Propagate = append(p.Propagate, pipeline.Task{Entity: c.Entity, Steps: []pipeline.Step{
				&restoreBigQueryStep{d: d, entity: c.Entity, runID: runID, restored: restored},
			}})
		}
	}
	return p
}

// Restores is the restore step's output: per entity, which kept version
// became current.
type Restores struct {
	Entities map[string]loadwarehouse.Restored `json:"entities"`
}

type restoreStep struct {
	runID     int64
	d         Deps
	contracts []*schemas.Contract
	toRun     int64
	out       *Restores
}

func (s *restoreStep) Name() string { return "publish" }

func (s *restoreStep) Run(ctx context.Context, _ int) (pipeline.Outcome, error) {
	names := make([]string, len(s.contracts))
	for i, c := range s.contracts {
		names[i] = c.Entity
	}
	var total int64
	err := publish(ctx, s.d, s.runID, names, func(ctx context.Context, p *loadwarehouse.Publisher) error {
		for _, c := range s.contracts {
			res, err := p.Restore(ctx, c, s.toRun)
			if err != nil {
				return err
			}
			s.out.Entities[c.Entity] = res
			total += res.Rows
		}
		return nil
	})
	if errors.Is(err, loadwarehouse.ErrNoPrevious) {
		return pipeline.Outcome{}, pipeline.MarkPermanent(err)
	}
	if err != nil {
		return pipeline.Outcome{}, err
	}
	return pipeline.Outcome{Rows: total, Detail: s.out}, nil
}

// restoreBigQueryStep mirrors in BigQuery what the warehouse's restore did
// to one entity.
type restoreBigQueryStep struct {
	d        Deps
	entity   string
	runID    int64
	restored *Restores
}

func (s *restoreBigQueryStep) Name() string { return "restore-bigquery" }

func (s *restoreBigQueryStep) Run(ctx context.Context, _ int) (pipeline.Outcome, error) {
	res, ok := s.restored.Entities[s.entity]
	if !ok {
		return pipeline.Outcome{}, pipeline.MarkPermanent(fmt.Errorf("restore %s: the warehouse's restore recorded nothing for it", s.entity))
	}
	if err := loadbigquery.Restore(ctx, *s.d.BigQuery, s.entity, res.From, s.runID); err != nil {
		return pipeline.Outcome{}, err
	}
	if err := recordBigQueryRestore(ctx, s.d.Warehouse, s.entity, res.From, s.runID); err != nil {
		return pipeline.Outcome{}, err
	}
	return pipeline.Outcome{Rows: res.Rows, Detail: map[string]any{"dataset": s.d.BigQuery.Dataset, "table": s.entity, "from": res.From}}, nil
}
