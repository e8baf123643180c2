// Command bench measures nightshift against the raw COPY limit, in one run
// on one machine: for every entity, the baseline is PostgreSQL's own
// COPY (the contract's SELECT) TO STDOUT (FORMAT binary) piped into COPY …
// FROM STDIN (FORMAT binary) of a same-shaped warehouse table; then a full
// `nightshift run` is timed entity by entity from its ledger. `make bench`
// runs it; the sources must be seeded and the warehouse migrated.
//
// Figures are ratios to the baseline measured in the same run, because the
// machines are shared and noisy.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dfe-nightshift/nightshift/schemas"
)

type result struct {
	Entity       string  `json:"entity"`
	Rows         int64   `json:"rows"`
	BaselineSecs float64 `json:"baseline_seconds"`
	BaselineRate float64 `json:"baseline_rows_per_second"`
	RunSecs      float64 `json:"nightshift_seconds"`
	RunRate      float64 `json:"nightshift_rows_per_second"`
	Ratio        float64 `json:"ratio_to_baseline"`
	ParquetMB    float64 `json:"parquet_mb"`
}

type report struct {
	Scale        string   `json:"scale"`
	Results      []result `json:"entities"`
	RunSecs      float64  `json:"run_seconds"`
	PeakRSSMB    float64  `json:"peak_rss_mb"`
	ParquetMB    float64  `json:"parquet_mb"`
	BaselineSecs float64  `json:"baseline_seconds"`
}

func main() {
	server := flag.String("server", "", "postgres:// URL of the server holding the databases")
	config := flag.String("config", "", "nightshift config file for the run")
	bin := flag.String("bin", "bin/nightshift", "nightshift binary")
	out := flag.String("json", "bench-results.json", "where to write the figures as JSON")
	scale := flag.String("scale", "", "the seed scale, for the report")
	flag.Parse()
	ctx := context.Background()
	dbURL := func(name string) string { return strings.Replace(*server, "/postgres?", "/"+name+"?", 1) }
	sources := map[string]string{"register": dbURL("register"), "rect": dbURL("rect")}

	rep := report{Scale: *scale}
	for _, c := range schemas.All() {
		r, err := baseline(ctx, sources[c.Source], dbURL("warehouse"), c)
		if err != nil {
			log.Fatalf("baseline %s: %v", c.Entity, err)
		}
		rep.BaselineSecs += r.BaselineSecs
		rep.Results = append(rep.Results, r)
		log.Printf("baseline %-28s %9d rows %7.2fs %9.0f rows/s", c.Entity, r.Rows, r.BaselineSecs, r.BaselineRate)
	}

	// The run, under GNU time for its peak memory.
	cmd := exec.Command("/usr/bin/time", "-v", *bin, "--config", *config, "run", "--reason", "make bench")
	cmd.Stdout = os.Stderr
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		log.Fatalf("run: %v", err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Maximum resident set size (kbytes): "); ok {
			kb, _ := strconv.ParseFloat(v, 64)
			rep.PeakRSSMB = kb / 1024
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Elapsed (wall clock) time (h:mm:ss or m:ss): "); ok {
			rep.RunSecs = wallSeconds(v)
		}
	}
	if err := cmd.Wait(); err != nil {
		log.Fatalf("run: %v", err)
	}

	if err := fromLedger(ctx, dbURL("warehouse"), &rep); err != nil {
		log.Fatalf("ledger: %v", err)
	}
	printMarkdown(os.Stdout, rep)
	data, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		log.Fatal(err)
	}
}

// fromLedger fills in each entity's run figures from the run's step_runs.
func fromLedger(ctx context.Context, url string, rep *report) error {
	wh, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer wh.Close(ctx)
	for i := range rep.Results {
		r := &rep.Results[i]
		var secs float64
		var bytes int64
		err := wh.QueryRow(ctx, `
			SELECT coalesce(extract(epoch FROM max(finished_at) - min(started_at)), 0)::float8,
			       coalesce(sum(bytes) FILTER (WHERE step = 'extract'), 0)::int8
			FROM nightshift.step_runs
			WHERE run_id = (SELECT max(id) FROM nightshift.runs) AND entity = $1 AND status = 'succeeded'`, r.Entity).Scan(&secs, &bytes)
		if err != nil {
			return err
		}
		r.RunSecs, r.ParquetMB = secs, float64(bytes)/(1<<20)
		if secs > 0 {
			r.RunRate = float64(r.Rows) / secs
			r.Ratio = r.RunRate / r.BaselineRate
		}
		rep.ParquetMB += r.ParquetMB
	}
	return nil
}

// baseline pipes the contract's SELECT from the source into a table of the
// same shape in the warehouse, in binary COPY both ways.
func baseline(ctx context.Context, srcURL, whURL string, c *schemas.Contract) (result, error) {
	src, err := pgx.Connect(ctx, srcURL)
	if err != nil {
		return result{}, err
	}
	defer src.Close(ctx)
	wh, err := pgx.Connect(ctx, whURL)
	if err != nil {
		return result{}, err
	}
	defer wh.Close(ctx)
	table := pgx.Identifier{"bench_baseline", c.Entity}.Sanitize()
	if _, err := wh.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS bench_baseline; DROP TABLE IF EXISTS "+table); err != nil {
		return result{}, err
	}
	for _, stmt := range c.CreateTableSQL("bench_baseline", c.Entity) {
		if _, err := wh.Exec(ctx, stmt); err != nil {
			return result{}, err
		}
	}
	pr, pw := io.Pipe()
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		_, err := src.PgConn().CopyTo(ctx, pw, "COPY ("+c.SelectSQL()+") TO STDOUT (FORMAT binary)")
		pw.CloseWithError(err)
		errc <- err
	}()
	tag, err := wh.PgConn().CopyFrom(ctx, pr, "COPY "+table+" ("+c.CopyColumns()+") FROM STDIN (FORMAT binary)")
	if err != nil {
		return result{}, err
	}
	if err := <-errc; err != nil {
		return result{}, err
	}
	secs := time.Since(start).Seconds()
	_, _ = wh.Exec(ctx, "DROP TABLE "+table)
	return result{Entity: c.Entity, Rows: tag.RowsAffected(), BaselineSecs: secs, BaselineRate: float64(tag.RowsAffected()) / secs}, nil
}

func wallSeconds(v string) float64 {
	parts := strings.Split(v, ":")
	var secs float64
	for _, p := range parts {
		f, _ := strconv.ParseFloat(p, 64)
		secs = secs*60 + f
	}
	return secs
}

func printMarkdown(w io.Writer, rep report) {
	fmt.Fprintf(w, "\n## nightshift bench (scale %s)\n\n", rep.Scale)
	fmt.Fprintln(w, "| entity | rows | baseline s | baseline rows/s | nightshift s | nightshift rows/s | ratio | Parquet MB |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rep.Results {
		fmt.Fprintf(w, "| %s | %d | %.2f | %.0f | %.2f | %.0f | %.2f | %.1f |\n",
			r.Entity, r.Rows, r.BaselineSecs, r.BaselineRate, r.RunSecs, r.RunRate, r.Ratio, r.ParquetMB)
	}
	fmt.Fprintf(w, "\nWhole run: %.1f s (baselines in sequence: %.1f s); peak RSS %.0f MB; Parquet written %.1f MB.\n",
		rep.RunSecs, rep.BaselineSecs, rep.PeakRSSMB, rep.ParquetMB)
	fmt.Fprintln(w, "Per-entity nightshift seconds are from the ledger (first attempt start to last step end); entities run in parallel, so they overlap.")
}
