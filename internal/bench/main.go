// Command bench measures nightshift against the raw COPY limit, in one run
// on one machine. For every entity the baseline is PostgreSQL's own
// COPY (the contract's SELECT) TO STDOUT (FORMAT binary) piped into COPY …
// FROM STDIN (FORMAT binary) of a same-shaped warehouse table. Then:
//
//   - each entity alone, `nightshift run --entity NAME`, timed from its
//     ledger (first step's start to last step's end), so that it is
//     compared with its baseline on equal terms: nothing else running;
//   - a full `nightshift run`, every entity, timed as a whole against the
//     baselines one after another;
//   - a whole-entity `nightshift backfill` of trainees.
//
// Each nightshift process runs under GNU time for its peak RSS. `make
// bench` runs it; the sources must be seeded and the warehouse migrated.
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

// The goals of issue 7, checked at the end of the report.
const (
	goalRatio       = 0.60
	goalRSSMiB      = 256
	goalBackfillSec = 30
	// minRowsForRatio leaves out of the ratio goal the entities so small
	// that a run's fixed costs (a snapshot, a staging table, a swap), not
	// its throughput, decide their time.
	minRowsForRatio = 10_000
)

type result struct {
	Entity       string  `json:"entity"`
	Rows         int64   `json:"rows"`
	BaselineSecs float64 `json:"baseline_seconds"`
	BaselineRate float64 `json:"baseline_rows_per_second"`
	RunSecs      float64 `json:"nightshift_seconds"`
	RunRate      float64 `json:"nightshift_rows_per_second"`
	Ratio        float64 `json:"ratio_to_baseline"`
	PeakRSSMB    float64 `json:"peak_rss_mb"`
	ParquetMB    float64 `json:"parquet_mb"`
}

type report struct {
	Scale        string   `json:"scale"`
	Results      []result `json:"entities"`
	BaselineSecs float64  `json:"baseline_seconds"`
	// The full run of every entity.
	RunSecs   float64 `json:"run_seconds"`
	RunRSSMB  float64 `json:"run_peak_rss_mb"`
	ParquetMB float64 `json:"parquet_mb"`
	// The whole-entity backfill.
	BackfillEntity string  `json:"backfill_entity"`
	BackfillRows   int64   `json:"backfill_rows"`
	BackfillSecs   float64 `json:"backfill_seconds"`
	BackfillRSSMB  float64 `json:"backfill_peak_rss_mb"`
	// PeakRSSMB is the most any nightshift process held.
	PeakRSSMB float64 `json:"peak_rss_mb"`
	// Versioning is the cost of keeping VersionsEntity's versions, in
	// runs of that entity alone where none, 1 % and all of its rows
	// changed.
	VersionsEntity string       `json:"versions_entity"`
	Versioning     []versioning `json:"versioning"`
}

// versioning is one run of the versions entity: its time, and the part of
// it spent finding what changed and writing the versions (the publish
// step's own account: diff and apply).
type versioning struct {
	ChangedPct  float64 `json:"changed_percent"`
	Changed     int64   `json:"rows_changed"`
	RunSecs     float64 `json:"run_seconds"`
	VersionSecs float64 `json:"versioning_seconds"`
	// Overhead is what versioning adds to the rest of the run.
	Overhead float64 `json:"overhead"`
}

func main() {
	server := flag.String("server", "", "postgres:// URL of the server holding the databases")
	config := flag.String("config", "", "nightshift config file for the run")
	bin := flag.String("bin", "bin/nightshift", "nightshift binary")
	out := flag.String("json", "bench-results.json", "where to write the figures as JSON")
	scale := flag.String("scale", "", "the seed scale, for the report")
	backfill := flag.String("backfill", "trainees", "the entity to backfill whole")
	versioned := flag.String("versions", "declarations", "the entity whose versioning cost is measured (its source table needs updated_at)")
	flag.Parse()
	ctx := context.Background()
	dbURL := func(name string) string { return strings.Replace(*server, "/postgres?", "/"+name+"?", 1) }
	sources := map[string]string{"register": dbURL("register"), "rect": dbURL("rect")}
	wh, err := pgx.Connect(ctx, dbURL("warehouse"))
	if err != nil {
		log.Fatalf("warehouse: %v", err)
	}
	// The process ends with log.Fatal or os.Exit, which close it anyway.
	nightshift := func(args ...string) (run, error) {
		return timed(ctx, wh, *bin, append([]string{"--config", *config}, args...)...)
	}

	rep := report{Scale: *scale, BackfillEntity: *backfill, VersionsEntity: *versioned}
	for _, c := range schemas.All() {
		r, err := baseline(ctx, sources[c.Source], dbURL("warehouse"), c)
		if err != nil {
			log.Fatalf("baseline %s: %v", c.Entity, err)
		}
		rep.BaselineSecs += r.BaselineSecs
		rep.Results = append(rep.Results, r)
		log.Printf("baseline %-36s %9d rows %7.2fs %9.0f rows/s", c.Entity, r.Rows, r.BaselineSecs, r.BaselineRate)
	}

	for i := range rep.Results {
		r := &rep.Results[i]
		got, err := nightshift("run", "--entity", r.Entity, "--reason", "make bench")
		if err != nil {
			log.Fatalf("run %s: %v", r.Entity, err)
		}
		e := got.entities[r.Entity]
		r.RunSecs, r.ParquetMB, r.PeakRSSMB = e.secs, e.mb, got.rssMB
		if e.secs > 0 {
			r.RunRate = float64(r.Rows) / e.secs
			r.Ratio = r.RunRate / r.BaselineRate
		}
		rep.PeakRSSMB = max(rep.PeakRSSMB, got.rssMB)
		log.Printf("alone    %-36s %9d rows %7.2fs %9.0f rows/s  ratio %.2f  rss %.0f MB", r.Entity, r.Rows, r.RunSecs, r.RunRate, r.Ratio, r.PeakRSSMB)
	}

	full, err := nightshift("run", "--reason", "make bench")
	if err != nil {
		log.Fatalf("full run: %v", err)
	}
	rep.RunSecs, rep.RunRSSMB = full.wallSecs, full.rssMB
	for _, e := range full.entities {
		rep.ParquetMB += e.mb
	}
	rep.PeakRSSMB = max(rep.PeakRSSMB, full.rssMB)
	log.Printf("full run %.1fs, rss %.0f MB", full.wallSecs, full.rssMB)

	bf, err := nightshift("backfill", "--entity", *backfill, "--reason", "make bench")
	if err != nil {
		log.Fatalf("backfill: %v", err)
	}
	rep.BackfillRows, rep.BackfillSecs, rep.BackfillRSSMB = bf.rows, bf.wallSecs, bf.rssMB
	rep.PeakRSSMB = max(rep.PeakRSSMB, bf.rssMB)
	log.Printf("backfill %s: %d rows %.1fs, rss %.0f MB", *backfill, bf.rows, bf.wallSecs, bf.rssMB)

	for _, pct := range []float64{0, 1, 100} {
		v, err := measureVersioning(ctx, wh, sources, *versioned, pct, func() (run, error) {
			return nightshift("run", "--entity", *versioned, "--reason", "make bench")
		})
		if err != nil {
			log.Fatalf("versioning %s at %.0f %%: %v", *versioned, pct, err)
		}
		rep.Versioning = append(rep.Versioning, v)
		log.Printf("versions %s, %3.0f %% changed: run %.1fs, versioning %.1fs (overhead %.1f %%)", *versioned, pct, v.RunSecs, v.VersionSecs, 100*v.Overhead)
	}

	printMarkdown(os.Stdout, rep)
	data, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(*out, data, 0o600); err != nil {
		log.Fatal(err)
	}
}

// run is what one nightshift command did.
type run struct {
	wallSecs, rssMB float64
	rows            int64
	entities        map[string]entityFigures
}

type entityFigures struct {
	secs, mb float64
}

// timed runs a nightshift command under GNU time and reads the run it made
// from the ledger.
func timed(ctx context.Context, wh *pgx.Conn, bin string, args ...string) (run, error) {
	var r run
	cmd := exec.CommandContext(ctx, "/usr/bin/time", append([]string{"-v", bin}, args...)...) //nolint:gosec // the binary being measured
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return r, err
	}
	if err := cmd.Start(); err != nil {
		return r, err
	}
	var tail []string
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "Maximum resident set size (kbytes): "); ok {
			kb, _ := strconv.ParseFloat(v, 64)
			r.rssMB = kb / 1024
		}
		if v, ok := strings.CutPrefix(line, "Elapsed (wall clock) time (h:mm:ss or m:ss): "); ok {
			r.wallSecs = wallSeconds(v)
		}
		tail = append(tail[max(0, len(tail)-20):], line)
	}
	if err := cmd.Wait(); err != nil {
		return r, fmt.Errorf("%w\n%s", err, strings.Join(tail, "\n"))
	}
	r.entities = map[string]entityFigures{}
	rows, err := wh.Query(ctx, `
		SELECT entity,
		       -- What the baseline does, and more: read, load, (backfill)
		       -- chunks, publish with the versions.
		       coalesce(extract(epoch FROM max(finished_at) - min(started_at)), 0)::float8,
		       coalesce(sum(bytes) FILTER (WHERE step = 'extract'), 0)::float8 / 1048576,
		       coalesce(sum(rows) FILTER (WHERE step NOT IN ('load-warehouse', 'load-bigquery')), 0)::int8
		FROM nightshift.step_runs
		WHERE run_id = (SELECT max(id) FROM nightshift.runs) AND status = 'succeeded'
		GROUP BY entity`)
	if err != nil {
		return r, err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var e entityFigures
		var n int64
		if err := rows.Scan(&name, &e.secs, &e.mb, &n); err != nil {
			return r, err
		}
		r.entities[name] = e
		r.rows += n
	}
	return r, rows.Err()
}

// measureVersioning changes pct % of the entity's source rows (their
// updated_at moves by a second: every row so touched is a changed row),
// runs the entity alone and reads from the ledger how long the run took
// and how much of it the versions did.
func measureVersioning(ctx context.Context, wh *pgx.Conn, sources map[string]string, entity string, pct float64, runIt func() (run, error)) (versioning, error) {
	v := versioning{ChangedPct: pct}
	c, err := schemas.Lookup(entity)
	if err != nil {
		return v, err
	}
	if c.Table == "" {
		return v, fmt.Errorf("%s is not an entity read from a table", entity)
	}
	if pct > 0 {
		src, err := pgx.Connect(ctx, sources[c.Source])
		if err != nil {
			return v, err
		}
		defer src.Close(ctx)
		// Every nth row by id, n = 100/pct: spread through the table.
		tag, err := src.Exec(ctx, fmt.Sprintf("UPDATE %s SET updated_at = updated_at + interval '1 second' WHERE id %% %d = 0",
			pgx.Identifier{"public", c.Table}.Sanitize(), int(100/pct)))
		if err != nil {
			return v, err
		}
		v.Changed = tag.RowsAffected()
	}
	got, err := runIt()
	if err != nil {
		return v, err
	}
	v.RunSecs = got.wallSecs
	err = wh.QueryRow(ctx, `
		SELECT coalesce((detail->'versions'->$1->'diff'->>'seconds')::float8, 0) + coalesce((detail->'versions'->$1->'applied'->>'seconds')::float8, 0)
		FROM nightshift.step_runs
		WHERE run_id = (SELECT max(id) FROM nightshift.runs) AND step = 'publish' AND status = 'succeeded'`, entity).Scan(&v.VersionSecs)
	if err != nil {
		return v, fmt.Errorf("the publish's account of the versions: %w", err)
	}
	if rest := v.RunSecs - v.VersionSecs; rest > 0 {
		v.Overhead = v.VersionSecs / rest
	}
	return v, nil
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
		// Buffered as a shell pipe would be: CopyTo writes a row at a
		// time, and an unbuffered pipe would make CopyFrom send each row
		// in a message (and a system call) of its own, a third of the speed.
		bw := bufio.NewWriterSize(pw, 256<<10)
		_, err := src.PgConn().CopyTo(ctx, bw, "COPY ("+c.SelectSQL()+") TO STDOUT (FORMAT binary)")
		if err == nil {
			err = bw.Flush()
		}
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
	fmt.Fprintln(w, "Each entity run alone (`nightshift run --entity NAME`) against its baseline, a binary COPY pipe from source to warehouse:")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| entity | rows | baseline s | baseline rows/s | nightshift s | nightshift rows/s | ratio | peak RSS MiB | Parquet MiB |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	var below []string
	counted := 0
	for _, r := range rep.Results {
		fmt.Fprintf(w, "| %s | %d | %.2f | %.0f | %.2f | %.0f | %.2f | %.0f | %.1f |\n",
			r.Entity, r.Rows, r.BaselineSecs, r.BaselineRate, r.RunSecs, r.RunRate, r.Ratio, r.PeakRSSMB, r.ParquetMB)
		if r.Rows >= minRowsForRatio {
			counted++
			if r.Ratio < goalRatio {
				below = append(below, fmt.Sprintf("%s %.2f", r.Entity, r.Ratio))
			}
		}
	}
	fmt.Fprintf(w, "\nFull run, every entity, %s at a time: %.1f s, against %.1f s for the baselines one after another (ratio %.2f); peak RSS %.0f MiB; Parquet written %.1f MiB.\n",
		"run.parallelism", rep.RunSecs, rep.BaselineSecs, rep.BaselineSecs/rep.RunSecs, rep.RunRSSMB, rep.ParquetMB)
	fmt.Fprintf(w, "Backfill of all of %s (%d rows): %.1f s, peak RSS %.0f MiB.\n\n", rep.BackfillEntity, rep.BackfillRows, rep.BackfillSecs, rep.BackfillRSSMB)
	if len(rep.Versioning) > 0 {
		fmt.Fprintf(w, "Versions of %s, run alone (versioning: the publish's diff and writing of versions; overhead: versioning over the rest of the run):\n\n", rep.VersionsEntity)
		fmt.Fprintln(w, "| rows changed | run s | versioning s | overhead |")
		fmt.Fprintln(w, "|---:|---:|---:|---:|")
		for _, v := range rep.Versioning {
			fmt.Fprintf(w, "| %.0f %% (%d) | %.1f | %.1f | %.1f %% |\n", v.ChangedPct, v.Changed, v.RunSecs, v.VersionSecs, 100*v.Overhead)
		}
		fmt.Fprintln(w)
	}
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	fmt.Fprintf(w, "Goals:\n- ratio ≥ %.2f for each entity of %d rows or more: %s (%d entities", goalRatio, minRowsForRatio, verdict(len(below) == 0), counted)
	if len(below) > 0 {
		fmt.Fprintf(w, "; below: %s", strings.Join(below, ", "))
	}
	fmt.Fprintf(w, ")\n- peak RSS ≤ %d MiB in every run: %s (%.0f MiB)\n", goalRSSMiB, verdict(rep.PeakRSSMB <= goalRSSMiB), rep.PeakRSSMB)
	fmt.Fprintf(w, "- whole-entity backfill under %d s: %s (%.1f s)\n", goalBackfillSec, verdict(rep.BackfillSecs < goalBackfillSec), rep.BackfillSecs)
}
