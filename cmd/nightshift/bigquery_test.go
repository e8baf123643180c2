package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/bqtest"
	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/schemas"
)

const piiKey = "a-secret-key-of-at-least-32-characters"

func withBigQueryConfig(t *testing.T, p project, fake *bqtest.Server, pii string) string {
	t.Helper()
	body, err := os.ReadFile(p.config)
	require.NoError(t, err)
	return writeConfig(t, string(body)+"bigquery:\n  project: analytics\n  dataset: teacher_training\n  endpoint: "+fake.URL()+"\n  pii: "+pii+"\n")
}

func TestBigQueryHoldsEveryEntityWithPIIHashed(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.05)
	fake := bqtest.New(t)
	config := withBigQueryConfig(t, p, fake, "hash")
	env := []string{"NIGHTSHIFT_PII_HMAC_KEY=" + piiKey}

	r := cli(t, env, "--config", config, "run")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "BigQuery: dataset analytics.teacher_training")
	wh := pgtest.Pool(t, p.wh)
	for _, c := range schemas.All() {
		table, ok := fake.Table("analytics", "teacher_training", c.Entity)
		require.True(t, ok, c.Entity)
		require.NotEmpty(t, table.Meta.Description, c.Entity)
		require.Len(t, table.Meta.Schema.Fields, len(c.Fields()), c.Entity)
		// The warehouse equals the source (checked elsewhere); BigQuery
		// must hold the same rows: same count, same sum of keys.
		key := c.PrimaryKey[len(c.PrimaryKey)-1]
		var rows, sum int64
		require.NoError(t, wh.QueryRow(context.Background(),
			"SELECT count(*), coalesce(sum("+key+"), 0)::int8 FROM reporting."+c.Entity).Scan(&rows, &sum))
		var got int64
		for _, row := range table.Rows {
			got += row[key].(int64)
		}
		require.Len(t, table.Rows, int(rows), c.Entity)
		require.Equal(t, sum, got, c.Entity)
	}
	trainees, _ := fake.Table("analytics", "teacher_training", "trainees")
	var n int64
	var firstNames, dob *string
	require.NoError(t, pgtest.Pool(t, p.src).QueryRow(context.Background(), "SELECT count(*) FROM trainees").Scan(&n))
	require.Len(t, trainees.Rows, int(n))
	require.NoError(t, pgtest.Pool(t, p.src).QueryRow(context.Background(),
		"SELECT first_names, date_of_birth::text FROM trainees WHERE first_names IS NOT NULL AND date_of_birth IS NOT NULL ORDER BY id LIMIT 1").Scan(&firstNames, &dob))
	hash := func(s string) string {
		m := hmac.New(sha256.New, []byte(piiKey))
		m.Write([]byte(s))
		return hex.EncodeToString(m.Sum(nil))
	}
	var found bool
	for _, row := range trainees.Rows {
		if row["first_names"] == hash(*firstNames) {
			found = true
			require.Equal(t, hash(*dob), row["date_of_birth"], "dates are hashed as PostgreSQL prints them")
		}
		for _, col := range []string{"last_name", "email", "trn", "ethnic_group"} {
			if v, ok := row[col].(string); ok {
				require.Len(t, v, 64, "%s is a hex HMAC", col)
			}
		}
	}
	require.True(t, found, "the hash of a source first name is in BigQuery")
	requireAuditedNamesHashed(t, pgtest.Pool(t, p.src), fake, hash)
	for _, f := range trainees.Meta.Schema.Fields {
		if f.Name == "first_names" {
			require.Equal(t, "STRING", f.Type)
			require.Contains(t, f.Description, "pseudonymised")
		}
	}

	// The run ledger's day partition is replaced by the second run, never
	// duplicated.
	ledger, ok := fake.Table("analytics", "teacher_training", "nightshift_runs")
	require.True(t, ok)
	require.Len(t, ledger.Rows, 1)
	r = cli(t, env, "--config", config, "run")
	require.Equal(t, exitOK, r.code, r.stderr)
	ledger, _ = fake.Table("analytics", "teacher_training", "nightshift_runs")
	require.Len(t, ledger.Rows, 2, "two runs today, each once")
	daily, ok := fake.Table("analytics", "teacher_training", "register_statuses_daily")
	require.True(t, ok)
	require.Len(t, daily.Rows, int(n), "today's statuses, once, although two runs loaded them")
	require.Equal(t, "observed_on", daily.Meta.TimePartitioning.Field)
	statuses := map[string]bool{}
	for _, row := range ledger.Rows {
		statuses[row["status"].(string)] = true
		require.Equal(t, "test", row["env"])
	}
	require.Equal(t, map[string]bool{"succeeded": true}, statuses)
}

func TestBigQueryDropPolicyLeavesPIIOut(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.05)
	fake := bqtest.New(t)
	config := withBigQueryConfig(t, p, fake, "drop")
	r := cli(t, nil, "--config", config, "run", "--entity", "trainees", "--entity", "teachers")
	require.Equal(t, exitOK, r.code, r.stderr)
	for _, entity := range []string{"trainees", "teachers"} {
		table, _ := fake.Table("analytics", "teacher_training", entity)
		c, _ := schemas.Lookup(entity)
		for _, f := range table.Meta.Schema.Fields {
			col, ok := c.Column(f.Name)
			if !ok { // a derived <code>_name column
				col, ok = c.Column(strings.TrimSuffix(f.Name, schemas.LabelSuffix))
			}
			require.True(t, ok, f.Name)
			require.Equal(t, schemas.PIINone, col.PII, "%s.%s must not reach BigQuery", entity, f.Name)
		}
	}
	// The run ledger's started_by names a person: left out too.
	ledger, ok := fake.Table("analytics", "teacher_training", "nightshift_runs")
	require.True(t, ok)
	require.Len(t, ledger.Rows, 1)
	for _, f := range ledger.Meta.Schema.Fields {
		require.NotEqual(t, "started_by", f.Name)
	}
	require.NotContains(t, ledger.Rows[0], "started_by")
}

func TestBigQueryNeedsAKeyToHash(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.05)
	config := withBigQueryConfig(t, p, bqtest.New(t), "hash")
	r := cli(t, []string{"NIGHTSHIFT_PII_HMAC_KEY=short"}, "--config", config, "run")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "NIGHTSHIFT_PII_HMAC_KEY: must hold a secret of at least 32 characters")
	require.NotContains(t, r.stderr, "short", "secrets are never printed")
}

// A restore in BigQuery follows the warehouse's, is safe to retry after a
// failed copy job, and done twice is the same as once.
func TestRestoreAlsoRestoresBigQuery(t *testing.T) {
	t.Parallel()
	p := newProject(t, 0.05)
	fake := bqtest.New(t)
	config := withBigQueryConfig(t, p, fake, "hash")
	env := []string{"NIGHTSHIFT_PII_HMAC_KEY=" + piiKey}
	require.Equal(t, exitOK, cli(t, env, "--config", config, "run", "--entity", "trainees").code)
	first, _ := fake.Table("analytics", "teacher_training", "trainees")
	firstRows := len(first.Rows)
	_, err := pgtest.Pool(t, p.src).Exec(context.Background(), "DELETE FROM trainee_withdrawal_reasons; DELETE FROM trainee_withdrawals; DELETE FROM trainees WHERE id % 2 = 0")
	require.NoError(t, err)
	require.Equal(t, exitOK, cli(t, env, "--config", config, "run", "--entity", "trainees", "--accept-loss", "trainees", "--reason", "half the trainees vanished").code)
	second, _ := fake.Table("analytics", "teacher_training", "trainees")
	require.Less(t, len(second.Rows), firstRows)

	// The copy that puts the old version back fails once: the restore is
	// retried to the same end, without copying the current table twice.
	fake.FailJob("nightshift_run3_trainees_restore", "backendError", "copy failed")
	r := cli(t, env, "--config", config, "restore", "--entity", "trainees", "--reason", "half the trainees vanished")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, 1, fake.Executions("nightshift_run3_trainees_discard"))
	require.Equal(t, 1, fake.Executions("nightshift_run3_trainees_restore_r2"))
	restored, _ := fake.Table("analytics", "teacher_training", "trainees")
	require.Len(t, restored.Rows, firstRows, "BigQuery has the previous version back")
	discarded, _ := fake.Table("analytics", "teacher_training", "trainees__discarded")
	require.Len(t, discarded.Rows, len(second.Rows), "and keeps the replaced one")
	_, leftover := fake.Table("analytics", "teacher_training", "trainees__restoring")
	require.False(t, leftover)

	// Twice is the same as once, in both targets.
	r = cli(t, env, "--config", config, "restore", "--entity", "trainees", "--reason", "again")
	require.Equal(t, exitOK, r.code, r.stderr)
	again, _ := fake.Table("analytics", "teacher_training", "trainees")
	require.Len(t, again.Rows, firstRows)
	discarded, _ = fake.Table("analytics", "teacher_training", "trainees__discarded")
	require.Len(t, discarded.Rows, len(second.Rows))
}

// requireAuditedNamesHashed checks that a seeded trainee's name reaches
// BigQuery's audits only as the hash its column gets, inside
// audited_changes too, and that its state there is the raw code.
func requireAuditedNamesHashed(t *testing.T, src *pgxpool.Pool, fake *bqtest.Server, hash func(string) string) {
	t.Helper()
	var id int64
	var first, last string
	require.NoError(t, src.QueryRow(context.Background(), `SELECT t.id, t.first_names, t.last_name FROM trainees t
		JOIN audits a ON a.auditable_type = 'Trainee' AND a.auditable_id = t.id AND a.action = 'create' AND a.audited_changes ? 'last_name'
		WHERE length(t.last_name) > 3 ORDER BY t.id LIMIT 1`).Scan(&id, &first, &last))
	audits, ok := fake.Table("analytics", "teacher_training", "audits")
	require.True(t, ok)
	var creates int
	for _, row := range audits.Rows {
		text, _ := row["audited_changes"].(string)
		for col, v := range row {
			require.NotContains(t, fmt.Sprint(v), `"`+last+`"`, "audit %v, column %s", row["id"], col)
		}
		if row["auditable_type"] != "Trainee" || row["auditable_id"] != id || row["action"] != "create" {
			continue
		}
		creates++
		var changes map[string]any
		require.NoError(t, json.Unmarshal([]byte(text), &changes))
		require.Equal(t, hash(first), changes["first_names"])
		require.Equal(t, hash(last), changes["last_name"])
		require.Contains(t, changes, "state", "a column that is not personal arrives as it is")
	}
	require.Equal(t, 1, creates)
}
