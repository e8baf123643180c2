// Package seed builds the demo and test source databases: the schemas of
// Register trainee teachers ("register") and Register early career teachers
// ("rect"), and deterministic synthetic data shaped like theirs, including
// the data-quality edge cases the pipeline has to survive.
//
// The same Options give byte-identical data, whatever the machine or the
// day: all randomness comes from Options.Seed and every date is relative to
// a fixed "as of" moment (21 August 2026). Rows are generated lazily and
// bulk-loaded with COPY, so memory does not grow with Options.Scale.
package seed

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"
)

// Sources lists the source names in the order they must be created: "register", "rect".
var Sources = []string{"register", "rect"}

// MaxScale bounds Options.Scale: beyond it the seven-digit TRN space of
// Register trainee teachers would run out of distinct values.
const MaxScale = 5000

// ErrAlreadySeeded is returned by Seed when the database already has data.
var ErrAlreadySeeded = errors.New("database already seeded")

// Options choose the size and the randomness of a seed.
type Options struct {
	// Scale multiplies every volume. 1 gives about 1,000 trainees in
	// register and, in rect, 700 teachers, 3,000 period rows and 10,000
	// declarations; 0.05 suits a quick test; 1000 is the benchmark size.
	// Reference tables (lead providers, schedules, ...) grow more slowly or
	// not at all.
	Scale float64
	// Seed picks the data: the same Seed and Scale give identical databases.
	Seed int64
}

// Validate reports an Options that cannot be seeded.
func (o Options) Validate() error {
	if math.IsNaN(o.Scale) || o.Scale <= 0 || o.Scale > MaxScale {
		return fmt.Errorf("scale must be in (0, %d], got %v", MaxScale, o.Scale)
	}
	return nil
}

// Summary says what a seed inserted.
type Summary struct {
	Source string
	// Rows is the number of rows inserted per table. Reference rows the
	// schema file itself inserts (academic cycles, withdrawal reasons,
	// migration versions) are not counted.
	Rows map[string]int64
	// Planted counts the edge cases planted, by key; planted.go defines
	// each key as the query that finds exactly that many in the database.
	Planted map[string]int64
}

// Seed fills a database created by CreateSchema with synthetic data, in one
// transaction: on error nothing is left behind. It refuses a database that
// already has data (ErrAlreadySeeded). It registers the source's enum types
// and citext on conn, which COPY needs.
func Seed(ctx context.Context, conn *pgx.Conn, source string, opts Options) (Summary, error) {
	if err := opts.Validate(); err != nil {
		return Summary{}, fmt.Errorf("seed %s: %w", source, err)
	}
	var src generatedSource
	switch source {
	case "register":
		src = newRegister(opts)
	case "rect":
		src = newRect(opts)
	default:
		return Summary{}, fmt.Errorf("seed: unknown source %q (want one of %v)", source, Sources)
	}

	sum := Summary{Source: source}
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		tables := src.tables()
		if err := ensureEmpty(ctx, tx, source, tables); err != nil {
			return err
		}
		if err := registerTypes(ctx, tx.Conn()); err != nil {
			return fmt.Errorf("seed %s: %w", source, err)
		}
		if err := src.prepare(ctx, tx); err != nil {
			return fmt.Errorf("seed %s: %w", source, err)
		}
		rows, err := load(ctx, tx, source, tables)
		if err != nil {
			return err
		}
		sum.Rows = rows
		return nil
	})
	if err != nil {
		return Summary{}, err
	}
	sum.Planted = src.planted()
	return sum, nil
}

// generatedSource is one source's data generator.
type generatedSource interface {
	// prepare reads what the schema file inserted (ids of reference rows).
	prepare(ctx context.Context, tx pgx.Tx) error
	// tables lists the tables to copy, parents before children.
	tables() []table
	// planted returns the edge-case counts; valid once every table is copied.
	planted() map[string]int64
}
