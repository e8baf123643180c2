package web_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/pipeline"
)

// step is a step made of a function.
type step struct {
	name string
	fn   func(ctx context.Context, attempt int) (pipeline.Outcome, error)
}

func (s step) Name() string { return s.name }
func (s step) Run(ctx context.Context, attempt int) (pipeline.Outcome, error) {
	return s.fn(ctx, attempt)
}

// ok is a step that takes a few milliseconds (so that its bar has a width)
// and succeeds with rows.
func ok(name string, rows int64, detail any) step {
	return step{name, func(ctx context.Context, _ int) (pipeline.Outcome, error) {
		time.Sleep(15 * time.Millisecond)
		return pipeline.Outcome{Rows: rows, Detail: detail}, nil
	}}
}

// Reasons with markup in them: the pages must show them as text.
const (
	okReason     = `nightly <b>bold</b> & "quoted"`
	failedReason = `<script>alert("x")</script> & fix`
	abortReason  = "to abort"
	snapshot     = "00000003-0000001B-1"
	sourceSchema = "20260609164710"
)

// history is a migrated warehouse whose ledger holds real runs, made by
// the pipeline's own runner:
//
//  1. succeeded and published: trainees' extract failed once (transient)
//     and was retried; 2 trainees rows quarantined; table_versions current
//  2. failed: trainees' extract failed for good (permanent)
//  3. aborted while schools was loading
type history struct {
	pool                *pgxpool.Pool
	ledger              *pipeline.Ledger
	ok, failed, aborted int64
}

func newHistory(t *testing.T) history {
	t.Helper()
	pool := pgtest.Pool(t, pgtest.NewWarehouse(t))
	h := history{pool: pool, ledger: pipeline.NewLedger(pool)}
	runner := &pipeline.Runner{
		Ledger: h.ledger, Parallelism: 2,
		Retry: pipeline.RetryPolicy{MaxAttempts: 3, BaseDelay: 5 * time.Millisecond, MaxDelay: 10 * time.Millisecond},
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	do := func(ctx context.Context, reason string, plan func(run *pipeline.Run) *pipeline.Plan) pipeline.Report {
		run := &pipeline.Run{Env: "test", Trigger: pipeline.TriggerManual, Mode: "full", Entities: []string{"trainees", "schools"},
			Reason: reason, StartedBy: "tester@host", Spec: pipeline.Spec{Kind: pipeline.KindFull, Entities: []string{"trainees", "schools"}}}
		rep, err := runner.Do(ctx, run, time.Minute, func(context.Context, *pipeline.Run) (*pipeline.Plan, error) { return plan(run), nil })
		require.NoError(t, err)
		return rep
	}

	reset := &pgconn.PgError{Code: "08006", Message: "connection failure"}
	rep := do(context.Background(), okReason, func(run *pipeline.Run) *pipeline.Plan {
		return &pipeline.Plan{
			SourceVersions: map[string]string{"register": sourceSchema},
			Stage: []pipeline.Task{
				{Entity: "trainees", Steps: []pipeline.Step{
					step{"extract", func(ctx context.Context, attempt int) (pipeline.Outcome, error) {
						time.Sleep(15 * time.Millisecond)
						if attempt == 1 {
							return pipeline.Outcome{}, fmt.Errorf("read trainees: %w", reset)
						}
						if _, err := pool.Exec(ctx, `INSERT INTO nightshift.quarantine (run_id, entity, key, column_name, value, reason)
							VALUES ($1, 'trainees', '7', 'date_of_birth', 'infinity', 'infinite date'),
							       ($1, 'trainees', '9', 'date_of_birth', '-infinity', 'infinite date')`, run.ID); err != nil {
							return pipeline.Outcome{}, err
						}
						return pipeline.Outcome{Rows: 120, Detail: map[string]string{"snapshot": snapshot}}, nil
					}},
					ok("stage", 118, nil),
				}},
				{Entity: "schools", Steps: []pipeline.Step{ok("extract", 30, map[string]string{"snapshot": snapshot}), ok("stage", 30, nil)}},
			},
			Publish: step{"publish", func(ctx context.Context, _ int) (pipeline.Outcome, error) {
				tx, err := pool.Begin(ctx)
				if err != nil {
					return pipeline.Outcome{}, err
				}
				defer func() { _ = tx.Rollback(ctx) }()
				if _, err := tx.Exec(ctx, `INSERT INTO nightshift.table_versions (target, entity, slot, run_id, rows, placed_by)
					VALUES ('warehouse', 'trainees', 'current', $1, 118, $1), ('warehouse', 'schools', 'current', $1, 30, $1)`, run.ID); err != nil {
					return pipeline.Outcome{}, err
				}
				if err := pipeline.MarkPublished(ctx, tx, run.ID); err != nil {
					return pipeline.Outcome{}, err
				}
				return pipeline.Outcome{Rows: 148}, tx.Commit(ctx)
			}},
		}
	})
	require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)
	h.ok = rep.Run.ID

	rep = do(context.Background(), failedReason, func(*pipeline.Run) *pipeline.Plan {
		return &pipeline.Plan{Stage: []pipeline.Task{
			{Entity: "trainees", Steps: []pipeline.Step{step{"extract", func(context.Context, int) (pipeline.Outcome, error) {
				time.Sleep(10 * time.Millisecond)
				return pipeline.Outcome{}, pipeline.MarkPermanent(errors.New(`source register: table trainees has no column "trn" <varchar>`))
			}}, ok("stage", 1, nil)}},
			{Entity: "schools", Steps: []pipeline.Step{ok("extract", 30, nil), ok("stage", 30, nil)}},
		}}
	})
	require.Equal(t, pipeline.StatusFailed, rep.Status)
	h.failed = rep.Run.ID

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rep = do(ctx, abortReason, func(*pipeline.Run) *pipeline.Plan {
		return &pipeline.Plan{Stage: []pipeline.Task{
			{Entity: "trainees", Steps: []pipeline.Step{ok("extract", 120, nil), ok("stage", 118, nil)}},
			{Entity: "schools", Steps: []pipeline.Step{ok("extract", 30, nil), step{"stage", func(ctx context.Context, _ int) (pipeline.Outcome, error) {
				cancel()
				<-ctx.Done()
				return pipeline.Outcome{}, ctx.Err()
			}}}},
		}}
	})
	require.Equal(t, pipeline.StatusAborted, rep.Status)
	h.aborted = rep.Run.ID
	return h
}

// attempts counts a run's attempts in the ledger, independently of the
// handler.
func (h history) attempts(t *testing.T, runID int64) (all, failed int) {
	t.Helper()
	require.NoError(t, h.pool.QueryRow(context.Background(),
		"SELECT count(*), count(*) FILTER (WHERE status = 'failed') FROM nightshift.step_runs WHERE run_id = $1", runID).Scan(&all, &failed))
	return all, failed
}
