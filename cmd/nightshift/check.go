package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dfe-nightshift/nightshift/steps/preflight"
)

func (a *app) checkCommand() *cobra.Command {
	var entities []string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check that the sources match the contracts and the warehouse is ready, without running",
		Long: `Run the preflight that starts every run, on its own: for each source, read the highest
schema_migrations version and compare it with each contract's minimum; check that
every column a contract reads exists in information_schema with a type that converts
losslessly; and check that the warehouse is reachable and migrated.

Additions in a source (new tables, new columns) pass and are listed. Anything else —
a missing table or column, an incompatible type, a source older than a contract —
is a mismatch: check exits 3, and "nightshift run" would refuse to start.`,
		Example: `  nightshift check
  nightshift check --entity trainees`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			contracts, err := selectContracts(entities)
			if err != nil {
				return withCode(exitUsage, err)
			}
			wh, err := openWarehouse(ctx, cfg)
			if err != nil {
				return err
			}
			wh.Close()
			fmt.Fprintf(a.stdout, "warehouse: reachable and migrated\n")
			sources, err := openSources(ctx, cfg, contracts)
			if err != nil {
				return err
			}
			defer closeAll(sources)
			var blocking []preflight.Finding
			for _, source := range slices.Sorted(maps.Keys(sources)) {
				var readers []string
				for _, c := range contracts {
					if c.Source == source {
						readers = append(readers, c.Entity)
					}
				}
				sel, _ := selectContracts(readers)
				res, err := preflight.Check(ctx, sources[source], source, sel)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "source %s: schema version %s; entities %s\n", source, res.Version, strings.Join(readers, ", "))
				for _, f := range res.Findings {
					mark := "  note:    "
					if f.Blocking() {
						mark = "  MISMATCH:"
						blocking = append(blocking, f)
					}
					fmt.Fprintln(a.stdout, mark, f)
				}
			}
			if len(blocking) > 0 {
				return withCode(exitRefused, &preflight.RefusedError{Findings: blocking})
			}
			fmt.Fprintln(a.stdout, "ok: every source matches its contracts")
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&entities, "entity", nil, "entities to check (default all)")
	return cmd
}
