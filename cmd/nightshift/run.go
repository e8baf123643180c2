package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/dfe-nightshift/nightshift/internal/config"
	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/pipeline/notify"
	"github.com/dfe-nightshift/nightshift/schemas"
	nssql "github.com/dfe-nightshift/nightshift/sql"
	"github.com/dfe-nightshift/nightshift/steps"
	"github.com/dfe-nightshift/nightshift/steps/loadbigquery"
	"github.com/dfe-nightshift/nightshift/steps/spool"
)

type runOptions struct {
	entities []string
	reason   string
	trigger  pipeline.Trigger
	// restore puts back each entity's previous version instead of loading.
	restore bool
}

func (a *app) runCommand() *cobra.Command {
	var opts runOptions
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the pipeline once: extract every entity and load the warehouse",
		Long: `Run the pipeline once, now. For each entity (all of them unless --entity is given):
extract it from its source at one consistent, read-only snapshot into a Parquet spool
file, then load it into the warehouse: COPY into <entity>__staging, check row count
and checksum against the source, and swap it in, keeping the old table as
<entity>__previous.

Entities run in parallel (run.parallelism); a failed step is retried up to
run.max_attempts times when the error is transient. The run is recorded in
nightshift.runs and nightshift.step_runs; see "nightshift runs".

Exit codes: 0 succeeded, 1 failed, 2 configuration error, 130 aborted (Ctrl-C).`,
		Example: `  nightshift run
  nightshift run --entity trainees --reason "reload after the provider fix"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.trigger = pipeline.TriggerManual
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			if (pipeline.Guard{Env: cfg.Environment}).Production() {
				if err := guard(cfg.Environment, "run", opts.reason, "", false); err != nil {
					return err
				}
			}
			_, err = a.runPipeline(cmd.Context(), cfg, opts)
			return err
		},
	}
	cmd.Flags().StringSliceVar(&opts.entities, "entity", nil, "entity to run (repeatable; default all): "+strings.Join(schemas.Names(), ", "))
	cmd.Flags().StringVar(&opts.reason, "reason", "", "why this run was started, recorded in the ledger")
	return cmd
}

// runPipeline performs one run and prints its summary. Its error carries
// the exit code.
func (a *app) runPipeline(ctx context.Context, cfg config.Config, opts runOptions) (pipeline.Report, error) {
	if ownProcess && cfg.Run.MemoryLimitMiB > 0 && lookupEnv(a.env, "GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(cfg.Run.MemoryLimitMiB) << 20)
	}
	contracts, err := selectContracts(opts.entities)
	if err != nil {
		return pipeline.Report{}, withCode(exitUsage, err)
	}
	wh, err := openWarehouse(ctx, cfg)
	if err != nil {
		return pipeline.Report{}, err
	}
	defer wh.Close()
	var sources map[string]*pgxpool.Pool
	if !opts.restore {
		if sources, err = openSources(ctx, cfg, contracts); err != nil {
			return pipeline.Report{}, err
		}
	}
	defer func() {
		for _, p := range sources {
			p.Close()
		}
	}()

	runner := a.newRunner(cfg, wh)
	run := &pipeline.Run{
		Env: cfg.Environment, Trigger: opts.trigger, Mode: "full",
		Entities: entityNames(contracts), Reason: opts.reason, StartedBy: startedBy(),
	}
	views, err := nssql.Views()
	if err != nil {
		return pipeline.Report{}, err
	}
	bq, closeBQ, err := openBigQuery(ctx, cfg)
	if err != nil {
		return pipeline.Report{}, err
	}
	defer closeBQ()
	deps := steps.Deps{Sources: sources, Warehouse: wh, Schema: cfg.Warehouse.Schema, SpoolDir: cfg.Spool.Dir, BatchSize: cfg.Run.BatchSize, ReconcileSQL: cfg.Run.Reconcile == "sql", Views: views, BigQuery: bq}
	rep, err := runner.Do(ctx, run, cfg.Run.Deadline, func(ctx context.Context, run *pipeline.Run) ([]pipeline.Task, func(), error) {
		if opts.restore {
			var tasks []pipeline.Task
			for _, c := range contracts {
				tasks = append(tasks, steps.RestoreTask(run.ID, deps, c))
			}
			return tasks, func() {}, nil
		}
		plan, err := steps.NewPlan(ctx, run.ID, deps, contracts)
		if err != nil {
			return nil, nil, err
		}
		run.SourceVersions = plan.SourceVersions
		for _, f := range plan.Findings {
			a.log.Warn("preflight: source changed, run continues", "finding", f.String())
		}
		return plan.Tasks, func() { plan.Close(context.WithoutCancel(ctx)) }, nil
	})
	if errors.Is(err, pipeline.ErrLocked) {
		return rep, withCode(exitLocked, err)
	}
	if err != nil {
		return rep, err
	}
	if bq != nil {
		// The run's outcome is decided and recorded; the BigQuery copy of
		// the ledger is a report of it, so its failure is only logged.
		lctx := context.WithoutCancel(ctx)
		if err := loadbigquery.LoadLedger(lctx, *bq, wh, rep.Run.StartedAt, cfg.Spool.Dir); err != nil {
			a.log.Error("could not load the run ledger into BigQuery", "run", rep.Run.ID, "err", err)
		}
	}
	for _, id := range rep.Abandoned {
		fmt.Fprintf(a.stderr, "note: run %d had died without finishing; it is now marked abandoned\n", id)
	}
	printReport(a, rep)
	if bq == nil {
		fmt.Fprintf(a.stdout, "BigQuery: off (no bigquery.project configured); the Parquet files are in %s\n", spoolRunDir(cfg, rep.Run.ID))
	} else {
		fmt.Fprintf(a.stdout, "BigQuery: dataset %s.%s\n", cfg.BigQuery.Project, cfg.BigQuery.Dataset)
	}
	switch rep.Status {
	case pipeline.StatusSucceeded:
		return rep, nil
	case pipeline.StatusRefused:
		return rep, withCode(exitRefused, fmt.Errorf("run %d refused: %w", rep.Run.ID, rep.Err))
	case pipeline.StatusAborted:
		return rep, withCode(exitAborted, fmt.Errorf("run %d aborted: %w", rep.Run.ID, rep.Err))
	default:
		return rep, withCode(exitFailed, fmt.Errorf("run %d failed: %w", rep.Run.ID, rep.Err))
	}
}

func printReport(a *app, rep pipeline.Report) {
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENTITY\tSTATUS\tROWS\tSTEPS\tRETRIES\tSECONDS")
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.1f\n", r.Entity, r.Status, r.Rows, r.Steps, r.Attempts-r.Steps, r.Duration.Seconds())
	}
	_ = tw.Flush()
	fmt.Fprintf(a.stdout, "run %d %s in %s\n", rep.Run.ID, rep.Status, rep.Elapsed.Round(10*time.Millisecond))
}

// newRunner is a runner configured for the warehouse.
func (a *app) newRunner(cfg config.Config, wh *pgxpool.Pool) *pipeline.Runner {
	return &pipeline.Runner{
		Ledger:        pipeline.NewLedger(wh),
		Parallelism:   cfg.Run.Parallelism,
		Log:           a.log,
		Notifiers:     notifiers(cfg, a.log),
		NotifyBackoff: 2 * time.Second,
		Observer:      a.observer,
		Retry: pipeline.RetryPolicy{
			MaxAttempts: cfg.Run.MaxAttempts, BaseDelay: cfg.Run.RetryBase,
			MaxDelay: cfg.Run.RetryMax, AttemptTimeout: cfg.Run.AttemptTimeout,
		},
	}
}

// notifiers are the log, and each webhook the environment names.
func notifiers(cfg config.Config, log *slog.Logger) []pipeline.Notifier {
	hc := &http.Client{Timeout: 10 * time.Second}
	out := []pipeline.Notifier{&notify.Log{Logger: log}}
	if u := cfg.Notify.SlackURL; u != "" {
		out = append(out, &notify.Slack{URL: u, Client: hc})
	}
	if u := cfg.Notify.TeamsURL; u != "" {
		out = append(out, &notify.Teams{URL: u, Client: hc})
	}
	if u := cfg.Notify.WebhookURL; u != "" {
		out = append(out, &notify.Webhook{URL: u, Client: hc})
	}
	return out
}

func spoolRunDir(cfg config.Config, runID int64) string {
	dir, err := filepath.Abs(filepath.Dir(spool.Path(cfg.Spool.Dir, runID, "x")))
	if err != nil {
		return cfg.Spool.Dir
	}
	return dir
}

func selectContracts(entities []string) ([]*schemas.Contract, error) {
	if len(entities) == 0 {
		return schemas.All(), nil
	}
	var out []*schemas.Contract
	for _, name := range entities {
		c, err := schemas.Lookup(name)
		if err != nil {
			return nil, fmt.Errorf("--entity: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}

func entityNames(cs []*schemas.Contract) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Entity
	}
	return out
}

// warehouse loads the configuration and opens the warehouse, as most
// commands begin.
func (a *app) warehouse(ctx context.Context) (config.Config, *pgxpool.Pool, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return cfg, nil, err
	}
	wh, err := openWarehouse(ctx, cfg)
	return cfg, wh, err
}

// openWarehouse connects to the warehouse and checks that its schema is the
// one this binary was built for.
func openWarehouse(ctx context.Context, cfg config.Config) (*pgxpool.Pool, error) {
	// The run lock, the heartbeat and ledger writes, and per entity a load
	// and its clean-up.
	wh, err := cfg.Warehouse.Open(ctx, "warehouse.url", false, 2*cfg.Run.Parallelism+3)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	want, err := nssql.LatestVersion()
	if err != nil {
		wh.Close()
		return nil, err
	}
	var have int64
	var dirty bool
	err = wh.QueryRow(ctx, "SELECT version, dirty FROM public."+nssql.MigrationsTable).Scan(&have, &dirty)
	if err != nil || dirty || uint(have) != want {
		wh.Close()
		state := fmt.Sprintf("at version %d", have)
		switch {
		case err != nil:
			state = "not migrated"
		case dirty:
			state += " (dirty: a migration failed halfway)"
		}
		return nil, withCode(exitUsage, &config.Error{Setting: "warehouse.url",
			Problem: fmt.Sprintf("the warehouse schema is %s; this nightshift needs version %d: run `nightshift migrate up`", state, want)})
	}
	return wh, nil
}

func openSources(ctx context.Context, cfg config.Config, contracts []*schemas.Contract) (map[string]*pgxpool.Pool, error) {
	pools := map[string]*pgxpool.Pool{}
	for _, c := range contracts {
		if _, ok := pools[c.Source]; ok {
			continue
		}
		db, ok := cfg.Sources[c.Source]
		if !ok {
			closeAll(pools)
			return nil, withCode(exitUsage, &config.Error{Setting: "sources." + c.Source + ".url",
				Problem: fmt.Sprintf("is required by entity %s (set it in the config file or NIGHTSHIFT_SOURCE_%s_URL)", c.Entity, strings.ToUpper(c.Source))})
		}
		// The snapshot's own connection, and one per entity in flight.
		p, err := db.Open(ctx, "sources."+c.Source+".url", true, cfg.Run.Parallelism+2)
		if err != nil {
			closeAll(pools)
			return nil, withCode(exitUsage, err)
		}
		pools[c.Source] = p
	}
	return pools, nil
}

func closeAll(pools map[string]*pgxpool.Pool) {
	for _, p := range pools {
		p.Close()
	}
}

// startedBy names who started a run, for the ledger: user@host.
func startedBy() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return name + "@" + host
}
