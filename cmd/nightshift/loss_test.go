package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
)

// deleteTrainees deletes the trainees where holds, with what depends on
// them, and returns their ids, smallest first.
func deleteTrainees(t *testing.T, src, where string) []int64 {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.Pool(t, src)
	rows, err := pool.Query(ctx, "SELECT id FROM trainees t WHERE "+where+" ORDER BY id")
	require.NoError(t, err)
	var ids []int64
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, ids, where)
	for _, sql := range []string{
		"DELETE FROM trainee_withdrawal_reasons WHERE trainee_id = ANY($1) OR trainee_withdrawal_id IN (SELECT id FROM trainee_withdrawals WHERE trainee_id = ANY($1))",
		"DELETE FROM trainee_withdrawals WHERE trainee_id = ANY($1)",
		"DELETE FROM trainees WHERE id = ANY($1)",
	} {
		_, err := pool.Exec(ctx, sql, ids)
		require.NoError(t, err, sql)
	}
	return ids
}

// notNewest keeps clear of the rows that hold a greatest id, created_at or
// updated_at, so that deleting them is a loss, not a step back in time.
const notNewest = `t.id < (SELECT max(id) FROM trainees) AND t.created_at < (SELECT max(created_at) FROM trainees)
	AND t.updated_at < (SELECT max(updated_at) FROM trainees)
	AND NOT EXISTS (SELECT 1 FROM trainee_withdrawals w WHERE w.trainee_id = t.id)`

func lossEnv(hook *webhook) []string {
	// The seed's scale 0.05 holds 50 trainees: the default 100 rows would
	// never trip.
	return []string{"NIGHTSHIFT_WEBHOOK_URL=" + hook.url, "NIGHTSHIFT_LOSS_MIN_DELETED_ROWS=5"}
}

func TestLossOfRowsRefusesThePublishUntilAccepted(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.05)
	hook := newWebhook(t)
	env := lossEnv(hook)
	require.Equal(t, exitOK, cli(t, env, "--config", p.config, "run").code)

	// Normal churn: one trainee goes, well below the threshold.
	deleteTrainees(t, p.src, notNewest+" AND t.id = (SELECT min(id) FROM trainees)")
	r := cli(t, env, "--config", p.config, "run")
	require.Equal(t, exitOK, r.code, r.stderr)
	// So does the newest one, though the greatest id and created_at go
	// back: alone, that is a deletion, not a restore.
	deleteTrainees(t, p.src, "t.id = (SELECT max(id) FROM trainees)")
	r = cli(t, env, "--config", p.config, "run")
	require.Equal(t, exitOK, r.code, r.stderr)

	var total int64
	require.NoError(t, rfQueryRow(t, p.src, "SELECT count(*) FROM trainees", &total))
	gone := deleteTrainees(t, p.src, fmt.Sprintf("t.id IN (SELECT id FROM trainees t WHERE %s ORDER BY id LIMIT %d)", notNewest, total/5))
	before := warehouseState(t, p.wh)
	sent := len(hook.received(t))

	r = cli(t, env, "--config", p.config, "run")
	require.Equal(t, exitRefused, r.code, r.stderr)
	require.Contains(t, r.stderr, "loss detected, nothing published: trainees:")
	require.Contains(t, r.stderr, "--accept-loss trainees --reason TEXT")
	require.Equal(t, before, warehouseState(t, p.wh), "nothing was swapped in")
	require.Empty(t, stagingLeft(t, p.wh))
	run := rfLastRun(t, p.wh)
	require.Equal(t, "refused", p.status(t, run))
	var stepErr, class string
	require.NoError(t, rfQueryRow(t, p.wh, fmt.Sprintf(
		"SELECT error, error_class FROM nightshift.step_runs WHERE run_id = %d AND step = 'publish'", run), &stepErr, &class))
	require.Contains(t, stepErr, fmt.Sprintf("trainees: %d rows published, %d staged, %d deleted", total, total-int64(len(gone)), len(gone)))
	require.Equal(t, "permanent", class, "a loss is never retried")
	show := cli(t, env, "--config", p.config, "runs", "show", fmt.Sprint(run))
	require.Equal(t, exitOK, show.code, show.stderr)
	require.Contains(t, show.stdout, "next: Rows disappeared from a source, or it went back in time")

	got := hook.received(t)[sent:]
	require.Len(t, got, 1, "one notification")
	n := got[0]
	require.Equal(t, "refused", n["status"])
	require.Equal(t, false, n["published"])
	require.Contains(t, n["next_action"], "--accept-loss ENTITY")
	loss := n["loss"].([]any)
	require.Len(t, loss, 1)
	f := loss[0].(map[string]any)
	require.Equal(t, "trainees", f["entity"])
	require.EqualValues(t, total, f["published_rows"])
	require.EqualValues(t, total-int64(len(gone)), f["staged_rows"])
	require.EqualValues(t, len(gone), f["deleted_rows"])
	require.InDelta(t, float64(len(gone))/float64(total), f["deleted_fraction"], 1e-9)
	require.Equal(t, fmt.Sprint(gone[0]), f["sample_keys"].([]any)[0])
	require.Nil(t, f["back_in_time"])

	// Accepting the loss needs a reason.
	r = cli(t, env, "--config", p.config, "run", "--accept-loss", "trainees")
	require.Equal(t, exitUsage, r.code, r.stderr)
	require.Contains(t, r.stderr, "--reason is required")
	r = cli(t, env, "--config", p.config, "run", "--accept-loss", "nobody", "--reason", "x")
	require.Equal(t, exitUsage, r.code, r.stderr)

	sent = len(hook.received(t))
	r = cli(t, env, "--config", p.config, "run", "--accept-loss", "trainees", "--reason", "duplicates removed in Register")
	require.Equal(t, exitOK, r.code, r.stderr)
	var published int64
	require.NoError(t, rfQueryRow(t, p.wh, "SELECT count(*) FROM reporting.trainees", &published))
	require.Equal(t, total-int64(len(gone)), published)
	got = hook.received(t)[sent:]
	require.Len(t, got, 1)
	require.Equal(t, "succeeded", got[0]["status"])
	require.Contains(t, got[0]["changed"], "Losses were accepted for trainees by ")
	require.Contains(t, got[0]["changed"], ": duplicates removed in Register.")
	var accepted bool
	require.NoError(t, rfQueryRow(t, p.wh, fmt.Sprintf(`SELECT spec->'accept_loss' ? 'trainees' AND EXISTS (
		SELECT 1 FROM nightshift.step_runs s, jsonb_array_elements(s.detail->'loss') l
		WHERE s.run_id = r.id AND s.step = 'publish' AND l->>'entity' = 'trainees' AND (l->>'accepted')::bool)
		FROM nightshift.runs r WHERE id = %d`, rfLastRun(t, p.wh)), &accepted))
	require.True(t, accepted, "the ledger records the accepted loss")
}

func TestPointInTimeRestoredSourceRefusesThePublish(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.05)
	hook := newWebhook(t)
	env := lossEnv(hook)
	require.Equal(t, exitOK, cli(t, env, "--config", p.config, "run", "--entity", "trainees").code)

	// A restore to an earlier point: the newest migration and the newest
	// trainees are gone.
	var newest, older string
	require.NoError(t, rfQueryRow(t, p.src, "SELECT max(version), (SELECT max(version) FROM schema_migrations WHERE version < (SELECT max(version) FROM schema_migrations)) FROM schema_migrations", &newest, &older))
	rfExec(t, p.src, fmt.Sprintf("DELETE FROM schema_migrations WHERE version = '%s'", newest))
	deleteTrainees(t, p.src, "t.id IN (SELECT id FROM trainees ORDER BY created_at DESC, id DESC LIMIT 2)")
	before := warehouseState(t, p.wh)
	sent := len(hook.received(t))

	r := cli(t, env, "--config", p.config, "run", "--entity", "trainees")
	require.Equal(t, exitRefused, r.code, r.stderr)
	require.Equal(t, before, warehouseState(t, p.wh))
	got := hook.received(t)[sent:]
	require.Len(t, got, 1)
	f := got[0]["loss"].([]any)[0].(map[string]any)
	require.Equal(t, "trainees", f["entity"])
	signs := fmt.Sprint(f["back_in_time"])
	require.Contains(t, signs, fmt.Sprintf("register schema_migrations version %s is lower than %s", older, newest))
	require.Contains(t, signs, "greatest created_at")
	require.Contains(t, got[0]["error"], "went back in time")

	// In production, accepting it also needs the environment named.
	prod := append([]string{"NIGHTSHIFT_ENV=production"}, env...)
	r = cli(t, prod, "--config", p.config, "run", "--entity", "trainees", "--accept-loss", "trainees", "--reason", "restored after the incident")
	require.Equal(t, exitLocked, r.code, r.stderr)
	require.Contains(t, r.stderr, "--confirm production")
	r = cli(t, prod, "--config", p.config, "run", "--entity", "trainees", "--accept-loss", "trainees", "--reason", "restored after the incident", "--confirm", "production")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.NotEqual(t, before["trainees"], warehouseState(t, p.wh)["trainees"])
	require.True(t, strings.HasPrefix(fmt.Sprint(hook.received(t)[len(hook.received(t))-1]["status"]), "succeeded"))
}

// A backfill publishes through the same loss check: reloading an entity
// whose source lost a fifth of its rows is refused, changing nothing, until
// the loss is accepted.
func TestBackfillOfALostSourceIsRefusedUntilAccepted(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.05)
	hook := newWebhook(t)
	env := lossEnv(hook)
	require.Equal(t, exitOK, cli(t, env, "--config", p.config, "run").code)
	var total int64
	require.NoError(t, rfQueryRow(t, p.src, "SELECT count(*) FROM trainees", &total))
	gone := deleteTrainees(t, p.src, fmt.Sprintf("t.id IN (SELECT id FROM trainees t WHERE %s ORDER BY id LIMIT %d)", notNewest, total/5))
	before := warehouseState(t, p.wh)

	backfill := []string{"--config", p.config, "backfill", "--entity", "trainees", "--chunk-rows", "20", "--reason", "reload"}
	r := cli(t, env, backfill...)
	require.Equal(t, exitRefused, r.code, r.stderr)
	require.Contains(t, r.stderr, "loss detected, nothing published: trainees:")
	require.Equal(t, before, warehouseState(t, p.wh), "nothing was swapped in")

	r = cli(t, env, append(backfill, "--accept-loss", "trainees")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	var published int64
	require.NoError(t, rfQueryRow(t, p.wh, "SELECT count(*) FROM reporting.trainees", &published))
	require.Equal(t, total-int64(len(gone)), published)
}
