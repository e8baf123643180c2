package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	nssql "github.com/dfe-nightshift/nightshift/sql"
	"github.com/dfe-nightshift/nightshift/steps"
)

type backfillOptions struct {
	entity, from, to, reason, confirm string
	chunkRows                         int64
	dryRun                            bool
}

func (a *app) backfillCommand() *cobra.Command {
	var opts backfillOptions
	cmd := &cobra.Command{
		Use:   "backfill --entity NAME --reason TEXT [--from DATE --to DATE] [--dry-run]",
		Short: "Reload one entity, or a window of it, in checkpointed chunks",
		Long: `Reload one entity in the warehouse: all of it, or only the rows created in
[--from, --to) (created_at). The rows are split by primary key into chunks of about
--chunk-rows rows; each chunk is read at a snapshot of its own through the source's
primary key index, staged, checked against the source (row count and digest), and
swapped in by replacing that chunk's rows in one transaction, so the table is never
left with half a chunk. Other entities' tables are not touched.

Each finished chunk is a checkpoint in the ledger: running the same backfill again
after a failure or an abort resumes with the first unfinished chunk.

--dry-run prints the plan (chunks, estimated rows, target table) and changes nothing.
On a terminal a progress bar shows rows, rows/s and the time left; otherwise each
chunk is logged as it finishes. --reason is required; in production, so is
--confirm production. BigQuery is not backfilled by window: the next full run
reloads it.`,
		Example: `  nightshift backfill --entity declarations --from 2025-09-01 --to 2025-10-01 --reason "lead provider resubmitted September" --dry-run
  nightshift backfill --entity trainees --chunk-rows 50000 --reason "reload after the route fix"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.backfill(cmd.Context(), opts) },
	}
	f := cmd.Flags()
	f.StringVar(&opts.entity, "entity", "", "the entity to reload (required)")
	f.StringVar(&opts.from, "from", "", "first day of the window (YYYY-MM-DD, inclusive); default: the first row")
	f.StringVar(&opts.to, "to", "", "end of the window (YYYY-MM-DD, exclusive); default: after the last row")
	f.Int64Var(&opts.chunkRows, "chunk-rows", steps.DefaultChunkRows, "rows per chunk (about): each chunk is one transaction and one checkpoint")
	f.StringVar(&opts.reason, "reason", "", "why (required; recorded in the ledger and the notification)")
	f.StringVar(&opts.confirm, "confirm", "", "in production: the environment's name, to confirm")
	f.BoolVar(&opts.dryRun, "dry-run", false, "print the plan and change nothing")
	return cmd
}

func (a *app) backfill(ctx context.Context, opts backfillOptions) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	if opts.entity == "" {
		return withCode(exitUsage, errors.New("--entity is required"))
	}
	c, err := schemas.Lookup(opts.entity)
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("--entity: %w", err))
	}
	window, err := parseWindow(opts.from, opts.to)
	if err != nil {
		return withCode(exitUsage, err)
	}
	if !opts.dryRun {
		if err := guard(cfg.Environment, "backfill", opts.reason, opts.confirm, true); err != nil {
			return err
		}
	}
	wh, err := openWarehouse(ctx, cfg)
	if err != nil {
		return err
	}
	defer wh.Close()
	sources, err := openSources(ctx, cfg, []*schemas.Contract{c})
	if err != nil {
		return err
	}
	defer closeAll(sources)
	chunks, err := steps.PlanBackfill(ctx, sources[c.Source], c, window, opts.chunkRows)
	if err != nil {
		return withCode(exitUsage, err)
	}
	mode := fmt.Sprintf("backfill %s %s..%s by %d rows", c.Entity, opts.from, opts.to, opts.chunkRows)
	runner := a.newRunner(cfg, wh)
	resumed, done, err := runner.Ledger.Checkpoints(ctx, mode)
	if err != nil {
		return err
	}
	if opts.dryRun {
		printPlan(a.stdout, cfg.Warehouse.Schema, c, window, chunks, done, resumed)
		return nil
	}
	var total int64
	for _, ch := range chunks {
		if !done[ch.Name()] {
			total += ch.EstimatedRows
		}
	}
	if resumed != 0 {
		fmt.Fprintf(a.stdout, "resuming backfill run %d: %d of %d chunks already done\n", resumed, len(done), len(chunks))
	}
	progress, finish := a.progress(total)
	defer finish()
	views, err := nssql.Views()
	if err != nil {
		return err
	}
	deps := steps.Deps{Sources: sources, Warehouse: wh, Schema: cfg.Warehouse.Schema, SpoolDir: cfg.Spool.Dir, BatchSize: cfg.Run.BatchSize, ReconcileSQL: cfg.Run.Reconcile == "sql", Views: views}
	run := &pipeline.Run{Env: cfg.Environment, Trigger: pipeline.TriggerBackfill, Mode: mode,
		Entities: []string{c.Entity}, Reason: opts.reason, StartedBy: startedBy()}
	rep, err := runner.Do(ctx, run, cfg.Run.Deadline, func(context.Context, *pipeline.Run) ([]pipeline.Task, func(), error) {
		return []pipeline.Task{steps.BackfillTask(run.ID, deps, c, window, chunks, done, progress)}, func() {}, nil
	})
	finish()
	if errors.Is(err, pipeline.ErrLocked) {
		return withCode(exitLocked, err)
	}
	if err != nil {
		return err
	}
	printReport(a, rep)
	switch rep.Status {
	case pipeline.StatusSucceeded:
		return nil
	case pipeline.StatusAborted:
		return withCode(exitAborted, fmt.Errorf("backfill run %d aborted (run the same command to resume): %w", rep.Run.ID, rep.Err))
	default:
		return withCode(exitFailed, fmt.Errorf("backfill run %d failed (run the same command to resume): %w", rep.Run.ID, rep.Err))
	}
}

func parseWindow(from, to string) (steps.Backfill, error) {
	var b steps.Backfill
	var err error
	if (from == "") != (to == "") {
		return b, errors.New("--from and --to go together: give both, or neither for the whole entity")
	}
	if from == "" {
		return b, nil
	}
	if b.From, err = time.Parse(time.DateOnly, from); err != nil {
		return b, fmt.Errorf("--from %q: want YYYY-MM-DD", from)
	}
	if b.To, err = time.Parse(time.DateOnly, to); err != nil {
		return b, fmt.Errorf("--to %q: want YYYY-MM-DD", to)
	}
	return b, nil
}

func printPlan(w io.Writer, schema string, c *schemas.Contract, b steps.Backfill, chunks []steps.Chunk, done map[string]bool, resumed int64) {
	var total int64
	for _, ch := range chunks {
		total += ch.EstimatedRows
	}
	fmt.Fprintf(w, "Backfill plan for %s (dry run: nothing changes)\n", c.Entity)
	fmt.Fprintf(w, "  source:  %s.%s, chunks by %s\n", c.Source, c.Table, c.PrimaryKey[0])
	if b.From.IsZero() {
		fmt.Fprintf(w, "  window:  every row\n")
	} else {
		fmt.Fprintf(w, "  window:  %s from %s (inclusive) to %s (exclusive)\n", steps.BackfillColumn, b.From.Format(time.DateOnly), b.To.Format(time.DateOnly))
	}
	fmt.Fprintf(w, "  target:  %s.%s (rows of each chunk replaced in one transaction)\n", schema, c.Entity)
	fmt.Fprintf(w, "  chunks:  %d, about %d rows\n", len(chunks), total)
	if resumed != 0 {
		fmt.Fprintf(w, "  resumes: run %d, %d chunks already done\n", resumed, len(done))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  CHUNK\tFIRST "+strings.ToUpper(c.PrimaryKey[0])+"\tLAST "+strings.ToUpper(c.PrimaryKey[0])+"\tROWS\tSTATE")
	for i, ch := range chunks {
		state := "to do"
		if done[ch.Name()] {
			state = "done"
		}
		fmt.Fprintf(tw, "  %d\t%d\t%d\t%d\t%s\n", i+1, ch.First, ch.Last, ch.EstimatedRows, state)
	}
	_ = tw.Flush()
}

// progress shows rows done: a progress bar (rows, rows/s, time left) on a
// terminal; elsewhere the runner's log line per chunk says as much.
func (a *app) progress(total int64) (func(int64), func()) {
	f, ok := a.stdout.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, func() {}
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(a.stderr),
		progressbar.OptionSetDescription("backfill"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
	)
	return func(n int64) { _ = bar.Add64(n) }, func() { _ = bar.Finish() }
}
