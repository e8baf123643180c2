// Package steps holds the kinds of step an entity goes through — extract
// (into the spool), load-warehouse — and builds each entity's task from its
// contract. The runner in package pipeline runs them without knowing what
// they do.
package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"

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
}

// Plan is the tasks of one run, with the source snapshots they read.
type Plan struct {
	Tasks []pipeline.Task
	// SourceVersions is the schema_migrations version of each source read.
	SourceVersions map[string]string
	// Findings are the preflight's non-blocking findings: additions and
	// compatible type changes in the sources, to be reported.
	Findings  []preflight.Finding
	snapshots []*extract.Snapshot
}

// Close releases the source snapshots.
func (p *Plan) Close(ctx context.Context) {
	for _, s := range p.snapshots {
		s.Close(ctx)
	}
}

// NewPlan opens one snapshot per source the contracts read from, checks
// each source against its contracts (preflight) and builds each entity's
// task. Every entity of a source is read at the same snapshot, so the
// warehouse never holds a trainee whose provider is from a later moment than
// the trainee. A source that does not match its contracts refuses the whole
// run: the error is a *preflight.RefusedError marked pipeline.Refuse.
func NewPlan(ctx context.Context, runID int64, d Deps, contracts []*schemas.Contract) (*Plan, error) {
	if d.Mem == nil {
		d.Mem = memory.DefaultAllocator
	}
	p := &Plan{SourceVersions: map[string]string{}}
	snaps := map[string]*extract.Snapshot{}
	var blocking []preflight.Finding
	for _, source := range sourcesOf(contracts) {
		pool, ok := d.Sources[source]
		if !ok {
			p.Close(ctx)
			return nil, fmt.Errorf("source %q is not configured", source)
		}
		snap, err := extract.OpenSnapshot(ctx, pool)
		if err != nil {
			p.Close(ctx)
			return nil, fmt.Errorf("source %s: %w", source, err)
		}
		snaps[source] = snap
		p.snapshots = append(p.snapshots, snap)
		res, err := preflight.Check(ctx, snap.Tx(), source, readersOf(contracts, source))
		if err != nil {
			p.Close(ctx)
			return nil, err
		}
		p.SourceVersions[source] = res.Version
		for _, f := range res.Findings {
			if f.Blocking() {
				blocking = append(blocking, f)
			} else {
				p.Findings = append(p.Findings, f)
			}
		}
	}
	if len(blocking) > 0 {
		p.Close(ctx)
		return nil, pipeline.Refuse(&preflight.RefusedError{Findings: blocking})
	}
	for _, c := range contracts {
		e := &entity{runID: runID, deps: d, contract: c, pool: d.Sources[c.Source], snapshot: snaps[c.Source]}
		steps := []pipeline.Step{&extractStep{e}, &loadWarehouseStep{e}}
		if d.BigQuery != nil {
			steps = append(steps, &loadBigQueryStep{e})
		}
		if c.History {
			steps = append(steps, &historyStep{e})
		}
		p.Tasks = append(p.Tasks, pipeline.Task{Entity: c.Entity, Steps: steps})
	}
	return p, nil
}

// entity is the state one entity's steps pass along within a run: the
// spool file the extract wrote and the source checksum the load must match.
type entity struct {
	runID    int64
	deps     Deps
	contract *schemas.Contract
	pool     *pgxpool.Pool
	snapshot *extract.Snapshot

	file spool.File
	// source is the digest of the rows read, sourceSQL their SQL checksum
	// when Deps.ReconcileSQL asks for one.
	source    reconcile.Checksum
	sourceSQL *reconcile.Checksum
	// staged is the digest of the rows the extract copied into the staging
	// table; nil when it did not, or the staging table was used or dropped.
	staged *reconcile.Checksum
}

// load is the warehouse load of the entity's extract.
func (e *entity) load() *loadwarehouse.Load {
	return &loadwarehouse.Load{
		Pool: e.deps.Warehouse, Schema: e.deps.Schema, Contract: e.contract,
		File: e.file, Source: e.source, SourceSQL: e.sourceSQL,
		BatchSize: e.deps.BatchSize, Mem: e.deps.Mem, Views: e.deps.Views,
	}
}

// sourcesOf lists the sources the contracts read, in contract order.
func sourcesOf(contracts []*schemas.Contract) []string {
	var out []string
	for _, c := range contracts {
		if !slices.Contains(out, c.Source) {
			out = append(out, c.Source)
		}
	}
	return out
}

func readersOf(contracts []*schemas.Contract, source string) []*schemas.Contract {
	var out []*schemas.Contract
	for _, c := range contracts {
		if c.Source == source {
			out = append(out, c)
		}
	}
	return out
}

var errNoExtract = errors.New("no extract in this run to load from")
