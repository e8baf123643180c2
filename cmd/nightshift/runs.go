package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dfe-nightshift/nightshift/pipeline"
)

func (a *app) runsCommand() *cobra.Command {
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List recent runs from the ledger",
		Long: `List the most recent runs recorded in the warehouse's nightshift.runs table, newest
first: id, what triggered it, its status, the entities it covered, rows loaded and
how long it took. --json prints the same as a JSON array, for scripts.`,
		Example: `  nightshift runs
  nightshift runs --limit 5 --json | jq '.[0].status'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 {
				return withCode(exitUsage, fmt.Errorf("--limit must be at least 1"))
			}
			cfg, wh, err := a.warehouse(cmd.Context())
			if err != nil {
				return err
			}
			defer wh.Close()
			ledger := pipeline.NewLedger(wh)
			abandoned, err := ledger.SweepAbandoned(cmd.Context())
			if err != nil {
				return err
			}
			for _, id := range abandoned {
				fmt.Fprintf(a.stderr, "note: run %d had died without finishing; it is now marked abandoned\n", id)
			}
			// Whoever finds a dead run reports it; the ledger makes sure
			// only one process does.
			a.newRunner(cfg, wh).NotifyAbandoned(cmd.Context(), abandoned)
			runs, err := ledger.Recent(cmd.Context(), limit)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if runs == nil {
					runs = []pipeline.RunSummary{}
				}
				return enc.Encode(runs)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTRIGGER\tSTATUS\tENTITIES\tROWS\tSTARTED\tDURATION\tREASON")
			for _, r := range runs {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.ID, r.Trigger, r.Status, strings.Join(r.Entities, ","), r.Rows,
					r.StartedAt.UTC().Format("2006-01-02 15:04:05Z"), (time.Duration(r.Seconds * float64(time.Second))).Round(10*time.Millisecond), quoteUserText(r.Reason))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "how many runs to show")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}
