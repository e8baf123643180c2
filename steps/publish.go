package steps

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/loadwarehouse"
	"github.com/dfe-nightshift/nightshift/steps/versions"
)

// publishStep makes a run's staged entities visible in one warehouse
// transaction: every staged table swapped in (the tables it replaces kept
// as __previous), the status history brought up to date, the views created
// again, and the publication written in the ledger. Before it commits,
// analysts see the warehouse as it was; after, the whole run.
type publishStep struct {
	runID    int64
	deps     Deps
	entities []*entity
	// drop are staging tables the publish makes useless (a backfill's
	// chunks), dropped in its transaction.
	drop []string
	// checkLoss runs the loss check (Deps.Loss) before any swap, with
	// versions the sources' schema_migrations versions of this run.
	checkLoss bool
	versions  map[string]string
}

func (s *publishStep) Name() string { return "publish" }

// Published is the publish step's output: per entity, the rows swapped in
// and those of the table they replaced.
type Published struct {
	Rows     map[string]int64 `json:"rows"`
	Replaced map[string]int64 `json:"replaced"`
	History  map[string]int64 `json:"history_opened,omitempty"`
	// Withheld are, per statuses entity, the rows left out because the
	// row they describe is quarantined (see withholdQuarantined).
	Withheld map[string]int64 `json:"withheld,omitempty"`
	// Versions are, per entity, what changed and the versions written.
	Versions map[string]VersionsWritten `json:"versions,omitempty"`
	// Loss is what the loss check found in each entity it checked; a
	// tripped one here was accepted (--accept-loss).
	Loss []pipeline.LossFinding `json:"loss,omitempty"`
}

func (s *publishStep) Run(ctx context.Context, _ int) (pipeline.Outcome, error) {
	out := Published{Rows: map[string]int64{}, Replaced: map[string]int64{}, History: map[string]int64{}, Withheld: map[string]int64{},
		Versions: map[string]VersionsWritten{}}
	var total int64
	// What changed is found before the transaction, so that the tables it
	// locks are held for the writing of the changes only.
	diffs, at := map[string]versions.Diff{}, map[string]time.Time{}
	for _, e := range s.entities {
		c := e.contract
		at[c.Entity] = e.out.SnapshotAt
		if at[c.Entity].IsZero() {
			// A backfill's chunks were read at snapshots of their own;
			// its rows are observed as of now.
			at[c.Entity] = time.Now()
		}
		var w *versions.Window
		if e.window != nil {
			where, args := e.window.Where()
			w = &versions.Window{Where: where, Args: args}
		}
		d, err := versions.Compute(ctx, s.deps.Warehouse, s.deps.Schema, c, c.Entity, w, s.deps.SpoolDir, versions.Saved{Dir: e.digests(), Rows: e.rows})
		if err != nil {
			return pipeline.Outcome{}, err
		}
		diffs[c.Entity] = d
	}
	var ahead map[string]measured
	if s.checkLoss && s.deps.Loss != nil {
		ahead = measureLossAhead(ctx, s.deps.Warehouse, s.deps.Schema, s.entities, diffs)
	}
	err := publish(ctx, s.deps, s.runID, s.names(), func(ctx context.Context, p *loadwarehouse.Publisher) error {
		if s.checkLoss && s.deps.Loss != nil {
			findings, err := checkLoss(ctx, p.Tx, s.deps.Schema, *s.deps.Loss, s.versions, s.entities, ahead)
			if err != nil {
				return err
			}
			var refused []pipeline.LossFinding
			for _, f := range findings {
				if f.Tripped && !f.Accepted {
					refused = append(refused, f)
				}
			}
			if len(refused) > 0 {
				return pipeline.RefuseLoss(refused)
			}
			out.Loss = findings
		}
		// Statuses go last: what they withhold depends on which run's
		// rows the entities they describe now hold.
		ordered := slices.Clone(s.entities)
		slices.SortStableFunc(ordered, func(a, b *entity) int { return cmp.Compare(len(a.contract.StatusOf), len(b.contract.StatusOf)) })
		for _, e := range ordered {
			c := e.contract
			rows := e.rows
			if len(c.StatusOf) > 0 {
				withheld, err := withholdQuarantined(ctx, p.Tx, c, s.runID)
				if err != nil {
					return err
				}
				rows -= withheld
				if withheld > 0 {
					out.Withheld[c.Entity] = withheld
					// The rows' digests say they are in; their versions
					// say otherwise: the next diff reads the versions.
					d := diffs[c.Entity]
					d.Digests = ""
					diffs[c.Entity] = d
				}
			}
			replaced, err := p.SwapIn(ctx, c, c.Entity, rows)
			if err != nil {
				return err
			}
			out.Rows[c.Entity], out.Replaced[c.Entity] = rows, replaced
			total += rows
			applied, err := versions.Apply(ctx, p.Tx, s.deps.Schema, c, s.runID, at[c.Entity], diffs[c.Entity])
			if err != nil {
				return err
			}
			out.Versions[c.Entity] = VersionsWritten{Diff: diffs[c.Entity], Applied: applied}
			if c.History {
				opened, err := versions.StatusHistory(ctx, p.Tx, s.deps.Schema, c, s.runID, at[c.Entity], diffs[c.Entity])
				if err != nil {
					return err
				}
				out.History[c.Entity] = opened
			}
		}
		for _, t := range s.drop {
			if _, err := p.Tx.Exec(ctx, "DROP TABLE IF EXISTS "+pgx.Identifier{loadwarehouse.StagingSchema, t}.Sanitize()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return pipeline.Outcome{}, err
	}
	return pipeline.Outcome{Rows: total, Detail: out}, nil
}

// VersionsWritten is what the publish found changed in an entity and
// wrote to its versions.
type VersionsWritten struct {
	Diff    versions.Diff    `json:"diff"`
	Applied versions.Applied `json:"applied"`
}

func (s *publishStep) names() []string {
	out := make([]string, len(s.entities))
	for i, e := range s.entities {
		out[i] = e.contract.Entity
	}
	return out
}

// publish runs change in the run's one publish transaction, with the
// locks of entities taken first, the views created again after it, and
// the publication recorded in the ledger before the commit. A publish
// whose commit went through — though its answer was lost — is not made
// twice: the ledger says so.
func publish(ctx context.Context, d Deps, runID int64, entities []string, change func(context.Context, *loadwarehouse.Publisher) error) error {
	done, err := pipeline.NewLedger(d.Warehouse).Published(ctx, runID)
	if err != nil {
		return err
	}
	if done {
		return nil
	}
	err = pgx.BeginFunc(ctx, d.Warehouse, func(tx pgx.Tx) error {
		p := &loadwarehouse.Publisher{Tx: tx, Schema: d.Schema, RunID: runID, Views: d.Views, LockTimeout: d.LockTimeout}
		if err := p.Begin(ctx, entities); err != nil {
			return err
		}
		if err := change(ctx, p); err != nil {
			return err
		}
		if err := p.Finish(ctx); err != nil {
			return err
		}
		return pipeline.MarkPublished(ctx, tx, runID)
	})
	if err != nil {
		return fmt.Errorf("publish run %d: %w", runID, err)
	}
	return nil
}

// withholdQuarantined leaves out of a statuses entity's staging table the
// statuses of rows that are quarantined from the entity they describe (a
// trainee whose name is not valid UTF-8 is not in reporting.trainees, so
// its status is not in reporting.register_statuses either), and records
// each in nightshift.quarantine under the statuses entity, so that source
// rows = loaded + quarantined still holds for it. The quarantine that
// counts is that of the run whose rows the described entity's table holds
// once this publish is done: the statuses are swapped in after it.
// It returns the rows withheld.
func withholdQuarantined(ctx context.Context, tx pgx.Tx, c *schemas.Contract, runID int64) (int64, error) {
	types := slices.Sorted(maps.Keys(c.StatusOf))
	described := make([]string, len(types))
	for i, t := range types {
		described[i] = c.StatusOf[t]
	}
	staging := pgx.Identifier{loadwarehouse.StagingSchema, c.Entity}.Sanitize()
	tag, err := tx.Exec(ctx, `
		WITH withheld AS (
			SELECT s.entity_type, s.entity_id, q.entity AS described, q.key, q.run_id, q.column_name, q.reason
			FROM unnest($2::text[], $3::text[]) AS m (entity_type, described)
			JOIN nightshift.table_versions v ON v.target = 'warehouse' AND v.slot = 'current' AND v.entity = m.described
			JOIN nightshift.quarantine q ON q.run_id = v.run_id AND q.entity = v.entity
			JOIN `+staging+` s ON s.entity_type = m.entity_type AND s.entity_id::text = q.key
		), gone AS (
			DELETE FROM `+staging+` s USING withheld w
			WHERE s.entity_type = w.entity_type AND s.entity_id = w.entity_id
		)
		INSERT INTO nightshift.quarantine (run_id, entity, key, column_name, value, reason)
		SELECT $1, $4, w.entity_type || '/' || w.entity_id, 'entity_id', w.entity_id::text,
		       format('left out: %s row %s is quarantined by run %s (%s: %s)', w.described, w.key, w.run_id, w.column_name, w.reason)
		FROM withheld w
		ON CONFLICT DO NOTHING`,
		runID, types, described, c.Entity)
	if err != nil {
		return 0, fmt.Errorf("withhold quarantined rows from %s: %w", c.Entity, err)
	}
	return tag.RowsAffected(), nil
}
