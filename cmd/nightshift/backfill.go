package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps"
)

type backfillOptions struct {
	entity, from, to, reason, confirm string
	chunkRows                         int64
	dryRun                            bool
	acceptLoss                        []string
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
gathered in a staging table of the backfill's. When every chunk is staged, the entity's
new table — its current rows outside the window plus the backfilled rows — is built,
checked, and swapped in in one transaction, keeping the old table as __previous (so
"nightshift restore" can undo the backfill). Until then, analysts see the table as it
was; other entities' tables are not touched.

Each staged chunk is a checkpoint in the ledger: running the same backfill again, or
"nightshift retry ID", after a failure or an abort resumes with the first chunk not
staged.

--dry-run prints the plan (chunks, estimated rows, target table) and changes nothing.
On a terminal a progress bar shows rows, rows/s and the time left; otherwise each
chunk is logged as it finishes. --reason is required; in production, so is
--confirm production. The publish is checked for lost rows as a run's is (--accept-loss
ENTITY publishes a real loss). Once the warehouse is published, BigQuery's rows of the
window are replaced by one MERGE; the rest of the BigQuery table is not touched.` + runHelp,
		Example: `  nightshift backfill --entity declarations --from 2025-09-01 --to 2025-10-01 --reason "lead provider resubmitted September" --dry-run
  nightshift backfill --entity trainees --chunk-rows 50000 --reason "reload after the route fix"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.backfill(cmd.Context(), opts) },
	}
	f := cmd.Flags()
	f.StringVar(&opts.entity, "entity", "", "the entity to reload (required)")
	f.StringVar(&opts.from, "from", "", "first day of the window (YYYY-MM-DD, inclusive), with --to; neither: every row")
	f.StringVar(&opts.to, "to", "", "end of the window (YYYY-MM-DD, exclusive), with --from; neither: every row")
	f.Int64Var(&opts.chunkRows, "chunk-rows", steps.DefaultChunkRows, "rows per chunk (about): each chunk is one transaction and one checkpoint")
	f.StringVar(&opts.reason, "reason", "", "why (required; recorded in the ledger and the notification)")
	f.StringVar(&opts.confirm, "confirm", "", "in production: the environment's name, to confirm")
	f.BoolVar(&opts.dryRun, "dry-run", false, "print the plan and change nothing")
	f.StringSliceVar(&opts.acceptLoss, "accept-loss", nil, "the entity, when the rows it lost are real: publish it despite the loss check")
	return cmd
}

func (a *app) backfill(ctx context.Context, opts backfillOptions) error {
	if opts.entity == "" {
		return withCode(exitUsage, errors.New("--entity is required"))
	}
	spec := pipeline.Spec{Kind: pipeline.KindBackfill, Entities: []string{opts.entity}, From: opts.from, To: opts.to, ChunkRows: opts.chunkRows, AcceptLoss: opts.acceptLoss}
	if _, err := schemas.Lookup(opts.entity); err != nil {
		return withCode(exitUsage, fmt.Errorf("--entity: %w", err))
	}
	if _, err := steps.Window(spec); err != nil {
		return withCode(exitUsage, err)
	}
	if !opts.dryRun {
		_, err := a.execute(ctx, nil, execution{spec: spec, trigger: pipeline.TriggerBackfill, reason: opts.reason, confirm: opts.confirm, progress: a.progress()})
		if err != nil {
			return fmt.Errorf("%w (run the same command, or `nightshift retry`, to resume)", err)
		}
		return nil
	}
	cfg, wh, err := a.warehouse(ctx)
	if err != nil {
		return err
	}
	defer wh.Close()
	c, _ := schemas.Lookup(opts.entity)
	sources, err := openSources(ctx, cfg, []*schemas.Contract{c})
	if err != nil {
		return err
	}
	defer closeAll(sources)
	engine := &steps.Engine{Deps: steps.Deps{Sources: sources, Warehouse: wh}, Ledger: pipeline.NewLedger(wh)}
	if _, _, err := engine.Preflight(ctx, []*schemas.Contract{c}); err != nil {
		if pipeline.IsRefused(err) {
			return withCode(exitRefused, err)
		}
		return err
	}
	c, window, chunks, done, resumed, err := engine.BackfillChunks(ctx, spec, 0)
	if err != nil {
		return withCode(exitUsage, err)
	}
	printPlan(a.stdout, cfg.Warehouse.Schema, c, window, chunks, done, resumed)
	return nil
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

// progressBar shows a backfill's rows staged on a terminal: rows, rows/s
// and the time left, with log lines printed above it; elsewhere the
// runner's log line per chunk says as much.
type progressBar struct {
	p       *mpb.Progress
	bar     *mpb.Bar
	started time.Time
}

// progress is a progress bar when stderr, where it draws, is a terminal;
// nil otherwise.
func (a *app) progress() *progressBar {
	if !a.stderrTerminal() {
		return nil
	}
	return &progressBar{p: mpb.New(mpb.WithOutput(a.stderr), mpb.WithWidth(40), mpb.WithRefreshRate(200*time.Millisecond), mpb.WithAutoRefresh())}
}

// Start is told the rows the backfill will stage.
func (p *progressBar) Start(total int64) {
	p.started = time.Now()
	p.bar = p.p.AddBar(total,
		mpb.PrependDecorators(decor.Name("backfill", decor.WCSyncSpaceR), decor.CountersNoUnit("%d / %d rows", decor.WCSyncSpaceR)),
		mpb.AppendDecorators(decor.Any(func(s decor.Statistics) string {
			elapsed := time.Since(p.started)
			// A rate over less than a second is noise.
			if elapsed < time.Second || s.Current == 0 {
				return elapsed.Round(time.Second).String()
			}
			rate := float64(s.Current) / elapsed.Seconds()
			left := time.Duration(float64(s.Total-s.Current) / rate * float64(time.Second))
			return fmt.Sprintf("%d rows/s, %s, about %s left", int64(rate), elapsed.Round(time.Second), left.Round(time.Second))
		})),
	)
}

// Add is told the rows of a chunk staged.
func (p *progressBar) Add(rows int64) {
	if p.bar != nil {
		p.bar.IncrInt64(rows)
	}
}

// Logger sends log lines above the bar.
func (p *progressBar) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(p.p, &slog.HandlerOptions{ReplaceAttr: redactAttr}))
}

// Finish ends the bar, so that what follows starts on a line of its own.
func (p *progressBar) Finish() {
	if p.bar != nil && !p.bar.Completed() {
		p.bar.Abort(false)
	}
	p.p.Wait()
}
