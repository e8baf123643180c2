package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/pipeline/metrics"
	"github.com/dfe-nightshift/nightshift/pipeline/web"
	"github.com/dfe-nightshift/nightshift/schedules"
	"github.com/dfe-nightshift/nightshift/schemas"
)

func (a *app) scheduleCommand() *cobra.Command {
	var dir, listen string
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "Run the pipeline on the schedules in schedules/*.yaml, as a daemon",
		Long: `Start the scheduler: read every schedule file (name, cron spec, time zone — Europe/London
by default —, entities, mode, deadline) and run the pipeline at each firing. An invalid
schedule file stops the daemon at start, naming the file, the field and the reason.

A firing while a run is active is skipped. At start, a firing missed within --grace
that has not succeeded since is caught up. When a schedule's firing has not succeeded
by its deadline, one overdue alert goes out through the notifiers (a dead man's switch:
it does not depend on the run reporting anything). SIGTERM or SIGINT aborts the run in
flight cleanly and exits.`,
		Example: `  nightshift schedule --dir schedules`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			list, err := schedules.Load(dir, schemas.Names())
			if err != nil {
				return withCode(exitUsage, err)
			}
			cfg, wh, err := a.warehouse(ctx)
			if err != nil {
				return err
			}
			defer wh.Close()
			ledger := pipeline.NewLedger(wh)
			alerter := &pipeline.Runner{Ledger: ledger, Log: a.log, Notifiers: notifiers(cfg, a.log), NotifyBackoff: 2 * time.Second}
			m := metrics.New()
			a.observer = m
			// The entities' gauges start from the ledger, not from zero.
			if err := m.Restore(ctx, ledger); err != nil {
				a.log.Warn("metrics: cannot read the entities' state from the ledger; their gauges start empty", "err", err)
			}
			sc := &pipeline.Scheduler{
				Schedules: list,
				Grace:     grace,
				Log:       a.log,
				Fire: func(ctx context.Context, s schedules.Schedule, at time.Time) (pipeline.Status, error) {
					rep, err := a.execute(ctx, &cfg, execution{
						spec:   pipeline.Spec{Kind: pipeline.KindFull, Entities: s.Entities},
						reason: pipeline.ScheduleReason(s.Name), trigger: pipeline.TriggerSchedule,
					})
					if rep.Status != "" && !errors.Is(err, pipeline.ErrLocked) {
						return rep.Status, nil
					}
					return "", err
				},
				LastSuccess: ledger.LastScheduledSuccess,
				Alert: func(ctx context.Context, al pipeline.OverdueAlert) {
					a.log.Error("schedule overdue", "schedule", al.Schedule, "fired_at", al.FiredAt, "deadline", al.Deadline)
					m.OverdueAlerted(al.Schedule)
					alerter.NotifyOverdue(ctx, cfg.Environment, al)
				},
			}
			mux := http.NewServeMux()
			mux.HandleFunc("/healthz", metrics.Healthz)
			mux.Handle("/readyz", &metrics.Readiness{Ledger: ledger, Overdue: sc.Overdue})
			mux.Handle("/metrics", m.Handler())
			mux.Handle("/", web.New(ledger)) // the run-history pages: /, /runs/ID, /entities
			srv := &http.Server{Addr: listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
			ln, err := new(net.ListenConfig).Listen(ctx, "tcp", listen)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("--listen %s: %w", listen, err))
			}
			go func() { _ = srv.Serve(ln) }()
			defer func() { _ = srv.Shutdown(context.WithoutCancel(ctx)) }()
			fmt.Fprintf(a.stdout, "serving /healthz, /readyz and /metrics on http://%s\n", ln.Addr())
			for _, s := range list {
				fmt.Fprintf(a.stdout, "schedule %s (%s): %q in %s, next at %s\n", s.Name, s.File, s.Cron, s.Timezone, s.Next(time.Now()).Format(time.RFC3339))
			}
			return sc.Loop(ctx)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "schedules", "directory of schedule files")
	cmd.Flags().DurationVar(&grace, "grace", 3*time.Hour, "how late a missed firing is still caught up at start")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:9464", "address of the /healthz, /readyz and /metrics endpoints (loopback by default)")
	return cmd
}
