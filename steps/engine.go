package steps

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/loadwarehouse"
	"github.com/dfe-nightshift/nightshift/steps/preflight"
)

// Engine knows what each kind of run means: it turns a spec into a plan,
// and a finished run into the spec that retries it. The CLI only parses
// flags into a spec and hands it here.
type Engine struct {
	Deps   Deps
	Ledger *pipeline.Ledger
	// Progress, when set, is told a backfill's rows to stage (total) at
	// planning, then each chunk's rows as it is staged.
	Progress interface {
		Start(total int64)
		Add(rows int64)
	}
}

// ErrNothingToRetry says a run left nothing undone.
var ErrNothingToRetry = errors.New("nothing to retry")

// Contracts are the contracts of the spec's entities.
func Contracts(spec pipeline.Spec) ([]*schemas.Contract, error) {
	if len(spec.Entities) == 0 {
		return schemas.All(), nil
	}
	var out []*schemas.Contract
	for _, name := range spec.Entities {
		c, err := schemas.Lookup(name)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Planner plans a run of spec; one that reaches BigQuery ends with the
// step that brings the rest of BigQuery level (withFinishBigQuery).
func (e *Engine) Planner(spec pipeline.Spec) pipeline.Planner {
	plan := e.planner(spec)
	return func(ctx context.Context, run *pipeline.Run) (*pipeline.Plan, error) {
		p, err := plan(ctx, run)
		if err == nil {
			e.withFinishBigQuery(p, run, spec)
		}
		return p, err
	}
}

func (e *Engine) planner(spec pipeline.Spec) pipeline.Planner {
	return func(ctx context.Context, run *pipeline.Run) (*pipeline.Plan, error) {
		contracts, err := Contracts(spec)
		if err != nil {
			return nil, pipeline.MarkPermanent(err)
		}
		switch spec.Kind {
		case pipeline.KindFull, "":
			d := e.Deps
			if d.Loss != nil {
				loss := *d.Loss
				loss.Accept = spec.AcceptLoss
				d.Loss = &loss
			}
			return NewPlan(ctx, run.ID, d, contracts)
		case pipeline.KindRestore:
			return RestorePlan(run.ID, e.Deps, contracts, spec.RestoreRun), nil
		case pipeline.KindBackfill:
			return e.backfill(ctx, run, spec, contracts)
		case pipeline.KindPropagate:
			return e.propagate(ctx, spec, contracts)
		}
		return nil, pipeline.MarkPermanent(fmt.Errorf("unknown kind of run %q", spec.Kind))
	}
}

// Preflight checks the sources of the contracts, as a full run's plan
// does: a backfill, or its dry run, against a source that no longer
// matches is refused (pipeline.Refuse) naming what is missing, never met
// as a raw error halfway through a chunk.
func (e *Engine) Preflight(ctx context.Context, contracts []*schemas.Contract) (versions map[string]string, additions *pipeline.Additions, err error) {
	return checkSources(ctx, contracts, func(name string) (preflight.Querier, error) {
		pool, ok := e.Deps.Sources[name]
		if !ok {
			return nil, fmt.Errorf("source %q is not configured", name)
		}
		return pool, nil
	})
}

// checkSources runs the preflight on every source the contracts read and
// turns its results into a run's source versions, its additions (what
// the contracts do not know of and does not block) and, when any finding
// blocks, its refusal.
func checkSources(ctx context.Context, contracts []*schemas.Contract, source func(string) (preflight.Querier, error)) (map[string]string, *pipeline.Additions, error) {
	results, err := preflight.CheckAll(ctx, contracts, source)
	if err != nil {
		return nil, nil, err
	}
	if err := preflight.Refusal(results); err != nil {
		return nil, nil, pipeline.Refuse(err)
	}
	versions := map[string]string{}
	for _, r := range results {
		versions[r.Source] = r.Version
	}
	return versions, additionsOf(results), nil
}

// additionsOf is the structured form of the preflight's findings that did
// not block: every source's version against the upstream schema.rb its
// contracts were checked against, and per entity, in contract order, the
// columns it does not read and the types that changed losslessly.
func additionsOf(results []preflight.Result) *pipeline.Additions {
	a := &pipeline.Additions{Sources: []pipeline.SourceVersion{}}
	byEntity := map[string]*pipeline.EntityAdditions{}
	var order []string
	entity := func(f preflight.Finding) *pipeline.EntityAdditions {
		e, ok := byEntity[f.Entity]
		if !ok {
			e = &pipeline.EntityAdditions{Entity: f.Entity, Source: f.Source}
			byEntity[f.Entity] = e
			order = append(order, f.Entity)
		}
		return e
	}
	for _, r := range results {
		sv := pipeline.SourceVersion{Source: r.Source, Version: r.Version}
		if up, ok := schemas.UpstreamOf(r.Source); ok {
			sv.CheckedAgainst, sv.Newer = up.Version, up.Newer(r.Version)
		}
		a.Sources = append(a.Sources, sv)
		for _, f := range r.Findings {
			switch f.Kind {
			case preflight.ColumnAdded:
				e := entity(f)
				e.NewColumns = append(e.NewColumns, pipeline.NewColumn{Table: f.Table, Column: f.Column, Type: f.Found})
			case preflight.Compatible:
				e := entity(f)
				e.TypeChanges = append(e.TypeChanges, pipeline.TypeChange{Table: f.Table, Column: f.Column, Contract: f.Expected, Found: f.Found})
			}
		}
	}
	for _, name := range order {
		a.Entities = append(a.Entities, *byEntity[name])
	}
	return a
}

// Window parses a backfill spec's window.
func Window(spec pipeline.Spec) (Backfill, error) {
	var b Backfill
	var err error
	if (spec.From == "") != (spec.To == "") {
		return b, errors.New("--from and --to go together: give both, or neither for the whole entity")
	}
	if spec.From == "" {
		return b, nil
	}
	if b.From, err = time.Parse(time.DateOnly, spec.From); err != nil {
		return b, fmt.Errorf("--from %q: want YYYY-MM-DD", spec.From)
	}
	if b.To, err = time.Parse(time.DateOnly, spec.To); err != nil {
		return b, fmt.Errorf("--to %q: want YYYY-MM-DD", spec.To)
	}
	return b, nil
}

// BackfillChunks plans the chunks of a backfill spec, and which of them an
// earlier attempt (before runID; 0: any) at the same backfill already
// staged (resumed is that attempt's run, 0 if none).
func (e *Engine) BackfillChunks(ctx context.Context, spec pipeline.Spec, runID int64) (c *schemas.Contract, b Backfill, chunks []Chunk, done map[string]bool, resumed int64, err error) {
	if len(spec.Entities) != 1 {
		return nil, b, nil, nil, 0, errors.New("a backfill reloads exactly one entity")
	}
	if c, err = schemas.Lookup(spec.Entities[0]); err != nil {
		return nil, b, nil, nil, 0, err
	}
	if b, err = Window(spec); err != nil {
		return nil, b, nil, nil, 0, err
	}
	pool, ok := e.Deps.Sources[c.Source]
	if !ok {
		return nil, b, nil, nil, 0, fmt.Errorf("source %q is not configured", c.Source)
	}
	if chunks, err = PlanBackfill(ctx, pool, c, b, spec.ChunkRows); err != nil {
		return nil, b, nil, nil, 0, err
	}
	if resumed, done, err = e.Ledger.Checkpoints(ctx, spec.Mode(), runID); err != nil {
		return nil, b, nil, nil, 0, err
	}
	// Checkpoints mean something only while the chunks they staged are
	// still gathered in the backfill's table.
	load := &loadwarehouse.Load{Pool: e.Deps.Warehouse, Contract: c}
	has, err := load.HasBackfill(ctx)
	if err != nil {
		return nil, b, nil, nil, 0, fmt.Errorf("backfill %s: %w", c.Entity, err)
	}
	if !has {
		resumed, done = 0, nil
	}
	return c, b, chunks, done, resumed, nil
}

func (e *Engine) backfill(ctx context.Context, run *pipeline.Run, spec pipeline.Spec, contracts []*schemas.Contract) (*pipeline.Plan, error) {
	versions, additions, err := e.Preflight(ctx, contracts)
	if err != nil {
		return nil, err
	}
	c, b, chunks, done, resumed, err := e.BackfillChunks(ctx, spec, run.ID)
	if err != nil {
		return nil, pipeline.MarkPermanent(err)
	}
	if resumed == 0 {
		// A new backfill: whatever an abandoned one gathered is not ours.
		if err := (&loadwarehouse.Load{Pool: e.Deps.Warehouse, Contract: c}).DropBackfill(ctx); err != nil {
			return nil, fmt.Errorf("backfill %s: %w", c.Entity, err)
		}
	}
	var total int64
	for _, ch := range chunks {
		if !done[ch.Name()] {
			total += ch.EstimatedRows
		}
	}
	var progress func(int64)
	if e.Progress != nil {
		e.Progress.Start(total)
		progress = e.Progress.Add
	}
	d := e.Deps
	if d.Loss != nil {
		loss := *d.Loss
		loss.Accept = spec.AcceptLoss
		d.Loss = &loss
	}
	p := BackfillPlan(run.ID, d, c, b, chunks, done, progress)
	p.SourceVersions, p.Additions = versions, additions
	if ps, ok := p.Publish.(*publishStep); ok {
		ps.versions = versions // the loss check compares them with the published run's
	}
	if resumed != 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("resumes backfill run %d: %d of %d chunks already staged", resumed, len(done), len(chunks)))
	}
	return p, nil
}

// propagate plans the BigQuery half of a run whose warehouse publish
// committed: the same jobs, under the data run's ids, so that what an
// earlier attempt finished is found, not done again.
func (e *Engine) propagate(ctx context.Context, spec pipeline.Spec, contracts []*schemas.Contract) (*pipeline.Plan, error) {
	if e.Deps.BigQuery == nil {
		return nil, pipeline.MarkPermanent(errors.New("BigQuery is not configured (bigquery.project): there is nothing to finish"))
	}
	data, err := e.Ledger.Get(ctx, spec.DataRun)
	if err != nil {
		return nil, err
	}
	p := &pipeline.Plan{}
	if data.Spec.Kind == pipeline.KindRestore {
		restored := &Restores{}
		if err := e.Ledger.Output(ctx, data.ID, pipeline.RunEntity, "publish", restored); err != nil {
			return nil, pipeline.MarkPermanent(err)
		}
		for _, c := range contracts {
			p.Propagate = append(p.Propagate, pipeline.Task{Entity: c.Entity, Steps: []pipeline.Step{
				&restoreBigQueryStep{d: e.Deps, entity: c.Entity, runID: data.ID, restored: restored},
			}})
		}
		return p, nil
	}
	if data.Spec.Kind == pipeline.KindBackfill {
		b, err := Window(data.Spec)
		if err != nil {
			return nil, pipeline.MarkPermanent(err)
		}
		for _, c := range contracts {
			en := &entity{runID: data.ID, deps: e.Deps, contract: c}
			p.Propagate = append(p.Propagate, pipeline.Task{Entity: c.Entity, Steps: []pipeline.Step{&backfillBigQueryStep{e: en, backfill: b}}})
		}
		return p, nil
	}
	for _, c := range contracts {
		en := &entity{runID: data.ID, deps: e.Deps, contract: c}
		if err := e.Ledger.Output(ctx, data.ID, c.Entity, "extract", &en.out); err != nil {
			return nil, pipeline.MarkPermanent(err)
		}
		p.Propagate = append(p.Propagate, pipeline.Task{Entity: c.Entity, Steps: []pipeline.Step{&loadBigQueryStep{en}}})
	}
	return p, nil
}

// RetrySpec is what `nightshift retry ID` runs: the same kind of run with
// the same scope — a backfill resumes from its checkpoints, a restore
// restores the same version — or, when the run's warehouse publish
// committed but BigQuery did not get all of it, the rest of its BigQuery
// publish.
func (e *Engine) RetrySpec(ctx context.Context, id int64) (pipeline.Spec, pipeline.RunRecord, error) {
	rec, err := e.Ledger.Get(ctx, id)
	if err != nil {
		return pipeline.Spec{}, rec, err
	}
	spec := rec.Spec
	if spec.Kind == "" {
		// Recorded before runs kept their spec: a full run.
		spec = pipeline.Spec{Kind: pipeline.KindFull, Entities: rec.Entities}
	}
	switch {
	case rec.Status == pipeline.StatusRunning:
		return spec, rec, fmt.Errorf("run %d is still running", id)
	case rec.Status == pipeline.StatusSucceeded:
		return spec, rec, fmt.Errorf("run %d succeeded: %w", id, ErrNothingToRetry)
	case rec.Published || spec.Kind == pipeline.KindPropagate:
		if rec.Propagated || e.Deps.BigQuery == nil {
			return spec, rec, fmt.Errorf("run %d published everything it had to: %w", id, ErrNothingToRetry)
		}
		data := rec.ID
		if spec.Kind == pipeline.KindPropagate {
			data = spec.DataRun
		}
		return pipeline.Spec{Kind: pipeline.KindPropagate, Entities: spec.Entities, DataRun: data}, rec, nil
	}
	return spec, rec, nil
}
