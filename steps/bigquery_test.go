package steps_test

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/bqtest"
	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/steps/loadbigquery"
)

func withBigQuery(t *testing.T, b *bundle) *bqtest.Server {
	t.Helper()
	fake := bqtest.New(t)
	b.deps.BigQuery = &loadbigquery.Target{
		Client: fake.Client(t, "proj"), Dataset: "ns", Location: "EU", PII: loadbigquery.PIIHash,
		Key: []byte("0123456789abcdef0123456789abcdef"), Labels: map[string]string{"managed-by": "nightshift"},
	}
	return fake
}

func TestBigQueryGetsExactValuesAndKeepsThePreviousVersion(t *testing.T) {
	t.Parallel()
	b := setup(t)
	fake := withBigQuery(t, b)
	rep := b.run(t, &samples)
	require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)

	table, ok := fake.Table("proj", "ns", "samples")
	require.True(t, ok)
	require.Len(t, table.Rows, 6)
	byID := map[int64]map[string]any{}
	for _, r := range table.Rows {
		byID[r["id"].(int64)] = r
	}
	require.Equal(t, time.Date(2024, 3, 31, 1, 0, 0, 123456000, time.UTC), byID[1]["seen_at"], "microseconds survive")
	require.Equal(t, time.Date(2099, 12, 31, 23, 59, 59, 999999000, time.UTC), byID[9223372036854775807]["seen_at"])
	want, _ := new(big.Rat).SetString("-12345678901234567890123456789.123456789")
	require.Zero(t, want.Cmp(byID[2]["amount"].(*big.Rat)), "NUMERIC(38,9) exact: %v", byID[2]["amount"])
	require.Equal(t, bqtest.Date("0001-01-01"), byID[2]["born_on"])
	require.Equal(t, "王小明", byID[2]["name"])
	require.JSONEq(t, `{"a": [1, 2, {"b": null}]}`, byID[1]["doc"].(string))
	require.Nil(t, byID[-9223372036854775808]["flag"])
	require.Equal(t, "seven", byID[6]["code_name"])
	fields := map[string]string{}
	for _, f := range table.Meta.Schema.Fields {
		fields[f.Name] = f.Type + "/" + f.Mode + "/" + f.Description
	}
	require.Equal(t, "NUMERIC/NULLABLE/numeric(38,9)", fields["amount"])
	require.Equal(t, "TIMESTAMP/NULLABLE/timestamp", fields["seen_at"])
	require.Equal(t, "JSON/NULLABLE/jsonb", fields["doc"])
	require.Equal(t, "INTEGER/REQUIRED/id", fields["id"])

	// A second run replaces the table and keeps the first load as __previous.
	_, err := b.src.Exec(context.Background(), "DELETE FROM samples WHERE id = 6")
	require.NoError(t, err)
	require.Equal(t, pipeline.StatusSucceeded, b.run(t, &samples).Status)
	table, _ = fake.Table("proj", "ns", "samples")
	require.Len(t, table.Rows, 5)
	previous, ok := fake.Table("proj", "ns", "samples__previous")
	require.True(t, ok)
	require.Len(t, previous.Rows, 6)
}

func TestBigQueryErrorsAreRetriedOnlyWhenTransient(t *testing.T) {
	t.Parallel()
	t.Run("rate limit is retried", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.runner.Retry = pipeline.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}
		fake := withBigQuery(t, b)
		fake.FailNext("POST", "/upload/", 1, 403, "rateLimitExceeded", "Exceeded rate limits: too many table update operations")
		rep := b.run(t, &samples)
		require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)
		var attempts []string
		rows, err := b.wh.Query(context.Background(), "SELECT status || ' ' || coalesce(error_class, '') FROM nightshift.step_runs WHERE step = 'load-bigquery' ORDER BY attempt")
		require.NoError(t, err)
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			attempts = append(attempts, s)
		}
		require.Equal(t, []string{"failed transient", "succeeded "}, attempts)
	})
	t.Run("invalid fails at once with BigQuery's message", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.runner.Retry = pipeline.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}
		fake := withBigQuery(t, b)
		fake.FailNextLoad("invalid", "Error while reading data, error message: column amount out of range")
		rep := b.run(t, &samples)
		require.Equal(t, pipeline.StatusFailed, rep.Status)
		require.Contains(t, rep.Err.Error(), "load-bigquery failed after 1 attempt(s) (permanent)")
		require.Contains(t, rep.Err.Error(), "column amount out of range")
	})
}
