package main

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/golang-migrate/migrate/v4"
	"github.com/spf13/cobra"

	nssql "github.com/dfe-nightshift/nightshift/sql"
)

func (a *app) migrateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the warehouse's schema (up, down, version)",
		Long: `Manage the warehouse database's own schema: the run ledger (schema nightshift) and the
reporting schema the entity tables live in. The migrations are built into the binary
(sql/warehouse) and applied with golang-migrate; the version is kept in
public.nightshift_schema_migrations. "nightshift run" refuses to start on a warehouse
that is not at the version it needs.`,
	}
	migrator := func() (*migrate.Migrate, error) {
		cfg, err := a.loadConfig()
		if err != nil {
			return nil, err
		}
		m, err := nssql.Migrator(cfg.Warehouse.URL, cfg.Warehouse.Password)
		if err != nil {
			return nil, withCode(exitUsage, err)
		}
		return m, nil
	}
	up := &cobra.Command{
		Use:   "up",
		Short: "Apply every pending migration",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			m, err := migrator()
			if err != nil {
				return err
			}
			defer m.Close()
			if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
				return fmt.Errorf("migrate up: %w", err)
			}
			return a.printVersion(m)
		},
	}
	down := &cobra.Command{
		Use:   "down [STEPS]",
		Short: "Revert the last STEPS migrations (default 1); entity tables in reporting are kept",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			n := 1
			if len(args) == 1 {
				var err error
				if n, err = strconv.Atoi(args[0]); err != nil || n < 1 {
					return withCode(exitUsage, fmt.Errorf("STEPS must be a positive number, got %q", args[0]))
				}
			}
			m, err := migrator()
			if err != nil {
				return err
			}
			defer m.Close()
			if err := m.Steps(-n); err != nil {
				return fmt.Errorf("migrate down: %w", err)
			}
			return a.printVersion(m)
		},
	}
	version := &cobra.Command{
		Use:   "version",
		Short: "Print the warehouse's schema version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			m, err := migrator()
			if err != nil {
				return err
			}
			defer m.Close()
			return a.printVersion(m)
		},
	}
	cmd.AddCommand(up, down, version)
	return cmd
}

func (a *app) printVersion(m *migrate.Migrate) error {
	v, dirty, err := m.Version()
	switch {
	case errors.Is(err, migrate.ErrNilVersion):
		fmt.Fprintln(a.stdout, "warehouse schema: no migrations applied")
		return nil
	case err != nil:
		return fmt.Errorf("migrate version: %w", err)
	}
	latest, _ := nssql.LatestVersion()
	fmt.Fprintf(a.stdout, "warehouse schema: version %d of %d", v, latest)
	if dirty {
		fmt.Fprint(a.stdout, " (dirty: a migration failed halfway; fix it, then force the version)")
	}
	fmt.Fprintln(a.stdout)
	return nil
}
