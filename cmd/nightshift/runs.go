package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/dfe-nightshift/nightshift/internal/config"
	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
)

// runsWidth is what `nightshift runs` fits in: a terminal beside another.
const runsWidth = 100

func (a *app) runsCommand() *cobra.Command {
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List recent runs from the ledger",
		Long: `List the most recent runs recorded in the warehouse's nightshift.runs table, newest
first, one line each in 100 columns: id, trigger, status, when it started (local time), how
long it took, its scope, the rows it published to the warehouse (- when it published
nothing), the rows it set aside in quarantine, what its preflight found in the sources that
the contracts do not know of (NEW: new source columns, compatible type changes and sources
past the schema version the contracts were checked against; - when it checked no source),
the first step that failed, and the reason. "nightshift runs show ID" tells one run in
full, with the rows each entity quarantined and every addition.

--json prints {"version": 1, "runs": [...]}: each run with its spec (kind, entities,
window), what it read, published and quarantined (in all, and per entity in
rows_quarantined_by_entity), when it reached the warehouse and BigQuery, how each entity
ended, and its additions (each source's version, checked_against and newer; per entity
new_columns and type_changes). Fields are only added within a version.`,
		Example: `  nightshift runs
  nightshift runs --limit 5 --json | jq '.runs[0].status'
  nightshift runs show 42`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 {
				return withCode(exitUsage, fmt.Errorf("--limit must be at least 1"))
			}
			_, ledger, done, err := a.ledger(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			runs, err := ledger.Recent(cmd.Context(), limit)
			if err != nil {
				return err
			}
			if asJSON {
				if runs == nil {
					runs = []pipeline.RunSummary{}
				}
				return writeJSON(a.stdout, map[string]any{"version": pipeline.HistoryVersion, "runs": runs})
			}
			printRuns(a.stdout, runs, len(schemas.All()))
			return nil
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "how many runs to show")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	cmd.AddCommand(a.runsShowCommand())
	return cmd
}

func (a *app) runsShowCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "One run in full: every entity's steps, attempts, rows, snapshot, quarantined rows and error, what the sources hold that the contracts do not, and what to do next",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseRunID(args[0])
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("ID: %w", err))
			}
			_, ledger, done, err := a.ledger(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			run, err := ledger.Summary(cmd.Context(), id)
			if err != nil {
				return withCode(exitUsage, err)
			}
			steps, err := ledger.Steps(cmd.Context(), id)
			if err != nil {
				return err
			}
			if asJSON {
				if steps == nil {
					steps = []pipeline.StepSummary{}
				}
				return writeJSON(a.stdout, map[string]any{"version": pipeline.HistoryVersion, "run": run, "steps": steps, "next_action": run.NextAction()})
			}
			printRun(a.stdout, run, steps)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of tables")
	return cmd
}

// ledger opens the warehouse's ledger and reports, once, any run found
// dead on the way.
func (a *app) ledger(ctx context.Context) (config.Config, *pipeline.Ledger, func(), error) {
	cfg, wh, err := a.warehouse(ctx)
	if err != nil {
		return cfg, nil, nil, err
	}
	ledger := pipeline.NewLedger(wh)
	abandoned, err := ledger.SweepAbandoned(ctx)
	if err != nil {
		wh.Close()
		return cfg, nil, nil, err
	}
	for _, id := range abandoned {
		fmt.Fprintf(a.stderr, "note: run %d had died without finishing; it is now marked abandoned\n", id)
	}
	// Whoever finds a dead run reports it; the ledger makes sure only one
	// process does.
	a.newRunner(cfg, wh).NotifyAbandoned(ctx, abandoned)
	return cfg, ledger, wh.Close, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// runsColumns are the columns of `nightshift runs` and their widths; the
// reason takes what is left of runsWidth.
var runsColumns = []struct {
	title string
	width int
	right bool
}{
	{"ID", 4, true}, {"TRIGGER", 8, false}, {"STATUS", 9, false}, {"STARTED", 11, false}, {"TOOK", 6, true},
	{"SCOPE", 12, false}, {"PUBLISHED", 9, true}, {"QUAR", 5, true}, {"NEW", 3, true}, {"FAILED AT", 13, false}, {"REASON", 0, false},
}

func printRuns(w io.Writer, runs []pipeline.RunSummary, all int) {
	fmt.Fprintln(w, runsLine(func(i int) string { return runsColumns[i].title }))
	for _, r := range runs {
		published := "-"
		if r.PublishedAt != nil {
			published = strconv.FormatInt(r.RowsPublished, 10)
		}
		failed := ""
		if r.FailedEntity != "" {
			failed = r.FailedEntity + "/" + r.FailedStep
		}
		added := "-"
		if r.Additions != nil {
			added = strconv.Itoa(r.Additions.Count())
		}
		cells := []string{
			strconv.FormatInt(r.ID, 10), r.Trigger, r.Status, r.StartedAt.Local().Format("01-02 15:04"),
			pipeline.Took(time.Duration(r.Seconds * float64(time.Second))), r.Scope(all), published,
			strconv.FormatInt(r.Quarantined, 10), added, failed, quoteUserText(r.Reason),
		}
		fmt.Fprintln(w, runsLine(func(i int) string { return cells[i] }))
	}
}

// runsLine lays out one line of cells in the columns, each cut to its
// width with an ellipsis, the last to what is left of runsWidth.
func runsLine(cell func(int) string) string {
	var b strings.Builder
	for i, col := range runsColumns {
		if i > 0 {
			b.WriteByte(' ')
		}
		width := col.width
		if width == 0 {
			width = runsWidth - utf8.RuneCountInString(b.String())
		}
		s := ellipsis(cell(i), width)
		pad := strings.Repeat(" ", width-utf8.RuneCountInString(s))
		if col.right {
			b.WriteString(pad + s)
		} else if i == len(runsColumns)-1 {
			b.WriteString(s)
		} else {
			b.WriteString(s + pad)
		}
	}
	return strings.TrimRight(b.String(), " ")
}

// ellipsis cuts s to width runes, marking the cut.
func ellipsis(s string, width int) string {
	if width <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:width-1]) + "…"
}

func printRun(w io.Writer, r pipeline.RunSummary, steps []pipeline.StepSummary) {
	fmt.Fprintf(w, "run %d: %s %s, %s\n", r.ID, r.Trigger, r.Mode, r.Status)
	fmt.Fprintf(w, "  started   %s by %s, took %s\n", r.StartedAt.Local().Format("2006-01-02 15:04:05 MST"), quoteUserText(r.StartedBy),
		pipeline.Took(time.Duration(r.Seconds*float64(time.Second))))
	if r.Reason != "" {
		fmt.Fprintf(w, "  reason    %s\n", quoteUserText(r.Reason))
	}
	if r.RetryOf != 0 {
		fmt.Fprintf(w, "  retries   run %d\n", r.RetryOf)
	}
	published := "no: the warehouse was not changed"
	if r.PublishedAt != nil {
		published = fmt.Sprintf("%s, %d rows", r.PublishedAt.Local().Format("15:04:05"), r.RowsPublished)
	}
	fmt.Fprintf(w, "  published %s\n", published)
	bigquery := "no"
	if r.BigQueryAt != nil {
		bigquery = r.BigQueryAt.Local().Format("15:04:05")
	}
	fmt.Fprintf(w, "  BigQuery  %s\n", bigquery)
	fmt.Fprintf(w, "  read      %d rows; quarantined %d\n", r.RowsRead, r.Quarantined)
	if r.Additions != nil {
		for i, s := range sourceVersions(r.Additions) {
			label := "sources"
			if i > 0 {
				label = ""
			}
			fmt.Fprintf(w, "  %-9s %s\n", label, s)
		}
	}
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENTITY\tSTEP\tSTATUS\tATTEMPTS\tROWS\tQUAR\tSECONDS\tSNAPSHOT")
	for _, s := range steps {
		rows := "-"
		if s.Rows != nil {
			rows = strconv.FormatInt(*s.Rows, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\t%.1f\t%s\n", s.Entity, s.Step, s.Status, s.Attempts, rows, s.Quarantined, s.Seconds, s.Snapshot)
	}
	_ = tw.Flush()
	if len(r.QuarantinedBy) > 0 {
		fmt.Fprintf(w, "\nquarantined (nightshift.quarantine WHERE run_id = %d):\n", r.ID)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, entity := range slices.Sorted(maps.Keys(r.QuarantinedBy)) {
			fmt.Fprintf(tw, "  %s\t%d rows\n", entity, r.QuarantinedBy[entity])
		}
		_ = tw.Flush()
	}
	if lines := r.Additions.Lines(0); len(lines) > 0 {
		fmt.Fprintln(w, "\nin the sources, not in the contracts (the run went ahead; the contracts should catch up):")
		for _, l := range lines {
			fmt.Fprintf(w, "  %s\n", quoteUserText(l))
		}
	}
	for _, e := range r.Errors(steps) {
		fmt.Fprintf(w, "\n%s: %s", e.Where, terminalSafe(e.Text))
	}
	fmt.Fprintf(w, "\n\nnext: %s\n", r.NextAction())
}

// sourceVersions tells, one line each, every source's schema version and
// how it stands against the upstream schema.rb the contracts were checked
// against.
func sourceVersions(a *pipeline.Additions) []string {
	out := make([]string, len(a.Sources))
	for i, s := range a.Sources {
		version := s.Version
		if version == "" {
			version = "(none)"
		}
		switch {
		case s.Newer:
			out[i] = fmt.Sprintf("%s %s: NEWER than %s, which the contracts were checked against", s.Source, version, s.CheckedAgainst)
		case s.Version == s.CheckedAgainst:
			out[i] = fmt.Sprintf("%s %s: the version the contracts were checked against", s.Source, version)
		case s.CheckedAgainst != "":
			out[i] = fmt.Sprintf("%s %s: older than %s, which the contracts were checked against", s.Source, version, s.CheckedAgainst)
		default:
			out[i] = s.Source + " " + version
		}
		out[i] = quoteUserText(out[i])
	}
	return out
}
