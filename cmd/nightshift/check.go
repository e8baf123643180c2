package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dfe-nightshift/nightshift/schemas"
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

Additions in a source pass and are listed: new columns, types that changed but still
convert losslessly, and a schema version past the upstream db/schema.rb the contracts were
last checked against (a sign that the contracts need re-checking). Anything else —
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
			results, err := preflight.CheckAll(ctx, contracts, func(name string) (preflight.Querier, error) { return sources[name], nil })
			if err != nil {
				return err
			}
			for _, res := range results {
				checked := ""
				if up, ok := schemas.UpstreamOf(res.Source); ok {
					checked = fmt.Sprintf(" (contracts checked against %s, %s@%.12s)", up.Version, up.Repository, up.Commit)
				}
				fmt.Fprintf(a.stdout, "source %s: schema version %s%s; entities %s\n", res.Source, res.Version, checked,
					strings.Join(entityNames(preflight.Readers(contracts, res.Source)), ", "))
				for _, f := range res.Findings {
					mark := "  note:    "
					if f.Blocking() {
						mark = "  MISMATCH:"
					}
					fmt.Fprintln(a.stdout, mark, f)
				}
			}
			if err := preflight.Refusal(results); err != nil {
				return withCode(exitRefused, err)
			}
			fmt.Fprintln(a.stdout, "ok: every source matches its contracts")
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&entities, "entity", nil, "entities to check (default all)")
	return cmd
}
