package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/golang-migrate/migrate/v4"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/spf13/cobra"

	"github.com/dfe-nightshift/nightshift/internal/config"
	"github.com/dfe-nightshift/nightshift/internal/seed"
	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	nssql "github.com/dfe-nightshift/nightshift/sql"
	"github.com/dfe-nightshift/nightshift/steps/reconcile"
)

// Demo database names on the demo server.
const (
	demoWarehouse = "warehouse"
)

type demoOptions struct {
	server      string
	scale       float64
	rectScale   float64
	spoolDir    string
	fresh       bool
	confirm     string
	writeConfig string
}

func (a *app) demoCommand() *cobra.Command {
	var opts demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Set up demo sources and a warehouse on a PostgreSQL server, seed them, and run",
		Long: `Show nightshift end to end on a scratch PostgreSQL server (make demo starts one):
create the source databases "register" and "rect" and the warehouse database
"warehouse" when they are missing, fill the sources with synthetic data (once),
migrate the warehouse, run the pipeline, and check that every warehouse table holds
exactly what its source holds (row count and checksum).

Running it again runs the pipeline again on the same data: the tables come out
identical, the previous load is kept as <table>__previous, and "nightshift runs" lists
both runs. --fresh drops and recreates all three databases first: it refuses a
server that is not on this machine unless --confirm names the server's host, and
refuses outright when NIGHTSHIFT_ENV names production.`,
		Example: `  nightshift demo --server postgres://postgres@127.0.0.1:55432/postgres --scale 50`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.demo(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.server, "server", "", "postgres:// URL of any database on the scratch server (required)")
	cmd.Flags().Float64Var(&opts.scale, "scale", 50, "seed size: 1 ≈ 1,000 trainees")
	cmd.Flags().Float64Var(&opts.rectScale, "rect-scale", 0, "seed size of rect alone (default --scale): 3600 ≈ 10M declarations")
	cmd.Flags().StringVar(&opts.spoolDir, "spool", "spool", "directory for the Parquet spool files")
	cmd.Flags().BoolVar(&opts.fresh, "fresh", false, "drop and recreate the demo databases first")
	cmd.Flags().StringVar(&opts.confirm, "confirm", "", "with --fresh on a server that is not on loopback: the server's host, to confirm")
	cmd.Flags().StringVar(&opts.writeConfig, "write-config", "", "also write a config file for these databases, for later commands")
	_ = cmd.MarkFlagRequired("server")
	return cmd
}

func (a *app) demo(ctx context.Context, opts demoOptions) error {
	base, err := url.Parse(opts.server)
	if err != nil || (base.Scheme != "postgres" && base.Scheme != "postgresql") {
		return withCode(exitUsage, fmt.Errorf("--server must be a postgres:// URL"))
	}
	dbURL := func(name string) string {
		u := *base
		u.Path = "/" + name
		return u.String()
	}
	if opts.fresh {
		if err := a.freshAllowed(base, opts.confirm); err != nil {
			return err
		}
	}
	cfg := config.Defaults()
	cfg.Environment = "demo"
	cfg.Warehouse.URL = dbURL(demoWarehouse)
	cfg.Spool.Dir = opts.spoolDir
	for _, s := range seed.Sources {
		cfg.Sources[s] = config.Database{URL: dbURL(s)}
	}
	if err := cfg.Validate(); err != nil {
		return withCode(exitUsage, err)
	}
	a.announce(cfg.Environment, cfg.Production())

	admin, err := pgx.Connect(ctx, opts.server)
	if err != nil {
		return withCode(exitUsage, &config.Error{Setting: "--server", Problem: "cannot connect: " + err.Error()})
	}
	defer admin.Close(context.WithoutCancel(ctx))
	for _, name := range append([]string{demoWarehouse}, seed.Sources...) {
		created, err := ensureDatabase(ctx, admin, name, opts.fresh)
		if err != nil {
			return err
		}
		if created && name != demoWarehouse {
			scale := opts.scale
			if name == "rect" && opts.rectScale > 0 {
				scale = opts.rectScale
			}
			fmt.Fprintf(a.stdout, "created source database %s; seeding at scale %g …\n", name, scale)
			if err := a.seedOne(ctx, cfg.Sources[name], name, seed.Options{Scale: scale, Seed: 1}, true); err != nil {
				return err
			}
		}
	}

	m, err := nssql.Migrator(cfg.Warehouse.URL, "")
	if err != nil {
		return err
	}
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		_, _ = m.Close()
		return fmt.Errorf("migrate warehouse: %w", err)
	}
	if srcErr, dbErr := m.Close(); srcErr != nil || dbErr != nil {
		return fmt.Errorf("migrate warehouse: close: %w", errors.Join(srcErr, dbErr))
	}

	rep, err := a.execute(ctx, &cfg, execution{spec: pipeline.Spec{Kind: pipeline.KindFull}, trigger: pipeline.TriggerManual, reason: "make demo"})
	if err != nil {
		return err
	}
	if err := a.demoVerify(ctx, cfg); err != nil {
		return err
	}
	if opts.writeConfig != "" {
		if err := writeDemoConfig(opts.writeConfig, cfg); err != nil {
			return err
		}
	}
	spool, _ := filepath.Abs(cfg.Spool.Dir)
	fmt.Fprintf(a.stdout, `
Where the data is:
  warehouse    %s   (tables in schema %s, run ledger in schema nightshift)
  spool files  %s/run-%d/
Try:
  psql '%s' -c 'SELECT state_name, training_route_name, count(*) FROM %s.trainees GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 10'
  psql '%s' -c 'SELECT id, trigger, status, started_at FROM nightshift.runs ORDER BY id'
`, cfg.Warehouse.URL, cfg.Warehouse.Schema, spool, rep.Run.ID, cfg.Warehouse.URL, cfg.Warehouse.Schema, cfg.Warehouse.URL)
	return nil
}

// ensureDatabase creates a database when it is missing (or always, with
// fresh) and says whether it did.
func ensureDatabase(ctx context.Context, admin *pgx.Conn, name string, fresh bool) (bool, error) {
	ident := pgx.Identifier{name}.Sanitize()
	if fresh {
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			return false, fmt.Errorf("drop database %s: %w", name, err)
		}
	}
	_, err := admin.Exec(ctx, "CREATE DATABASE "+ident)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == pgerrcode.DuplicateDatabase {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create database %s: %w", name, err)
	}
	return true, nil
}

// demoVerify recomputes, independently of the run, each entity's row count
// and checksum in the source and in the warehouse, and prints them side by
// side.
func (a *app) demoVerify(ctx context.Context, cfg config.Config) error {
	wh, err := openWarehouse(ctx, cfg)
	if err != nil {
		return err
	}
	defer wh.Close()
	contracts := schemas.All()
	sources, err := openSources(ctx, cfg, contracts)
	if err != nil {
		return err
	}
	defer closeAll(sources)
	fmt.Fprintln(a.stdout, "\nSource and warehouse compared (row count and checksum, recomputed now):")
	for _, c := range contracts {
		src, quarantined, err := sourceChecksumAsPublished(ctx, sources[c.Source], wh, c)
		if err != nil {
			return fmt.Errorf("verify %s: source: %w", c.Entity, err)
		}
		dst, err := reconcile.Compute(ctx, wh, c.ChecksumSQL(pgx.Identifier{cfg.Warehouse.Schema, c.Entity}.Sanitize()))
		if err != nil {
			return fmt.Errorf("verify %s: warehouse: %w", c.Entity, err)
		}
		verdict := "identical"
		if err := reconcile.Compare(c.Entity, src, dst); err != nil {
			verdict = "DIFFERENT"
		}
		aside := ""
		if quarantined > 0 {
			aside = fmt.Sprintf(" (and %d source rows in nightshift.quarantine)", quarantined)
		}
		fmt.Fprintf(a.stdout, "  %-40s %s | %s%s\n", c.Entity, verdict, dst, aside)
		if verdict != "identical" {
			return withCode(exitFailed, fmt.Errorf("verify %s: the warehouse does not match the source", c.Entity))
		}
	}
	return nil
}

// sourceChecksumAsPublished checksums what c's extract query returns from
// src, leaving out the rows that the run whose data the warehouse's current
// table holds set aside in nightshift.quarantine (whose key is the primary
// key's values joined by '/'): source rows = loaded + quarantined, so what
// is left is what the table must hold. It also returns how many were left
// out.
func sourceChecksumAsPublished(ctx context.Context, src, wh reconcile.Querier, c *schemas.Contract) (reconcile.Checksum, int, error) {
	var keys []string
	if err := wh.QueryRow(ctx, `SELECT coalesce(array_agg(q.key), '{}') FROM nightshift.quarantine q
		JOIN nightshift.table_versions v ON v.run_id = q.run_id AND v.entity = q.entity
		WHERE v.target = 'warehouse' AND v.slot = 'current' AND q.entity = $1`, c.Entity).Scan(&keys); err != nil {
		return reconcile.Checksum{}, 0, fmt.Errorf("quarantined rows: %w", err)
	}
	if len(keys) == 0 {
		sum, err := reconcile.Compute(ctx, src, c.SourceChecksumSQL())
		return sum, 0, err
	}
	key := make([]string, len(c.PrimaryKey))
	for i, k := range c.PrimaryKey {
		key[i] = "t." + pgx.Identifier{k}.Sanitize()
	}
	sum, err := reconcile.Compute(ctx, src, c.ChecksumSQL(fmt.Sprintf("(%s) t WHERE concat_ws('/', %s) <> ALL($1::text[])",
		c.SelectSQL(), strings.Join(key, ", "))), keys)
	return sum, len(keys), err
}

func writeDemoConfig(path string, cfg config.Config) error {
	body := fmt.Sprintf("# Written by nightshift demo.\nenvironment: demo\nwarehouse:\n  url: %q\n  schema: %s\nspool:\n  dir: %q\nsources:\n", cfg.Warehouse.URL, cfg.Warehouse.Schema, cfg.Spool.Dir)
	for _, s := range seed.Sources {
		body += fmt.Sprintf("  %s:\n    url: %q\n", s, cfg.Sources[s].URL)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		return fmt.Errorf("--write-config: %w", err)
	}
	return nil
}

// freshAllowed guards --fresh, which drops databases: never where the
// environment names production, and on a server that is not on this
// machine only when --confirm names its host.
func (a *app) freshAllowed(server *url.URL, confirm string) error {
	env := config.Config{Environment: lookupEnv(a.env, "NIGHTSHIFT_ENV"), ProductionNames: config.DefaultProductionNames}
	if names, ok := lookupEnvOK(a.env, "NIGHTSHIFT_PRODUCTION_NAMES"); ok {
		env.ProductionNames = strings.Split(names, ",")
	}
	if env.Production() {
		return withCode(exitLocked, fmt.Errorf("demo --fresh drops databases: refused in environment %q", quoteUserText(env.Environment)))
	}
	host := server.Hostname()
	if host == "" || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	if confirm != host {
		return withCode(exitLocked, fmt.Errorf("demo --fresh drops the databases warehouse, register and rect on %s, which is not this machine: repeat with --confirm %s if that is what you mean", quoteUserText(host), quoteUserText(host)))
	}
	return nil
}
