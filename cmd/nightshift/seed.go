package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dfe-nightshift/nightshift/internal/config"
	"github.com/dfe-nightshift/nightshift/internal/seed"
)

func (a *app) seedCommand() *cobra.Command {
	var (
		opts         seed.Options
		sources      []string
		createSchema bool
	)
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Fill demo or test source databases with deterministic synthetic data",
		Long: `Fill the source databases named in the configuration (sources.register.url,
sources.rect.url) with synthetic records shaped like Register trainee teachers and
Register early career teachers: real table and column names, realistic distributions,
and the edge cases real data has (NULLs, withdrawn-then-reinstated trainees, duplicate
TRNs, overlapping periods, voided and clawed-back declarations, soft-deleted rows,
non-ASCII names). The same --seed and --scale always give the same data.

--scale 1 is about 1,000 trainees, 3,000 periods and 10,000 declarations; --scale 1000
is the benchmark size. Rows are written with COPY. --create-schema first creates the
tables in an empty database. Never point this at a real service database.`,
		Example: `  nightshift seed --create-schema --scale 50
  nightshift seed --source register --scale 1000 --seed 7`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			if opts.Scale <= 0 {
				return withCode(exitUsage, fmt.Errorf("--scale must be positive"))
			}
			if cfg.Production() {
				return withCode(exitLocked, fmt.Errorf("seed refuses to write synthetic data in environment %q", cfg.Environment))
			}
			for _, name := range sources {
				if !slices.Contains(seed.Sources, name) {
					return withCode(exitUsage, fmt.Errorf("--source %q: known sources are %s", name, strings.Join(seed.Sources, ", ")))
				}
				db, ok := cfg.Sources[name]
				if !ok {
					return withCode(exitUsage, &config.Error{Setting: "sources." + name + ".url", Problem: "is required to seed " + name})
				}
				if err := a.seedOne(cmd.Context(), db, name, opts, createSchema); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().Float64Var(&opts.Scale, "scale", 1, "size: 1 ≈ 1,000 trainees")
	cmd.Flags().Int64Var(&opts.Seed, "seed", 1, "random seed; the same seed gives the same data")
	cmd.Flags().StringSliceVar(&sources, "source", seed.Sources, "sources to seed")
	cmd.Flags().BoolVar(&createSchema, "create-schema", false, "create the source tables first (the database must be empty)")
	return cmd
}

func (a *app) seedOne(ctx context.Context, db config.Database, name string, opts seed.Options, createSchema bool) error {
	setting := "sources." + name + ".url"
	pool, err := db.Open(ctx, setting, false, 0)
	if err != nil {
		return withCode(exitUsage, err)
	}
	defer pool.Close()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("seed %s: %w", name, err)
	}
	defer conn.Release()
	if createSchema {
		if err := seed.CreateSchema(ctx, conn.Conn(), name); err != nil {
			return err
		}
	}
	sum, err := seed.Seed(ctx, conn.Conn(), name, opts)
	if err != nil {
		return err
	}
	printSummary(a, sum)
	return nil
}

func printSummary(a *app, sum seed.Summary) {
	tables := slices.Sorted(maps.Keys(sum.Rows))
	parts := make([]string, len(tables))
	for i, t := range tables {
		parts[i] = fmt.Sprintf("%s %d", t, sum.Rows[t])
	}
	fmt.Fprintf(a.stdout, "seeded %s: %s\n", sum.Source, strings.Join(parts, ", "))
}
