package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/user"
	"runtime/debug"
	"slices"
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
	"github.com/dfe-nightshift/nightshift/steps/retention"
)

func (a *app) runCommand() *cobra.Command {
	var entities, acceptLoss []string
	var reason, confirm string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the pipeline once: extract every entity and publish it to the warehouse and BigQuery",
		Long: `Run the pipeline once, now. For each entity (all of them unless --entity is given):
extract it from its source at one consistent, read-only snapshot into a Parquet spool
file and, at the same time, into a staging table; check the staging table against the
source (rows and digest) and build its primary key. Only when every entity is staged
does one warehouse transaction swap them all in (keeping each old table as
<entity>__previous), rebuild the views and record the publication; then BigQuery is
loaded. A run that fails, is aborted or hits its deadline before that transaction
commits leaves the warehouse and BigQuery exactly as they were.

Entities run in parallel (run.parallelism); a failed step is retried up to
run.max_attempts times when the error is transient. The run is recorded in
nightshift.runs and nightshift.step_runs; see "nightshift runs".

Before the publish, each entity is compared with its published table (loss
settings): if too many rows disappeared, or the source went back in time (a
point-in-time restore), the run is refused and nothing is published. If the
change is real, --accept-loss ENTITY --reason TEXT publishes it (in production
also --confirm <env>).` + runHelp,
		Example: `  nightshift run
  nightshift run --entity trainees --reason "reload after the provider fix"
  nightshift run --accept-loss trainees --reason "duplicates removed in the source"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("entity") && len(entities) == 0 {
				return withCode(exitUsage, errors.New("--entity is empty: name an entity, or leave the flag out to run them all"))
			}
			if cmd.Flags().Changed("accept-loss") && len(acceptLoss) == 0 {
				return withCode(exitUsage, errors.New("--accept-loss is empty: name the entity whose loss is real"))
			}
			_, err := a.execute(cmd.Context(), nil, execution{
				spec:    pipeline.Spec{Kind: pipeline.KindFull, Entities: entities, AcceptLoss: acceptLoss},
				trigger: pipeline.TriggerManual, reason: reason, confirm: confirm,
			})
			return err
		},
	}
	cmd.Flags().StringSliceVar(&entities, "entity", nil, "entity to run (repeatable; default all): "+strings.Join(schemas.Names(), ", "))
	cmd.Flags().StringVar(&reason, "reason", "", "why this run was started, recorded in the ledger (required in production)")
	cmd.Flags().StringSliceVar(&acceptLoss, "accept-loss", nil, "entity whose lost rows are real: publish it despite the loss check (repeatable; needs --reason)")
	cmd.Flags().StringVar(&confirm, "confirm", "", "the environment's name: required with --accept-loss in production")
	return cmd
}

// execution is a run someone or something asked for.
type execution struct {
	spec    pipeline.Spec
	trigger pipeline.Trigger
	reason  string
	confirm string
	retryOf int64
	// progress, when set, shows a backfill's progress.
	progress *progressBar
}

// execute performs one run of x.spec and prints its summary. Its error
// carries the exit code. cfg is loaded when nil.
func (a *app) execute(ctx context.Context, cfg *config.Config, x execution) (pipeline.Report, error) {
	if cfg == nil {
		c, err := a.loadConfig()
		if err != nil {
			return pipeline.Report{}, err
		}
		cfg = &c
	}
	if ownProcess && cfg.Run.MemoryLimitMiB > 0 && lookupEnv(a.env, "GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(cfg.Run.MemoryLimitMiB) << 20)
	}
	contracts, err := steps.Contracts(x.spec)
	if err != nil {
		return pipeline.Report{}, withCode(exitUsage, fmt.Errorf("--entity: %w", err))
	}
	x.spec.Entities = entityNames(contracts)
	for _, name := range x.spec.AcceptLoss {
		if !slices.Contains(x.spec.Entities, name) {
			return pipeline.Report{}, withCode(exitUsage, fmt.Errorf("--accept-loss: %q is not an entity of this run; they are %s", name, strings.Join(x.spec.Entities, ", ")))
		}
	}
	if err := guard(*cfg, x.trigger, x.spec, x.reason, x.confirm); err != nil {
		return pipeline.Report{}, err
	}
	run := &pipeline.Run{
		Env: cfg.Environment, Production: cfg.Production(), Trigger: x.trigger, Spec: x.spec, Entities: x.spec.Entities,
		Reason: x.reason, StartedBy: startedBy(), RetryOf: x.retryOf,
	}
	wh, err := openWarehouse(ctx, *cfg)
	var unreachable *config.UnreachableError
	if errors.As(err, &unreachable) {
		return pipeline.Report{}, a.unrecorded(ctx, *cfg, run, err)
	}
	if err != nil {
		return pipeline.Report{}, err
	}
	defer wh.Close()
	if x.spec.ReadsSources() {
		if err := sourcesConfigured(*cfg, contracts); err != nil {
			return pipeline.Report{}, err
		}
	}
	if x.spec.RestoreRun != 0 {
		// A run that does not exist is a usage error here as in every
		// command; one whose version is not kept fails the restore.
		if _, err := pipeline.NewLedger(wh).Get(ctx, x.spec.RestoreRun); errors.Is(err, pipeline.ErrNoSuchRun) {
			return pipeline.Report{}, withCode(exitUsage, fmt.Errorf("--run: %w", err))
		}
	}
	views, err := nssql.Views()
	if err != nil {
		return pipeline.Report{}, err
	}
	bq, closeBQ, err := openBigQuery(ctx, *cfg)
	if err != nil {
		return pipeline.Report{}, err
	}
	defer closeBQ()
	runner := a.newRunner(*cfg, wh)
	// On a terminal, a live view: the backfill's rows, or every entity's
	// state; log lines print above it.
	var view interface {
		Logger() *slog.Logger
		Finish()
	}
	switch {
	case x.progress != nil:
		view = x.progress
	case a.stderrTerminal():
		estimate, _ := runner.Ledger.LastDuration(ctx, x.spec.Mode(), x.spec.Entities)
		v := newRunView(a.stderr, len(x.spec.Entities), estimate)
		runner.Progress, view = v, v
	}
	if view != nil {
		runner.Log = view.Logger()
	}
	engine := &steps.Engine{
		Deps: steps.Deps{Warehouse: wh, Schema: cfg.Warehouse.Schema, SpoolDir: cfg.Spool.Dir, BatchSize: cfg.Run.BatchSize,
			ReconcileSQL: cfg.Run.Reconcile == "sql", Views: views, BigQuery: bq, LockTimeout: cfg.Run.LockTimeout,
			Loss: lossPolicy(cfg.Loss)},
		Ledger: runner.Ledger,
	}
	if x.progress != nil {
		engine.Progress = x.progress
	}
	spool := &retention.Spool{Dir: cfg.Spool.Dir, Policy: retention.Policy{KeepRuns: cfg.Spool.KeepRuns, MaxAge: cfg.Spool.MaxAge}, DB: wh}
	// Sources are opened inside the run, so that one that cannot be
	// reached fails a recorded, notified run rather than nothing at all;
	// so is the spool's room checked (a failed run, exit 1).
	planner := func(ctx context.Context, run *pipeline.Run) (*pipeline.Plan, error) {
		if x.spec.ReadsSources() {
			if err := spool.EnsureRoom(ctx, x.spec.Entities); err != nil {
				return nil, err
			}
			sources, err := openSources(ctx, *cfg, contracts)
			if err != nil {
				return nil, err
			}
			engine.Deps.Sources = sources
		}
		p, err := engine.Planner(x.spec)(ctx, run)
		if err != nil {
			closeAll(engine.Deps.Sources)
			return nil, err
		}
		inner := p.Close
		p.Close = func() {
			if inner != nil {
				inner()
			}
			closeAll(engine.Deps.Sources)
		}
		for _, n := range p.Additions.Lines(0) {
			runner.Log.Warn("preflight: " + n)
		}
		for _, n := range p.Notes {
			runner.Log.Warn(n)
		}
		return p, nil
	}
	rep, err := runner.Do(ctx, run, cfg.Run.Deadline, planner)
	if view != nil {
		view.Finish()
	}
	if errors.Is(err, pipeline.ErrLocked) {
		return rep, withCode(exitLocked, err)
	}
	if err != nil {
		return rep, err
	}
	spool.AfterRun(ctx, a.log) // whatever the status; never changes the outcome
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
		fmt.Fprintln(a.stdout, "BigQuery: off (no bigquery.project configured)")
	} else {
		fmt.Fprintf(a.stdout, "BigQuery: dataset %s.%s\n", cfg.BigQuery.Project, cfg.BigQuery.Dataset)
	}
	return rep, exitFor(rep)
}

// exitFor is the exit code of a finished run, as documented.
func exitFor(rep pipeline.Report) error {
	switch rep.Status {
	case pipeline.StatusSucceeded:
		return nil
	case pipeline.StatusRefused:
		return withCode(exitRefused, fmt.Errorf("run %d refused: %w", rep.Run.ID, rep.Err))
	case pipeline.StatusAborted:
		return withCode(exitAborted, fmt.Errorf("run %d aborted: %w", rep.Run.ID, rep.Err))
	default:
		return withCode(exitFailed, fmt.Errorf("run %d failed: %w", rep.Run.ID, rep.Err))
	}
}

// unrecorded reports a run that could not start because the warehouse —
// which holds the ledger — did not answer: the notifiers still hear of it,
// and a line in the spool directory's unrecorded-runs.jsonl keeps it for
// the record. It is a failed run: exit 1.
func (a *app) unrecorded(ctx context.Context, cfg config.Config, run *pipeline.Run, cause error) error {
	runner := &pipeline.Runner{Log: a.log, Notifiers: notifiers(cfg, a.log), NotifyBackoff: 2 * time.Second}
	run.StartedAt = time.Now()
	if err := runner.NotifyUnrecorded(ctx, run, cause, cfg.Spool.Dir); err != nil {
		a.log.Error("could not keep the unrecorded run in the spool directory", "err", err)
	}
	return withCode(exitFailed, fmt.Errorf("the run could not start, and is not in the ledger: %w", cause))
}

// printReport is the end-of-run summary: each entity's outcome and the rows
// it set aside, what the sources hold that the contracts do not know of
// (lists cut as in the notification), and what the run changed.
func printReport(a *app, rep pipeline.Report) {
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENTITY\tSTATUS\tROWS\tQUAR\tSTEPS\tRETRIES\tSECONDS")
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%.1f\n", r.Entity, r.Status, r.Rows, rep.Quarantined[r.Entity], r.Steps, r.Attempts-r.Steps, r.Duration.Seconds())
	}
	_ = tw.Flush()
	fmt.Fprintf(a.stdout, "run %d %s in %s\n", rep.Run.ID, rep.Status, rep.Elapsed.Round(10*time.Millisecond))
	if lines := rep.Run.Additions.Lines(pipeline.NoticeListCap); len(lines) > 0 {
		fmt.Fprintf(a.stdout, "in the sources, not in the contracts (`nightshift runs show %d` lists it all):\n", rep.Run.ID)
		for _, l := range lines {
			fmt.Fprintf(a.stdout, "  %s\n", quoteUserText(l))
		}
	}
	n := pipeline.NotificationOf(&rep.Run, rep)
	fmt.Fprintln(a.stdout, n.Changed)
	if rep.Status != pipeline.StatusSucceeded {
		fmt.Fprintln(a.stdout, n.NextAction)
	}
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

// selectContracts are the contracts of the named entities (all when none).
func selectContracts(entities []string) ([]*schemas.Contract, error) {
	out, err := steps.Contracts(pipeline.Spec{Entities: entities})
	if err != nil {
		return nil, fmt.Errorf("--entity: %w", err)
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
		return nil, withCode(openExit(err), err)
	}
	want, err := nssql.LatestVersion()
	if err != nil {
		wh.Close()
		return nil, err
	}
	var have int64
	var dirty bool
	err = wh.QueryRow(ctx, "SELECT version, dirty FROM public."+nssql.MigrationsTable).Scan(&have, &dirty)
	if err != nil || dirty || have != int64(want) { //nolint:gosec // migration numbers are small
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

// sourcesConfigured checks that every source the contracts read is
// configured: a missing URL is a usage error, found before any run starts.
func sourcesConfigured(cfg config.Config, contracts []*schemas.Contract) error {
	for _, c := range contracts {
		if _, ok := cfg.Sources[c.Source]; !ok {
			return withCode(exitUsage, &config.Error{Setting: "sources." + c.Source + ".url",
				Problem: fmt.Sprintf("is required by entity %s (set it in the config file or NIGHTSHIFT_SOURCE_%s_URL)", c.Entity, strings.ToUpper(c.Source))})
		}
	}
	return nil
}

func openSources(ctx context.Context, cfg config.Config, contracts []*schemas.Contract) (map[string]*pgxpool.Pool, error) {
	if err := sourcesConfigured(cfg, contracts); err != nil {
		return nil, err
	}
	pools := map[string]*pgxpool.Pool{}
	for _, c := range contracts {
		if _, ok := pools[c.Source]; ok {
			continue
		}
		db := cfg.Sources[c.Source]
		// The snapshot's own connection, and one per entity in flight.
		p, err := db.Open(ctx, "sources."+c.Source+".url", true, cfg.Run.Parallelism+2)
		if err != nil {
			closeAll(pools)
			return nil, withCode(openExit(err), err)
		}
		pools[c.Source] = p
	}
	return pools, nil
}

// openExit is the exit code of a database that could not be opened: a
// configuration mistake is a usage error, an outage a failure.
func openExit(err error) int {
	var unreachable *config.UnreachableError
	if errors.As(err, &unreachable) {
		return exitFailed
	}
	return exitUsage
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

// lossPolicy is the publish's loss check as the configuration sets it.
func lossPolicy(l config.Loss) *steps.LossPolicy {
	p := &steps.LossPolicy{Default: l.MaxDeletedFraction, MinDeletedRows: l.MinDeletedRows, MaxDeletedFraction: map[string]float64{}}
	for name := range l.Entities {
		p.MaxDeletedFraction[name] = l.MaxFraction(name)
	}
	return p
}
