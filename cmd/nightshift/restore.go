package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dfe-nightshift/nightshift/pipeline"
)

func (a *app) restoreCommand() *cobra.Command {
	var opts runOptions
	var confirm string
	cmd := &cobra.Command{
		Use:   "restore --entity NAME --reason TEXT",
		Short: "Put the previous version of an entity's table back, in the warehouse and BigQuery",
		Long: `Swap <entity>__previous back in place of the entity's table, in one transaction in the
warehouse (and with copy jobs in BigQuery when it is configured); the table it replaces
becomes the new __previous, so a restore can be undone by restoring again. Views are
pointed at the restored table. The restore is a run like any other: it takes the run
lock, is recorded in the ledger with its reason, and is notified.

In production it needs --confirm production as well as --reason.`,
		Example: `  nightshift restore --entity trainees --reason "last night's load had the wrong provider data"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			if len(opts.entities) == 0 {
				return withCode(exitUsage, errors.New("--entity is required: name the entity to restore"))
			}
			if err := guard(cfg.Environment, "restore", opts.reason, confirm, true); err != nil {
				return err
			}
			opts.trigger, opts.restore = pipeline.TriggerRestore, true
			_, err = a.runPipeline(cmd.Context(), cfg, opts)
			return err
		},
	}
	cmd.Flags().StringSliceVar(&opts.entities, "entity", nil, "entity to restore (repeatable)")
	cmd.Flags().StringVar(&opts.reason, "reason", "", "why (required; recorded in the ledger and the notification)")
	cmd.Flags().StringVar(&confirm, "confirm", "", "in production: the environment's name, to confirm")
	return cmd
}

// guard applies the production guard and gives its refusals exit codes:
// 2 for a missing reason, 4 for a missing confirmation.
func guard(env, operation, reason, confirm string, destructive bool) error {
	err := pipeline.Guard{Env: env}.Check(operation, reason, confirm, destructive)
	var ce *pipeline.ConfirmationError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return withCode(exitLocked, err)
	default:
		return withCode(exitUsage, fmt.Errorf("%s: %w", operation, err))
	}
}
