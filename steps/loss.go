package steps

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/loadwarehouse"
	"github.com/dfe-nightshift/nightshift/steps/versions"
)

// LossPolicy is the publish's circuit breaker (config loss:): past these
// thresholds an entity's staged table is not swapped in, and the run is
// refused, unless the entity is accepted.
type LossPolicy struct {
	// MaxDeletedFraction is, per entity, the share of the published rows
	// that may be missing from the staged table; Default for the others.
	MaxDeletedFraction map[string]float64
	Default            float64
	// MinDeletedRows is the fewest missing rows that trip the check.
	MinDeletedRows int64
	// Accept names the entities that publish whatever the check finds
	// (--accept-loss).
	Accept []string
}

func (p LossPolicy) maxFraction(entity string) float64 {
	if f, ok := p.MaxDeletedFraction[entity]; ok {
		return f
	}
	return p.Default
}

// lossSampleKeys is how many missing keys a finding names.
const lossSampleKeys = 10

// checkLoss compares, inside the publish transaction and before any swap,
// each entity's staged table with the table analysts read now: rows whose
// key the staged table lacks, and signs that the source went back in time
// (its schema_migrations version, or the greatest updated_at, created_at
// or integer id, lower than in what is published). An entity never
// published, or without a single-column primary key, is not checked.
//
// The cost per entity is, for each of updated_at, created_at and id, a
// max() on both sides (an index scan where there is an index, otherwise a
// scan), and the missing rows: the versions' diff has found them when it
// compared the staged rows with those of the published table (knownLoss),
// otherwise one anti-join of the published table against the staged one
// on the primary key and a count of each. It returns every entity's
// finding, tripped or not.
//
// ahead are findings measured before the transaction (measureLossAhead):
// one whose published table is still the one it was measured against is
// taken as it is.
func checkLoss(ctx context.Context, tx pgx.Tx, schema string, policy LossPolicy, versions map[string]string, entities []*entity, ahead map[string]measured) ([]pipeline.LossFinding, error) {
	var out []pipeline.LossFinding
	for _, e := range entities {
		c := e.contract
		if len(c.PrimaryKey) != 1 {
			continue
		}
		var lastRun *int64
		var lastVersion *string
		err := tx.QueryRow(ctx, `
			SELECT v.run_id, r.source_versions->>$2
			FROM nightshift.table_versions v JOIN nightshift.runs r ON r.id = v.run_id
			WHERE v.target = 'warehouse' AND v.slot = 'current' AND v.entity = $1`, c.Entity, c.Source).Scan(&lastRun, &lastVersion)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // a first publish: nothing to lose
		}
		if err != nil {
			return nil, fmt.Errorf("loss check %s: %w", c.Entity, err)
		}
		m, ok := ahead[c.Entity]
		f := m.finding
		if !ok || lastRun == nil || m.publishedBy != *lastRun {
			if f, err = measureLoss(ctx, tx, schema, c, nil); err != nil {
				return nil, fmt.Errorf("loss check %s: %w", c.Entity, err)
			}
		}
		// A lower greatest id or timestamp alone is what deleting the
		// newest row looks like, which services do every day; it is a sign
		// of a restore only beside a real loss of rows. A lower schema
		// version is one by itself.
		olderData := len(f.BackInTime) > 0 && f.Deleted >= policy.MinDeletedRows
		olderSchema := false
		if now, ok := versions[c.Source]; ok && lastVersion != nil && schemas.VersionBefore(now, *lastVersion) {
			olderSchema = true
			f.BackInTime = append([]string{fmt.Sprintf("%s schema_migrations version %s is lower than %s, the source's version at run %d",
				c.Source, now, *lastVersion, *lastRun)}, f.BackInTime...)
		}
		f.Threshold = policy.maxFraction(c.Entity)
		f.Tripped = olderSchema || olderData || (f.Deleted >= policy.MinDeletedRows && f.Fraction > f.Threshold)
		f.Accepted = f.Tripped && slices.Contains(policy.Accept, c.Entity)
		out = append(out, f)
	}
	return out, nil
}

// measured is a finding measured against the table run publishedBy
// published.
type measured struct {
	publishedBy int64
	finding     pipeline.LossFinding
}

// measureLossAhead measures the entities' loss before the publish
// transaction, one per core at a time. The scans are the publish's largest
// cost when little changed, and in the transaction they ran one after
// another while it held every table's lock. Nothing but a run holding the
// run lock (this one) or a restore changes a published table, and either
// changes which run it was published by: checkLoss measures again then. An
// entity that fails here is measured in the transaction.
func measureLossAhead(ctx context.Context, pool *pgxpool.Pool, schema string, entities []*entity, diffs map[string]versions.Diff) map[string]measured {
	var mu sync.Mutex
	out := map[string]measured{}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, e := range entities {
		c := e.contract
		if len(c.PrimaryKey) != 1 {
			continue
		}
		g.Go(func() error {
			var run int64
			var rows *int64
			err := pool.QueryRow(ctx, `SELECT run_id, rows FROM nightshift.table_versions WHERE target = 'warehouse' AND slot = 'current' AND entity = $1`, c.Entity).Scan(&run, &rows)
			if err != nil {
				return nil //nolint:nilerr // never published, or unknown: measured in the transaction
			}
			var known *knownLoss
			if d, ok := diffs[c.Entity]; ok && e.window == nil && rows != nil && d.CurrentRun == run && d.CurrentRows == *rows {
				known = &knownLoss{published: *rows, staged: e.rows, deleted: d.Deleted}
			}
			f, err := measureLoss(ctx, pool, schema, c, known)
			if err != nil {
				return nil //nolint:nilerr // measured again in the transaction
			}
			mu.Lock()
			out[c.Entity] = measured{publishedBy: run, finding: f}
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
	return out
}

// querier is what measureLoss reads through: the publish transaction, or
// the pool before it.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// knownLoss is what the versions' diff already knows of an entity's loss:
// the rows the published table holds (as recorded when it was placed) and
// those staged, and how many of the first the second lacks. It is known
// when the diff's current side was the digests of the run whose table is
// published, with as many rows: then its deleted keys are those rows.
type knownLoss struct {
	published, staged, deleted int64
}

// measureLoss measures one entity's published table against its staged
// one. The missing rows are counted by an anti-join of the two, unless
// known says how many there are: then the diff's changes table gives
// their sample.
func measureLoss(ctx context.Context, tx querier, schema string, c *schemas.Contract, known *knownLoss) (pipeline.LossFinding, error) {
	f := pipeline.LossFinding{Entity: c.Entity}
	published := pgx.Identifier{schema, c.Entity}.Sanitize()
	staged := pgx.Identifier{loadwarehouse.StagingSchema, c.Entity}.Sanitize()
	key := pgx.Identifier{c.PrimaryKey[0]}.Sanitize()
	if known != nil {
		f.Published, f.Staged, f.Deleted = known.published, known.staged, known.deleted
		changes := pgx.Identifier{loadwarehouse.StagingSchema, versions.Changes(c.Entity)}.Sanitize()
		err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(k::text ORDER BY k), '{}') FROM (
			SELECT `+key+` AS k FROM `+changes+` WHERE change = 'deleted' ORDER BY `+key+` LIMIT $1) x`, lossSampleKeys).Scan(&f.SampleKeys)
		if err != nil {
			return f, err
		}
	} else {
		err := tx.QueryRow(ctx, `
			WITH gone AS MATERIALIZED (
				SELECT p.`+key+` AS k FROM `+published+` p
				WHERE NOT EXISTS (SELECT 1 FROM `+staged+` s WHERE s.`+key+` = p.`+key+`))
			SELECT (SELECT count(*) FROM `+published+`), (SELECT count(*) FROM `+staged+`), (SELECT count(*) FROM gone),
			       coalesce((SELECT array_agg(k::text ORDER BY k) FROM (SELECT k FROM gone ORDER BY k LIMIT $1) x), '{}')`,
			lossSampleKeys).Scan(&f.Published, &f.Staged, &f.Deleted, &f.SampleKeys)
		if err != nil {
			return f, err
		}
	}
	if f.Published > 0 {
		f.Fraction = float64(f.Deleted) / float64(f.Published)
	}
	// The timestamps have no index: their maxima come from one scan of
	// each table, not one per column. The id's comes from its index.
	var scanned, indexed []string
	for _, name := range []string{"updated_at", "created_at"} {
		if _, ok := c.Column(name); ok {
			scanned = append(scanned, name)
		}
	}
	if col, ok := c.Column("id"); ok && (col.Type == schemas.Int16 || col.Type == schemas.Int32 || col.Type == schemas.Int64) {
		indexed = append(indexed, "id")
	}
	for _, names := range [][]string{scanned, indexed} {
		if len(names) == 0 {
			continue
		}
		maxima, compared := make([]string, len(names)), make([]string, len(names))
		for i, name := range names {
			q := pgx.Identifier{name}.Sanitize()
			maxima[i] = fmt.Sprintf("max(%s) AS m%d", q, i)
			compared[i] = fmt.Sprintf("p.m%d::text, s.m%d::text, coalesce(s.m%d < p.m%d, false)", i, i, i, i)
		}
		before, now, lower := make([]*string, len(names)), make([]*string, len(names)), make([]bool, len(names))
		dest := make([]any, 0, 3*len(names))
		for i := range names {
			dest = append(dest, &before[i], &now[i], &lower[i])
		}
		err := tx.QueryRow(ctx, `
			WITH p AS (SELECT `+strings.Join(maxima, ", ")+` FROM `+published+`), s AS (SELECT `+strings.Join(maxima, ", ")+` FROM `+staged+`)
			SELECT `+strings.Join(compared, ", ")+` FROM p, s`).Scan(dest...)
		if err != nil {
			return f, err
		}
		for i, name := range names {
			if lower[i] {
				f.BackInTime = append(f.BackInTime, fmt.Sprintf("greatest %s %s is lower than the published %s", name, *now[i], *before[i]))
			}
		}
	}
	return f, nil
}
