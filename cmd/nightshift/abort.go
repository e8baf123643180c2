package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dfe-nightshift/nightshift/pipeline"
)

func (a *app) abortCommand() *cobra.Command {
	var runID int64
	var reason string
	cmd := &cobra.Command{
		Use:   "abort",
		Short: "Stop the running run from another terminal, leaving every target as it was",
		Long: `Ask the running run (or --run ID) to stop. The request is written on the run's row in
the ledger; the run sees it at its next heartbeat (within a few seconds), cancels its
queries, drops its staging tables and ends with status aborted. Tables already
swapped in by an earlier entity of the run stay swapped (each swap is atomic; use
"nightshift restore" to bring back the previous version); nothing is left half-loaded.

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
			id, err := pipeline.NewLedger(wh).RequestAbort(cmd.Context(), runID, startedBy(), reason)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "abort requested for run %d; it stops within %s\n", id, 2*pipeline.HeartbeatInterval)
			return nil
		},
	}
	cmd.Flags().Int64Var(&runID, "run", 0, "the run to stop (default: the running one)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required; recorded in the ledger)")
	return cmd
}

func (a *app) retryCommand() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "retry RUN_ID",
		Short: "Run again only the entities that did not succeed in an earlier run",
		Long: `Start a new run (trigger "retry") of the entities of RUN_ID that failed, were aborted,
or never finished because the run died. Entities that succeeded are left alone. The
new run reads a fresh snapshot of the sources.`,
		Example: `  nightshift retry 42 --reason "source connection dropped overnight"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var id int64
			if _, err := fmt.Sscan(args[0], &id); err != nil || id < 1 {
				return withCode(exitUsage, fmt.Errorf("RUN_ID must be a run number, got %q", args[0]))
			}
			cfg, wh, err := a.warehouse(cmd.Context())
			if err != nil {
				return err
			}
			_, entities, err := pipeline.NewLedger(wh).Unfinished(cmd.Context(), id)
			wh.Close()
			if err != nil {
				return withCode(exitUsage, err)
			}
			if len(entities) == 0 {
				fmt.Fprintf(a.stdout, "run %d: every entity succeeded; nothing to retry\n", id)
				return nil
			}
			if reason == "" {
				reason = fmt.Sprintf("retry of run %d", id)
			}
			fmt.Fprintf(a.stdout, "retrying %s from run %d\n", strings.Join(entities, ", "), id)
			_, err = a.runPipeline(cmd.Context(), cfg, runOptions{entities: entities, reason: reason, trigger: pipeline.TriggerRetry})
			return err
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, recorded in the ledger")
	return cmd
}
