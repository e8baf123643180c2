// Package steps holds the kinds of step an entity goes through — extract
// (into the spool), load-warehouse — and builds each entity's task from its
// contract. The runner in package pipeline runs them without knowing what
// they do.
package steps

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/extract"
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
}

// Plan is the tasks of one run, with the source snapshots they read.
type Plan struct {
	Tasks []pipeline.Task
	// SourceVersions is the schema_migrations version of each source read.
	SourceVersions map[string]string
	snapshots      []*extract.Snapshot
}

// Close releases the source snapshots.
func (p *Plan) Close(ctx context.Context) {
	for _, s := range p.snapshots {
		s.Close(ctx)
	}
}

// NewPlan opens one snapshot per source the contracts read from, and builds
// each entity's task. Every entity of a source is read at the same snapshot,
// so the warehouse never holds a trainee whose provider is from a later
// moment than the trainee.
func NewPlan(ctx context.Context, runID int64, d Deps, contracts []*schemas.Contract) (*Plan, error) {
	if d.Mem == nil {
		d.Mem = memory.DefaultAllocator
	}
	p := &Plan{SourceVersions: map[string]string{}}
	snaps := map[string]*extract.Snapshot{}
	for _, c := range contracts {
		if _, ok := snaps[c.Source]; ok {
			continue
		}
		pool, ok := d.Sources[c.Source]
		if !ok {
			p.Close(ctx)
			return nil, fmt.Errorf("entity %s reads source %q, which is not configured", c.Entity, c.Source)
		}
		snap, err := extract.OpenSnapshot(ctx, pool)
		if err != nil {
			p.Close(ctx)
			return nil, fmt.Errorf("source %s: %w", c.Source, err)
		}
		snaps[c.Source] = snap
		p.snapshots = append(p.snapshots, snap)
		version, err := snap.SchemaVersion(ctx)
		if err != nil {
			p.Close(ctx)
			return nil, fmt.Errorf("source %s: %w", c.Source, err)
		}
		p.SourceVersions[c.Source] = version
	}
	for _, c := range contracts {
		e := &entity{runID: runID, deps: d, contract: c, pool: d.Sources[c.Source], snapshot: snaps[c.Source]}
		p.Tasks = append(p.Tasks, pipeline.Task{
			Entity: c.Entity,
			Steps:  []pipeline.Step{&extractStep{e}, &loadWarehouseStep{e}},
		})
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

	file   spool.File
	source reconcile.Checksum
}

var errNoExtract = errors.New("no extract in this run to load from")
