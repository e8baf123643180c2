package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/steps"
	"github.com/dfe-nightshift/nightshift/steps/loadbigquery"
)

func (a *app) abortCommand() *cobra.Command {
	var runID runIDFlag
	var reason string
	cmd := &cobra.Command{
		Use:   "abort",
		Short: "Stop the running run from another terminal, leaving every target as it was",
		Long: `Ask the running run (or --run ID) to stop. The request is written on the run's row in
the ledger; the run sees it at its next heartbeat (within a few seconds), cancels its
queries, drops its staging tables and ends with status aborted. A run publishes every
entity in one transaction at its end: aborted before that commits, it leaves the
warehouse and BigQuery exactly as they were; aborted after, while BigQuery is being
loaded, the warehouse holds the run and "nightshift retry" finishes BigQuery.

--reason is required and recorded in the ledger.`,
		Example: `  nightshift abort --reason "started against production by mistake"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(reason) == "" {
				return withCode(exitUsage, fmt.Errorf("--reason is required: say why the run is being stopped"))
			}
			_, wh, err := a.warehouse(cmd.Context())
			if err != nil {
				return err
			}
			defer wh.Close()
			id, err := pipeline.NewLedger(wh).RequestAbort(cmd.Context(), int64(runID), startedBy(), reason)
			if errors.Is(err, pipeline.ErrNoSuchRun) {
				return withCode(exitUsage, err)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "abort requested for run %d; it stops within %s\n", id, 2*pipeline.HeartbeatInterval)
			return nil
		},
	}
	cmd.Flags().Var(&runID, "run", "the run to stop (default: the running one)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required; recorded in the ledger)")
	return cmd
}

func (a *app) retryCommand() *cobra.Command {
	var reason, confirm string
	cmd := &cobra.Command{
		Use:   "retry RUN_ID",
		Short: "Run again what an earlier run did not finish: the same kind of run, with the same scope",
		Long: `Start a new run (trigger "retry") that finishes what RUN_ID did not:
  - a full run that did not publish runs again, in full, for the same entities, at a
    fresh snapshot (it changed nothing, so there is nothing to keep from it);
  - a backfill resumes from its checkpoints (the chunks it staged);
  - a restore restores the same version again (a no-op where it is already current);
  - a run whose warehouse publish committed but whose BigQuery publish did not
    finish loads BigQuery with that run's spool files, under that run's job ids, so
    nothing is loaded twice.
A retry is guarded like the original: in production it needs --reason, and for a
backfill or a restore --confirm production too.` + runHelp,
		Example: `  nightshift retry 42 --reason "source connection dropped overnight"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseRunID(args[0])
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("RUN_ID: %w", err))
			}
			// A run whose process died is still marked running until someone
			// looks: the retry does, and reports it, as `runs` would.
			cfg, ledger, done, err := a.ledger(cmd.Context())
			if err != nil {
				return err
			}
			engine := &steps.Engine{Ledger: ledger}
			if cfg.BigQuery.Enabled() {
				// Only whether BigQuery is on matters to the retry's spec.
				engine.Deps.BigQuery = &loadbigquery.Target{}
			}
			spec, rec, err := engine.RetrySpec(cmd.Context(), id)
			done()
			switch {
			case errors.Is(err, steps.ErrNothingToRetry):
				fmt.Fprintf(a.stdout, "%v\n", err)
				return nil
			case errors.Is(err, pipeline.ErrNoSuchRun):
				return withCode(exitUsage, err)
			case err != nil:
				return withCode(exitUsage, err)
			}
			// The original's guard applies: a backfill is as destructive retried.
			if err := guard(cfg, pipeline.TriggerRetry, rec.Spec, reason, confirm); err != nil {
				return err
			}
			if reason == "" {
				reason = fmt.Sprintf("retry of run %d", id)
			}
			fmt.Fprintf(a.stdout, "retrying run %d: %s of %s\n", id, spec.Mode(), strings.Join(spec.Entities, ", "))
			_, err = a.execute(cmd.Context(), &cfg, execution{spec: spec, trigger: pipeline.TriggerRetry, reason: reason, confirm: confirm, retryOf: id, progress: a.progress()})
			return err
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, recorded in the ledger (required in production)")
	cmd.Flags().StringVar(&confirm, "confirm", "", "in production, for a backfill or a restore: the environment's name, to confirm")
	return cmd
}
