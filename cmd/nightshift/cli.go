package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dfe-nightshift/nightshift/internal/config"
	"github.com/dfe-nightshift/nightshift/pipeline"
)

// Exit codes, as documented in README.md.
const (
	exitOK      = 0
	exitFailed  = 1   // the run failed
	exitUsage   = 2   // bad flags or configuration
	exitRefused = 3   // preflight: the source does not match the contracts
	exitLocked  = 4   // refused: another run holds the lock, or confirmation missing
	exitAborted = 130 // aborted by a signal or `nightshift abort`
)

// exitError carries an exit code up to Main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// app is what every command shares.
type app struct {
	stdout, stderr io.Writer
	env            []string
	configPath     string
	log            *slog.Logger
	// observer watches the runs (the daemon's Prometheus metrics).
	observer pipeline.Observer
}

// Main runs the CLI and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, env []string) int {
	a := &app{stdout: stdout, stderr: stderr, env: env, log: slog.New(slog.NewTextHandler(stderr, nil))}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "nightshift:", err)
	var ee *exitError
	var ce *config.Error
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ce):
		return exitUsage
	case isUsageError(err):
		return exitUsage
	}
	return exitFailed
}

// isUsageError recognises cobra's flag and argument errors, which it
// returns as plain errors.
func isUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "nightshift",
		Short: "Move teacher-training records from the services' databases to the reporting warehouse",
		Long: `nightshift extracts trainees, teachers, periods, declarations and statuses from the
Register trainee teachers and Register early career teachers PostgreSQL databases
(read-only, at one snapshot), keeps each extract as a Parquet file (the spool), and
loads it into the PostgreSQL reporting warehouse: into a staging table first, then
swapped in atomically, keeping the previous version as <table>__previous.

Every run is recorded in the warehouse's nightshift schema (see "nightshift runs").

Configuration comes from a YAML file (--config, default ./nightshift.yaml if present)
and NIGHTSHIFT_* environment variables; passwords only from the environment.
The environment name (NIGHTSHIFT_ENV) is shown by every command.

Exit codes: 0 succeeded, 1 run failed, 2 usage or configuration error,
3 preflight refused, 4 refused (lock held or confirmation missing), 130 aborted.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&a.configPath, "config", "", "configuration file (default ./nightshift.yaml when it exists)")
	root.AddCommand(a.runCommand(), a.checkCommand(), a.abortCommand(), a.retryCommand(), a.docsCommand(), a.restoreCommand(), a.scheduleCommand(), a.backfillCommand(), a.runsCommand(), a.migrateCommand(), a.seedCommand(), a.demoCommand())
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return withCode(exitUsage, err) })
	return root
}

// loadConfig reads the configuration and announces the environment, loudly
// when it is production: seed 004 was a production sync started by someone
// who believed they were on staging.
func (a *app) loadConfig() (config.Config, error) {
	path := a.configPath
	if path == "" {
		path = lookupEnv(a.env, "NIGHTSHIFT_CONFIG")
	}
	cfg, err := config.Load(path, a.env)
	if err != nil {
		return config.Config{}, withCode(exitUsage, err)
	}
	a.announce(cfg.Environment)
	return cfg, nil
}

func (a *app) announce(env string) {
	if pipeline.IsProduction(env) {
		fmt.Fprintf(a.stderr, "\x1b[1;41;97m ENVIRONMENT: %s \x1b[0m  (changes here affect live reporting)\n", strings.ToUpper(env))
		return
	}
	fmt.Fprintf(a.stderr, "environment: %s\n", env)
}

func lookupEnv(env []string, key string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}
