package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/recovery"
)

type recoverOptions struct {
	entity, asOf, keys, out, reason string
	missing, includePII             bool
}

func (a *app) recoverCommand() *cobra.Command {
	var opts recoverOptions
	cmd := &cobra.Command{
		Use:   "recover --entity NAME --as-of TIME (--keys FILE | --missing) --out DIR [--include-pii]",
		Short: "Write the rows a source lost, as the warehouse held them, as files to load back with psql",
		Long: `Read from the warehouse's versions of the entity the rows as they were at --as-of, and
write them into --out as files an engineer reviews and loads into the source:

  <entity>.copy    text COPY format, in the source table's own column order and types,
                   for psql's \copy
  <entity>.sql     the same rows as INSERT ... ON CONFLICT DO NOTHING in one transaction,
                   so that running it twice is harmless
  <entity>.README  the as-of time, the count, the columns left out and why, and the
                   psql commands (also printed)

Which rows: with --keys FILE, the keys in the file (one a line; a key of several
columns as its values separated by a tab, in primary-key order); with --missing, every
row present at --as-of whose key the source does not hold now. The source is only read,
in a read-only transaction; the difference is taken in the warehouse.

Columns: those of the source table that the contract reads, in the source's order.
Columns the contract does not read, or that the source generates, are left out and get
the source's defaults. Personal data (PII columns) is left out unless --include-pii; a
left-out column the source requires (NOT NULL without a default, or a CHECK
constraint) is named, because the load would fail.

--as-of is a time (2026-11-29T02:00:00Z; without an offset it is UTC; a date alone
is its midnight, UTC), not in the future, and not before the snapshot of the first run
that kept the entity's versions (the warehouse's view of the whole table begins then). In production --reason is required, and shown in the README.

Exit codes: 0 written; 1 a database could not be read; 2 usage error (unknown entity,
an entity computed by a query, a bad time, keys file or output directory).`,
		Example: `  nightshift recover --entity trainees --as-of "2026-11-28 23:00" --missing --out /secure/recover-1128
  nightshift recover --entity teachers --as-of 2026-11-28T23:00:00Z --keys ids.txt --include-pii --out /secure/r --reason "INC-123"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.recover(cmd, opts) },
	}
	f := cmd.Flags()
	f.StringVar(&opts.entity, "entity", "", "the entity to recover (required)")
	f.StringVar(&opts.asOf, "as-of", "", "the time whose rows to write (required): 2026-11-29T02:00:00Z, 2026-11-29 02:00 (UTC), 2026-11-29")
	f.StringVar(&opts.keys, "keys", "", "file of the keys to recover, one a line (a composite key's values separated by a tab)")
	f.BoolVar(&opts.missing, "missing", false, "recover every row present at --as-of that the source no longer has")
	f.BoolVar(&opts.includePII, "include-pii", false, "write personal data too (left out by default)")
	f.StringVar(&opts.out, "out", "", "directory for the files (required; created if missing; never overwritten)")
	f.StringVar(&opts.reason, "reason", "", "why (required in production; written in the README)")
	return cmd
}

func (a *app) recover(cmd *cobra.Command, opts recoverOptions) error {
	ctx := cmd.Context()
	c, at, err := checkRecoverOptions(opts)
	if err != nil {
		return withCode(exitUsage, err)
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	// Reading personal data out of the warehouse into files is a manual
	// operation like any other: in production it says why.
	if g := (pipeline.Guard{Env: cfg.Environment, IsProduction: cfg.Production()}); g.Production() {
		if err := g.Check("recover", opts.reason, "", false); err != nil {
			return withCode(exitUsage, fmt.Errorf("recover: %w", err))
		}
	}
	if err := sourcesConfigured(cfg, []*schemas.Contract{c}); err != nil {
		return err
	}
	wh, err := openWarehouse(ctx, cfg)
	if err != nil {
		return err
	}
	defer wh.Close()
	src, err := cfg.Sources[c.Source].Open(ctx, "sources."+c.Source+".url", true, 2)
	if err != nil {
		return withCode(openExit(err), err)
	}
	defer src.Close()
	by := startedBy()
	a.log.Info("recover", "entity", c.Entity, "as_of", at, "missing", opts.missing, "keys", opts.keys, "include_pii", opts.includePII, "out", opts.out, "started_by", by, "reason", opts.reason)
	res, err := recovery.Run(ctx, recovery.Options{
		Contract: c, Schema: cfg.Warehouse.Schema, AsOf: at, KeysFile: opts.keys, Missing: opts.missing,
		IncludePII: opts.includePII, OutDir: opts.out, Warehouse: wh, Source: src, StartedBy: by, Reason: opts.reason,
	})
	if err != nil {
		if recovery.IsUsage(err) {
			return withCode(exitUsage, err)
		}
		return err
	}
	fmt.Fprint(a.stdout, terminalSafe(res.Readme()))
	return nil
}

// checkRecoverOptions checks what needs no database: the entity, the
// time's form, one of --keys and --missing, --out.
func checkRecoverOptions(opts recoverOptions) (*schemas.Contract, time.Time, error) {
	if opts.entity == "" {
		return nil, time.Time{}, errors.New("--entity is required")
	}
	c, err := schemas.Lookup(opts.entity)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("--entity: %w", err)
	}
	if err := recovery.Recoverable(c); err != nil {
		return nil, time.Time{}, err
	}
	if strings.TrimSpace(opts.asOf) == "" {
		return nil, time.Time{}, errors.New("--as-of is required: the time whose rows to write")
	}
	at, err := recovery.ParseTime(opts.asOf)
	if err != nil {
		return nil, time.Time{}, err
	}
	switch {
	case opts.keys != "" && opts.missing:
		return nil, time.Time{}, errors.New("--keys and --missing cannot go together: give the keys, or ask for every missing row")
	case opts.keys == "" && !opts.missing:
		return nil, time.Time{}, errors.New("give --keys FILE or --missing: which rows to recover")
	case opts.out == "":
		return nil, time.Time{}, errors.New("--out DIR is required: where to write the files")
	}
	return c, at, nil
}
