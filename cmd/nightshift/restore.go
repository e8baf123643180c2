package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dfe-nightshift/nightshift/internal/config"
	"github.com/dfe-nightshift/nightshift/pipeline"
)

func (a *app) restoreCommand() *cobra.Command {
	var entities []string
	var reason, confirm string
	var toRun runIDFlag
	cmd := &cobra.Command{
		Use:   "restore --entity NAME --reason TEXT [--run ID]",
		Short: "Bring back an earlier version of an entity's tables, in the warehouse and BigQuery",
		Long: `Bring back the version of the entity's table before the current one (the one kept as
<entity>__previous), or with --run ID the version that run loaded, if it is still kept.
In the warehouse this is one transaction for every entity named, and the views are
pointed at the restored tables; BigQuery follows with copy jobs. The table taken out is
kept as <entity>__discarded, so a restore can be undone with --run and the id of the
run that loaded it. Restoring a version that is already current changes nothing, so a
restore done twice is the same as once, and is safe to retry.

The restore is a run like any other: it takes the run lock, is recorded in the ledger
with its reason, and is notified. nightshift.table_versions says which run's data each
table holds. In production it needs --confirm production as well as --reason.` + runHelp,
		Example: `  nightshift restore --entity trainees --reason "last night's load had the wrong provider data"
  nightshift restore --entity trainees --run 41 --reason "undo the restore"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(entities) == 0 {
				return withCode(exitUsage, errors.New("--entity is required: name the entity to restore"))
			}
			_, err := a.execute(cmd.Context(), nil, execution{
				spec:    pipeline.Spec{Kind: pipeline.KindRestore, Entities: entities, RestoreRun: int64(toRun)},
				trigger: pipeline.TriggerRestore, reason: reason, confirm: confirm,
			})
			return err
		},
	}
	cmd.Flags().StringSliceVar(&entities, "entity", nil, "entity to restore (repeatable)")
	cmd.Flags().Var(&toRun, "run", "bring back the version this run loaded (default: the version before the current one)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required; recorded in the ledger and the notification)")
	cmd.Flags().StringVar(&confirm, "confirm", "", "in production: the environment's name, to confirm")
	return cmd
}

// guard applies the production guard to a run someone asked for and gives
// its refusals exit codes: 2 for a missing reason, 4 for a missing
// confirmation.
func guard(cfg config.Config, trigger pipeline.Trigger, spec pipeline.Spec, reason, confirm string) error {
	err := pipeline.Guard{Env: cfg.Environment, IsProduction: cfg.Production()}.Admit(trigger, spec, reason, confirm)
	var ce *pipeline.ConfirmationError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return withCode(exitLocked, err)
	default:
		return withCode(exitUsage, fmt.Errorf("%s: %w", spec.Operation(), err))
	}
}
