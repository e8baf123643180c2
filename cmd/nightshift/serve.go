package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/dfe-nightshift/nightshift/pipeline/web"
)

func (a *app) serveCommand() *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the run history as web pages (runs, each run's timeline, entity freshness)",
		Long: `Serve read-only HTML pages over the warehouse's run ledger, on loopback by default:

  /            the latest runs, as "nightshift runs" lists them, with what to do about
               the failed, aborted and abandoned ones
  /runs/ID     one run: its summary, a timeline of every attempt of every step, the
               steps table, each error once, and what to do next
  /entities    what each warehouse table holds now: the run that published it, its rows,
               the rows that run quarantined, the source schema version and its age

The pages show run reasons and errors; serve them beyond this machine only behind
something that decides who may read them. "nightshift schedule" serves the same pages
beside /healthz and /metrics. Stop with Ctrl-C.`,
		Example: `  nightshift serve
  nightshift serve --listen 127.0.0.1:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			_, ledger, done, err := a.ledger(ctx)
			if err != nil {
				return err
			}
			defer done()
			pages := web.New(ledger)
			pages.Log = a.log
			ln, err := new(net.ListenConfig).Listen(ctx, "tcp", listen)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("--listen %s: %w", listen, err))
			}
			if host, _, _ := net.SplitHostPort(listen); !isLoopback(host) {
				fmt.Fprintf(a.stderr, "note: --listen %s is not a loopback address: anyone who can reach it can read run reasons and errors\n", listen)
			}
			srv := &http.Server{Handler: pages, ReadHeaderTimeout: 5 * time.Second}
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ln) }()
			fmt.Fprintf(a.stdout, "serving the run history on http://%s/\n", ln.Addr())
			select {
			case <-ctx.Done():
				shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				return srv.Shutdown(shutdown) //nolint:contextcheck // the command's context is done: shut down on a fresh one
			case err := <-served:
				return err
			}
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:9465", "address to serve the pages on (loopback by default)")
	return cmd
}

// isLoopback says whether a listen host stays on this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
