package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/loadbigquery"
)

// bigqueryCommand groups what is done to the BigQuery tables outside a
// run.
func (a *app) bigqueryCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bigquery",
		Short: "Manage the BigQuery tables outside a run",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(a.relayoutCommand())
	return cmd
}

type relayoutOptions struct {
	entity, reason, confirm string
	dryRun                  bool
}

func (a *app) relayoutCommand() *cobra.Command {
	var opts relayoutOptions
	cmd := &cobra.Command{
		Use:   "relayout --entity NAME --reason TEXT [--dry-run]",
		Short: "Rebuild an entity's BigQuery tables with the partitioning and clustering its contract says",
		Long: `Give the entity's BigQuery tables — <entity>, <entity>__previous and <entity>__discarded —
the partitioning and clustering its contract says (nightshift docs shows them). BigQuery
cannot change a table's partitioning in place, so a run refuses to load a table
partitioned otherwise and names this command. Each such table is rebuilt: a query job
copies every row into <table>__relayout, created with the contract's layout (as CREATE
TABLE … PARTITION BY … CLUSTER BY … AS SELECT * FROM <table> would), its row count is
checked, and it is swapped in (the table dropped, the new one copied to its name). For
the seconds between the drop and the copy, queries of the table fail. A table only
clustered otherwise has its clustering changed in place, as a run does by itself.

It takes the run lock, so no run loads the entity meanwhile. Every step is decided from
what the tables are: after a failure, run it again to finish; on tables already laid out
it changes nothing. --dry-run prints what would change and changes nothing. Afterwards,
"nightshift retry" a run the layout refused.

--reason is required, and in production --confirm <env> too. Exit codes: 0 done; 1
failed; 2 usage or configuration error (BigQuery not configured); 4 refused (a run holds
the lock, or --confirm is missing).`,
		Example: `  nightshift bigquery relayout --entity declarations --dry-run
  nightshift bigquery relayout --entity declarations --reason "partition by declaration month" --confirm production`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.relayout(cmd.Context(), opts) },
	}
	f := cmd.Flags()
	f.StringVar(&opts.entity, "entity", "", "the entity whose tables to rebuild (required)")
	f.StringVar(&opts.reason, "reason", "", "why (required; logged)")
	f.StringVar(&opts.confirm, "confirm", "", "in production: the environment's name, to confirm")
	f.BoolVar(&opts.dryRun, "dry-run", false, "print what would change and change nothing")
	return cmd
}

func (a *app) relayout(ctx context.Context, opts relayoutOptions) error {
	if opts.entity == "" {
		return withCode(exitUsage, errors.New("--entity is required: name the entity whose BigQuery tables to rebuild"))
	}
	c, err := schemas.Lookup(opts.entity)
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("--entity: %w", err))
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	if !cfg.BigQuery.Enabled() {
		return withCode(exitUsage, errors.New("relayout: BigQuery is not configured (bigquery.project, NIGHTSHIFT_BIGQUERY_PROJECT)"))
	}
	target, closeBQ, err := openBigQuery(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeBQ()
	if opts.dryRun {
		plan, err := loadbigquery.Relayout(ctx, *target, c, true)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "Relayout plan for %s in BigQuery dataset %s.%s (dry run: nothing changes)\n", c.Entity, cfg.BigQuery.Project, cfg.BigQuery.Dataset)
		a.printRelaid(plan)
		return nil
	}
	operation := "relayout of " + c.Entity + " in BigQuery"
	err = pipeline.Guard{Env: cfg.Environment, IsProduction: cfg.Production()}.Check(operation, opts.reason, opts.confirm, true)
	var ce *pipeline.ConfirmationError
	switch {
	case errors.As(err, &ce):
		return withCode(exitLocked, err)
	case err != nil:
		return withCode(exitUsage, fmt.Errorf("%s: %w", operation, err))
	}
	wh, err := openWarehouse(ctx, cfg)
	if err != nil {
		return err
	}
	defer wh.Close()
	// A run loading the entity between the rebuild and the swap would be
	// lost, or fail on a table that is briefly missing.
	lock, err := pipeline.NewLedger(wh).TryLock(ctx)
	if errors.Is(err, pipeline.ErrLocked) {
		return withCode(exitLocked, err)
	}
	if err != nil {
		return err
	}
	defer lock.Release(ctx)
	a.log.Info("relayout", "entity", c.Entity, "dataset", cfg.BigQuery.Dataset, "layout", c.BigQuery.Describe(),
		"reason", opts.reason, "started_by", startedBy())
	done, err := loadbigquery.Relayout(ctx, *target, c, false)
	fmt.Fprintf(a.stdout, "Relayout of %s in BigQuery dataset %s.%s\n", c.Entity, cfg.BigQuery.Project, cfg.BigQuery.Dataset)
	a.printRelaid(done)
	if err != nil {
		return fmt.Errorf("%w (run the same command again to finish)", err)
	}
	return nil
}

func (a *app) printRelaid(tables []loadbigquery.Relaid) {
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  TABLE\tACTION\tROWS\tFROM\tTO")
	for _, r := range tables {
		if r.Action == "absent" {
			fmt.Fprintf(tw, "  %s\tabsent\t-\t-\t-\n", r.Table)
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\n", r.Table, r.Action, r.Rows, r.From, r.To)
	}
	_ = tw.Flush()
}
