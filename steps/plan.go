// Package steps holds the kinds of step a run is made of — extract (into
// the spool and the warehouse staging), stage, publish, load-bigquery,
// backfill chunks, restore — and plans each kind of run (Engine) from its
// spec and the contracts. The runner in package pipeline runs them without
// knowing what they do.
package steps

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	nssql "github.com/dfe-nightshift/nightshift/sql"
	"github.com/dfe-nightshift/nightshift/steps/extract"
	"github.com/dfe-nightshift/nightshift/steps/loadbigquery"
	"github.com/dfe-nightshift/nightshift/steps/loadwarehouse"
	"github.com/dfe-nightshift/nightshift/steps/preflight"
	"github.com/dfe-nightshift/nightshift/steps/reconcile"
	"github.com/dfe-nightshift/nightshift/steps/spool"
)

// Deps is what the steps of a run share.
type Deps struct {
	// Sources maps a source name to its pool; Warehouse is the reporting
	// warehouse.
	Sources   map[string]*pgxpool.Pool
	Warehouse *pgxpool.Pool
	// Schema is the warehouse schema analysts read.
	Schema    string
	SpoolDir  string
	BatchSize int
	Mem       memory.Allocator
	// Views are the analyst views the loads keep pointing at the current
	// tables (nssql.Views()).
	Views []nssql.View
	// BigQuery is the BigQuery sink; nil when it is off.
	BigQuery *loadbigquery.Target
	// ReconcileSQL adds a SQL checksum of the source rows and of the
	// staging table to the digests every load is checked with: a check of
	// what the warehouse stored, independent of nightshift's code, for two
	// more scans of each table (run.reconcile: sql).
	ReconcileSQL bool
	// LockTimeout bounds the publish's wait for each lock (0: the default).
	LockTimeout time.Duration
	// Loss is the publish's circuit breaker; nil: no loss check.
	Loss *LossPolicy
}

// NewPlan opens one snapshot per source the contracts read from, checks
// each source against its contracts (preflight) and plans a full run:
// every entity extracted and staged, then all published in one warehouse
// transaction, then loaded into BigQuery. Every entity of a source is read
// at the same snapshot, so the warehouse never holds a trainee whose
// provider is from a later moment than the trainee (unless the snapshot is
// lost mid-run; the ledger then records which snapshot each entity was
// read at). A source that does not match its contracts refuses the whole
// run: the error is a *preflight.RefusedError marked pipeline.Refuse.
func NewPlan(ctx context.Context, runID int64, d Deps, contracts []*schemas.Contract) (*pipeline.Plan, error) {
	if d.Mem == nil {
		d.Mem = memory.DefaultAllocator
	}
	p := &pipeline.Plan{SourceVersions: map[string]string{}}
	sources := map[string]*extract.Source{}
	closeAll := func() {
		for _, s := range sources {
			s.Close(context.WithoutCancel(ctx))
		}
	}
	// The preflight reads each source's catalog at the snapshot the run
	// will read its rows at.
	versions, additions, err := checkSources(ctx, contracts, func(name string) (preflight.Querier, error) {
		pool, ok := d.Sources[name]
		if !ok {
			return nil, fmt.Errorf("source %q is not configured", name)
		}
		src, err := extract.OpenSource(ctx, pool)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", name, err)
		}
		sources[name] = src
		return src.Current().Tx(), nil
	})
	if err != nil {
		closeAll()
		return nil, err
	}
	p.SourceVersions, p.Additions = versions, additions
	var staged []*entity
	for _, c := range contracts {
		e := &entity{runID: runID, deps: d, contract: c, pool: d.Sources[c.Source], source: sources[c.Source]}
		staged = append(staged, e)
		p.Stage = append(p.Stage, pipeline.Task{Entity: c.Entity, Steps: []pipeline.Step{&extractStep{e}, &stageStep{e}}})
		if d.BigQuery != nil {
			p.Propagate = append(p.Propagate, pipeline.Task{Entity: c.Entity, Steps: []pipeline.Step{&loadBigQueryStep{e}}})
		}
	}
	p.Publish = &publishStep{runID: runID, deps: d, entities: staged, checkLoss: true, versions: p.SourceVersions}
	p.Discard = func(ctx context.Context) {
		for _, e := range staged {
			e.load().DropStaging(ctx)
		}
	}
	p.Close = closeAll
	return p, nil
}

// entity is what one entity's steps hand on to the next within a run: the
// extract's typed output, as also recorded in the ledger.
type entity struct {
	runID    int64
	deps     Deps
	contract *schemas.Contract
	pool     *pgxpool.Pool
	source   *extract.Source

	out Extracted
	// staged is the digest of the rows the extract copied into the staging
	// table; nil when it did not, or the staging table was dropped.
	staged *reconcile.Checksum
	// rows is what the stage step verified and the publish swaps in.
	rows int64
	// sourceSQL is the SQL checksum of the rows read, when
	// Deps.ReconcileSQL asks for one.
	sourceSQL *reconcile.Checksum
	// window, for a backfill, is the rows it replaced: only those are
	// compared with the entity's versions.
	window *loadwarehouse.Window
}

// Extracted is the extract step's output, recorded in the ledger
// (step_runs.detail): what a later step, or a retry in another process,
// reads the entity's data from.
type Extracted struct {
	File       spool.File         `json:"file"`
	Source     reconcile.Checksum `json:"source"`
	Snapshot   string             `json:"snapshot"`
	SnapshotAt time.Time          `json:"snapshot_at"`
	// Quarantined is how many rows were set aside.
	Quarantined int   `json:"quarantined"`
	StagedRows  int64 `json:"staged_rows"`
}

// load is the warehouse load of the entity's extract.
func (e *entity) load() *loadwarehouse.Load {
	return &loadwarehouse.Load{
		Pool: e.deps.Warehouse, Schema: e.deps.Schema, Contract: e.contract,
		File: e.out.File, Source: e.out.Source, SourceSQL: e.sourceSQL,
		BatchSize: e.deps.BatchSize, Mem: e.deps.Mem, Views: e.deps.Views,
		Digests: e.digests(),
	}
}

// digests is where the load keeps the staged rows' keys and digests for
// the versions' diff, beside the spool file; a backfill keeps none (only
// its window is compared).
func (e *entity) digests() string {
	if e.window != nil || e.deps.SpoolDir == "" {
		return ""
	}
	return spool.Path(e.deps.SpoolDir, e.runID, e.contract.Entity) + ".digests"
}

var errNoExtract = errors.New("no extract in this run to load from")
