package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/pipeline/notify"
)

// receiver is a local webhook endpoint that records what it receives and
// can fail the first requests.
type receiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	bodies   [][]byte
	failures int // answer 500 to this many requests first
	calls    int
}

func newReceiver(t *testing.T, failures int) *receiver {
	t.Helper()
	r := &receiver{failures: failures}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.calls++
		if r.calls <= r.failures {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		r.bodies = append(r.bodies, body)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// received returns the bodies received and the number of requests.
func (r *receiver) received() ([][]byte, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...), r.calls
}

func (r *receiver) notifications(t *testing.T) []pipeline.Notification {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []pipeline.Notification
	for _, b := range r.bodies {
		var n pipeline.Notification
		require.NoError(t, json.Unmarshal(b, &n))
		out = append(out, n)
	}
	return out
}

func TestEveryOutcomeSendsExactlyOneNotification(t *testing.T) {
	t.Parallel()
	undefinedColumn := &pgconn.PgError{Code: "42703", Message: `column "trn" does not exist`}
	cases := []struct {
		name   string
		status pipeline.Status
		plan   func(started chan<- struct{}) ([]pipeline.Task, error)
		cancel bool
		check  func(t *testing.T, n pipeline.Notification)
	}{
		{"success", pipeline.StatusSucceeded, func(chan<- struct{}) ([]pipeline.Task, error) {
			return []pipeline.Task{{Entity: "trainees", Steps: []pipeline.Step{&stepFunc{name: "extract", fn: ok(42)}}}}, nil
		}, false, func(t *testing.T, n pipeline.Notification) {
			t.Helper()
			require.Equal(t, []pipeline.EntityNotice{{Entity: "trainees", Status: pipeline.StatusSucceeded, Rows: 42, Attempts: 1, Seconds: n.Entities[0].Seconds}}, n.Entities)
			require.Equal(t, "Nothing to do.", n.NextAction)
			require.Empty(t, n.Error)
		}},
		{"permanent failure", pipeline.StatusFailed, func(chan<- struct{}) ([]pipeline.Task, error) {
			s := &stepFunc{name: "extract", fn: func(context.Context, int) (pipeline.Outcome, error) { return pipeline.Outcome{}, undefinedColumn }}
			return []pipeline.Task{{Entity: "trainees", Steps: []pipeline.Step{s}}}, nil
		}, false, func(t *testing.T, n pipeline.Notification) {
			t.Helper()
			require.Equal(t, "extract", n.Entities[0].FailedStep)
			require.Equal(t, 1, n.Entities[0].Attempts)
			require.Contains(t, n.Error, `column "trn" does not exist`)
			require.Contains(t, n.NextAction, "nightshift retry 1")
		}},
		{"abort", pipeline.StatusAborted, func(started chan<- struct{}) ([]pipeline.Task, error) {
			return []pipeline.Task{{Entity: "trainees", Steps: []pipeline.Step{blockingStep(started)}}}, nil
		}, true, func(t *testing.T, n pipeline.Notification) {
			t.Helper()
			require.Contains(t, n.Changed, "as they were before the run")
			require.False(t, n.Published)
			require.Contains(t, n.NextAction, "nightshift retry 1")
		}},
		{"refusal", pipeline.StatusRefused, func(chan<- struct{}) ([]pipeline.Task, error) {
			return nil, pipeline.Refuse(errors.New("source register: table trainees has no column trn"))
		}, false, func(t *testing.T, n pipeline.Notification) {
			t.Helper()
			require.Contains(t, n.Error, "has no column trn")
			require.Contains(t, n.NextAction, "nightshift check")
			require.Empty(t, n.Entities)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			hook, slack, teams := newReceiver(t, 0), newReceiver(t, 0), newReceiver(t, 0)
			b.runner.Notifiers = []pipeline.Notifier{
				&notify.Webhook{URL: hook.srv.URL}, &notify.Slack{URL: slack.srv.URL}, &notify.Teams{URL: teams.srv.URL},
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			started := make(chan struct{})
			if tc.cancel {
				go func() { <-started; cancel() }()
			}
			run := &pipeline.Run{Env: "production", Production: true, Trigger: pipeline.TriggerManual, Mode: "full", Entities: []string{"trainees"},
				Reason: "test " + tc.name, StartedBy: "ops@desk"}
			rep, err := b.runner.Do(ctx, run, time.Minute, func(context.Context, *pipeline.Run) (*pipeline.Plan, error) {
				tasks, err := tc.plan(started)
				return &pipeline.Plan{Stage: tasks}, err
			})
			require.NoError(t, err)
			require.Equal(t, tc.status, rep.Status)

			got := hook.notifications(t)
			require.Len(t, got, 1, "exactly one terminal notification")
			n := got[0]
			require.Equal(t, pipeline.NotificationVersion, n.Version)
			require.Equal(t, "production", n.Env)
			require.Equal(t, rep.Run.ID, n.RunID)
			require.Equal(t, pipeline.TriggerManual, n.Trigger)
			require.Equal(t, "test "+tc.name, n.Reason)
			require.Equal(t, "ops@desk", n.StartedBy)
			require.Equal(t, tc.status, n.Status)
			require.NotEmpty(t, n.NextAction)
			tc.check(t, n)

			for _, chat := range []*receiver{slack, teams} {
				bodies, _ := chat.received()
				require.Len(t, bodies, 1)
				require.Contains(t, string(bodies[0]), "nightshift [PRODUCTION] run 1 "+string(tc.status))
			}
		})
	}
}

func TestFailingWebhookIsRetriedAndNeverFailsTheRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	flaky, down := newReceiver(t, 2), newReceiver(t, 1000)
	b.runner.Notifiers = []pipeline.Notifier{&notify.Webhook{URL: flaky.srv.URL}, &notify.Webhook{URL: down.srv.URL}}
	b.runner.NotifyBackoff = time.Millisecond
	rep := b.do(t, context.Background(), pipeline.Task{Entity: "a", Steps: []pipeline.Step{&stepFunc{name: "extract", fn: ok(1)}}})
	require.Equal(t, pipeline.StatusSucceeded, rep.Status)
	require.Len(t, flaky.notifications(t), 1, "delivered on the third attempt, once")
	_, flakyCalls := flaky.received()
	_, downCalls := down.received()
	require.Equal(t, 3, flakyCalls)
	require.Equal(t, 3, downCalls, "capped at three attempts")
	require.EqualValues(t, 1, b.runner.NotifyFailures.Load(), "the failure is counted")
}

func TestAbandonedRunIsReported(t *testing.T) {
	t.Parallel()
	b := setup(t)
	hook := newReceiver(t, 0)
	b.runner.Notifiers = []pipeline.Notifier{&notify.Webhook{URL: hook.srv.URL}}
	dead := &pipeline.Run{Env: "test", Trigger: pipeline.TriggerSchedule, Mode: "full", Entities: []string{"a"}, StartedBy: "cron"}
	require.NoError(t, b.runner.Ledger.Start(context.Background(), dead))

	b.do(t, context.Background(), pipeline.Task{Entity: "a", Steps: []pipeline.Step{&stepFunc{name: "extract", fn: ok(1)}}})
	got := hook.notifications(t)
	require.Len(t, got, 2, "one for the dead run, one for the new run")
	require.Equal(t, dead.ID, got[0].RunID)
	require.Equal(t, pipeline.StatusAbandoned, got[0].Status)
	require.Contains(t, got[0].Error, "the process running it died")
	require.Equal(t, pipeline.StatusSucceeded, got[1].Status)
}
