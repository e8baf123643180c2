package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/dfe-nightshift/nightshift/internal/config"
	"github.com/dfe-nightshift/nightshift/internal/redact"
	"github.com/dfe-nightshift/nightshift/pipeline"
)

// Exit codes, as documented in README.md.
const (
	exitOK      = 0
	exitFailed  = 1   // the run failed
	exitUsage   = 2   // bad flags or configuration
	exitRefused = 3   // refused: a source does not match the contracts, or the loss check tripped
	exitLocked  = 4   // refused: another run holds the lock, or confirmation missing
	exitAborted = 130 // aborted by a signal or `nightshift abort`
)

// runHelp ends the help of every command that starts a run: how it ends,
// and what production asks of it.
const runHelp = `

In production (an environment named in production_names): --reason is required,
and a backfill, a restore or --accept-loss — or a retry of one — also needs
--confirm <env>.

Exit codes: 0 succeeded; 1 failed (including a warehouse or source that cannot be
reached); 2 usage or configuration error; 3 preflight refused (a source does not match
the contracts) or publish refused (rows lost, or a source gone back in time);
4 refused (another run holds the lock, or --confirm is missing); 130 aborted (Ctrl-C,
SIGTERM or nightshift abort).`

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
	a := &app{stdout: stdout, stderr: stderr, env: env, log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{ReplaceAttr: redactAttr}))}
	root := a.rootCommand() //nolint:contextcheck // cobra hands each command ctx, as cmd.Context()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "nightshift:", terminalSafe(redact.String(err.Error())))
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
	root.AddCommand(a.serveCommand())
	root.AddCommand(a.lookmlCommand())
	root.AddCommand(a.bigqueryCommand()) // relayout.go
	root.AddCommand(a.recoverCommand())
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
	a.announce(cfg.Environment, cfg.Production())
	return cfg, nil
}

// announce names the environment on stderr, loudly for production: in red
// on a terminal, unless NO_COLOR is set (https://no-color.org).
func (a *app) announce(env string, production bool) {
	env = terminalSafe(env)
	switch {
	case production && a.colour():
		fmt.Fprintf(a.stderr, "\x1b[1;41;97m ENVIRONMENT: %s \x1b[0m  (changes here affect live reporting)\n", strings.ToUpper(env))
	case production:
		fmt.Fprintf(a.stderr, "*** ENVIRONMENT: %s *** (changes here affect live reporting)\n", strings.ToUpper(env))
	default:
		fmt.Fprintf(a.stderr, "environment: %s\n", env)
	}
}

// colour says whether stderr may be written in colour: a terminal, and no
// NO_COLOR in the environment.
func (a *app) colour() bool {
	if _, set := lookupEnvOK(a.env, "NO_COLOR"); set {
		return false
	}
	return a.stderrTerminal()
}

// stderrTerminal says whether stderr, where views and colour go, is a
// terminal.
func (a *app) stderrTerminal() bool {
	f, ok := a.stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func lookupEnv(env []string, key string) string {
	v, _ := lookupEnvOK(env, key)
	return v
}

func lookupEnvOK(env []string, key string) (string, bool) {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// terminalSafe escapes the control characters of text bound for a
// terminal — a reason typed by someone, an error quoting a source — so that
// it cannot clear the screen, move the cursor or forge a line. Newlines and
// tabs of nightshift's own multi-line messages stay; use quoteUserText for
// text a user typed.
func terminalSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == utf8.RuneError:
			b.WriteString(`\ufffd`)
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// quoteUserText escapes every control character of text a user typed (a
// reason), newlines included: it is one line wherever it is shown.
func quoteUserText(s string) string {
	return terminalSafe(strings.NewReplacer("\n", `\n`, "\t", `\t`).Replace(s))
}

// redactAttr masks passwords in every log value: an error quoting a
// connection string must not carry its password into a log file.
func redactAttr(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(redact.String(a.Value.String()))
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			a.Value = slog.StringValue(redact.String(err.Error()))
		}
	}
	return a
}

// runIDFlag is a run id given as a flag: a positive decimal number, never
// 0x10 or 1e3, so that the run named is the run meant.
type runIDFlag int64

func (f *runIDFlag) String() string { return strconv.FormatInt(int64(*f), 10) }
func (f *runIDFlag) Type() string   { return "ID" }
func (f *runIDFlag) Set(s string) error {
	id, err := parseRunID(s)
	if err != nil {
		return err
	}
	*f = runIDFlag(id)
	return nil
}

// parseRunID reads a run id: a positive decimal number.
func parseRunID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, fmt.Errorf("a run id is a positive whole number, not %q", quoteUserText(s))
	}
	return id, nil
}
