package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dfe-nightshift/nightshift/internal/config"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/schemas/lookml"
	"github.com/dfe-nightshift/nightshift/steps/loadbigquery"
)

func (a *app) lookmlCommand() *cobra.Command {
	var out, connection, pii string
	cmd := &cobra.Command{
		Use:   "lookml",
		Short: "Write the Looker project (LookML) of the BigQuery dataset from the entity contracts",
		Long: `Write a LookML view per BigQuery table — every entity, the statuses' daily history
(<statuses>_daily) and the run ledger (nightshift_runs) — and nightshift.model.lkml, whose
explores join along the contracts' keys (trainee → provider, cycles, withdrawals; teacher →
periods → training, declarations, lead provider, school; declarations; statements;
contracts). Fields are typed and described from the contracts; dates and timestamps are
dimension groups; enums show their names.

The views describe the dataset as loaded under the PII policy (bigquery.pii, or --pii):
with hash, personal and special-category columns are hidden fields labelled
pseudonymised, good only for joining and counting distinct values; with drop they are
absent. The dataset is bigquery.project and bigquery.dataset. Needs no database and no
PII key.

--out is created if need be. Files this command wrote before are replaced, and removed
when no longer generated; other files there (refinements, dashboards) are left alone, and
one in the place of a generated file is an error.`,
		Example: `  nightshift lookml --out looker/
  nightshift --config production.yaml lookml --out looker/ --connection dfe_bigquery`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			opts, err := a.lookmlOptions(connection, pii)
			if err != nil {
				return err
			}
			files, err := lookml.Generate(schemas.All(), opts)
			if err != nil {
				return err
			}
			removed, err := lookml.WriteDir(out, files)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("--out: %w", err))
			}
			fmt.Fprintf(a.stdout, "wrote %d LookML files to %s (dataset %s, PII %s, connection %s)\n",
				len(files), out, opts.Dataset, opts.PII, opts.Connection)
			for _, name := range removed {
				fmt.Fprintf(a.stdout, "removed %s: no longer generated\n", name)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "directory to write the LookML into (required)")
	cmd.Flags().StringVar(&connection, "connection", "nightshift_bigquery", "name of the Looker connection to BigQuery")
	cmd.Flags().StringVar(&pii, "pii", "", "PII policy the dataset was loaded with: hash or drop (default bigquery.pii)")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// lookmlOptions reads the dataset and the PII policy from the
// configuration, which need not be complete enough to run.
func (a *app) lookmlOptions(connection, pii string) (lookml.Options, error) {
	path := a.configPath
	if path == "" {
		path = lookupEnv(a.env, "NIGHTSHIFT_CONFIG")
	}
	cfg, err := config.Read(path, a.env)
	if err != nil {
		return lookml.Options{}, withCode(exitUsage, err)
	}
	setting := "bigquery.pii"
	if pii != "" {
		setting = "--pii"
	} else {
		pii = cfg.BigQuery.PII
	}
	policy, err := lookml.ParsePolicy(pii)
	if err != nil {
		return lookml.Options{}, withCode(exitUsage, &config.Error{Setting: setting, Problem: err.Error()})
	}
	dataset := cfg.BigQuery.Dataset
	if cfg.BigQuery.Project != "" {
		dataset = cfg.BigQuery.Project + "." + dataset
	}
	opts := lookml.Options{Connection: connection, Dataset: dataset, PII: policy, Tables: bigQueryTables()}
	if err := opts.Validate(); err != nil {
		return lookml.Options{}, withCode(exitUsage, err)
	}
	return opts, nil
}

// bigQueryTables are the tables nightshift loads into BigQuery beside the
// entities' own, for the LookML to describe. A table BigQuery gains (the
// status history, an as-of function's table) is described by adding it
// here.
func bigQueryTables() []lookml.Table {
	var out []lookml.Table
	for _, c := range schemas.All() {
		if c.History {
			out = append(out, lookml.HistoryTable(loadbigquery.DailyTable(c.Entity), c))
		}
	}
	return append(out, lookml.StatusHistoryTable(loadbigquery.HistoryTable), lookml.RunsTable(loadbigquery.LedgerTable))
}
