package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/loadwarehouse"
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
// The cost per entity is one anti-join of the published table against the
// staged one on the primary key (both tables have it as their primary key
// index, so it is a merge or hash anti-join, one scan of each), one count
// of the published table and, for each of updated_at, created_at and id, a
// max() on both sides (an index scan where there is an index, otherwise a
// scan). It returns every entity's finding, tripped or not.
func checkLoss(ctx context.Context, tx pgx.Tx, schema string, policy LossPolicy, versions map[string]string, entities []*entity) ([]pipeline.LossFinding, error) {
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
		f, err := measureLoss(ctx, tx, schema, c)
		if err != nil {
			return nil, fmt.Errorf("loss check %s: %w", c.Entity, err)
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

// measureLoss measures one entity's published table against its staged one.
func measureLoss(ctx context.Context, tx pgx.Tx, schema string, c *schemas.Contract) (pipeline.LossFinding, error) {
	f := pipeline.LossFinding{Entity: c.Entity}
	published := pgx.Identifier{schema, c.Entity}.Sanitize()
	staged := pgx.Identifier{loadwarehouse.StagingSchema, c.Entity}.Sanitize()
	key := pgx.Identifier{c.PrimaryKey[0]}.Sanitize()
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
	if f.Published > 0 {
		f.Fraction = float64(f.Deleted) / float64(f.Published)
	}
	for _, name := range []string{"updated_at", "created_at", "id"} {
		col, ok := c.Column(name)
		if !ok || (name == "id" && col.Type != schemas.Int16 && col.Type != schemas.Int32 && col.Type != schemas.Int64) {
			continue
		}
		q := pgx.Identifier{name}.Sanitize()
		var before, now *string
		var lower bool
		err := tx.QueryRow(ctx, `
			WITH p AS (SELECT max(`+q+`) AS m FROM `+published+`), s AS (SELECT max(`+q+`) AS m FROM `+staged+`)
			SELECT p.m::text, s.m::text, coalesce(s.m < p.m, false) FROM p, s`).Scan(&before, &now, &lower)
		if err != nil {
			return f, err
		}
		if lower {
			f.BackInTime = append(f.BackInTime, fmt.Sprintf("greatest %s %s is lower than the published %s", name, *now, *before))
		}
	}
	return f, nil
}
