package steps_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/bqtest"
	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps"
	"github.com/dfe-nightshift/nightshift/steps/loadbigquery"
)

// personStatuses is a statuses entity that has grown personal columns, as
// one could: the policy must reach them on every way to BigQuery, the
// entity's table and its daily history alike.
var personStatuses = schemas.Contract{
	Entity: "person_statuses", Description: "Statuses that name the person they are about.", Source: "src", Table: "person_statuses",
	PrimaryKey: []string{"entity_type", "entity_id"}, MinSchemaVersion: "20240101000000", Mode: schemas.Full, History: true,
	Columns: []schemas.Column{
		{Name: "entity_type", SourceType: "text", Type: schemas.Text, LowCardinality: true, Description: "What the status is of."},
		{Name: "entity_id", SourceType: "int8", Type: schemas.Int64, Description: "Id of the entity."},
		{Name: "status", SourceType: "text", Type: schemas.Text, Nullable: true, Description: "The status."},
		{Name: "holder_email", SourceType: "text", Type: schemas.Text, Nullable: true, PII: schemas.PIIPersonal, Description: "Email of the person."},
		{Name: "holder_born_on", SourceType: "date", Type: schemas.Date, Nullable: true, PII: schemas.PIIPersonal, Description: "Birth date of the person."},
	},
}

const personStatusesDDL = `
CREATE TABLE person_statuses (entity_type text NOT NULL, entity_id bigint NOT NULL, status text, holder_email text, holder_born_on date,
  PRIMARY KEY (entity_type, entity_id));
INSERT INTO person_statuses VALUES
  ('trainee', 1, 'draft', 'ada.lovelace@example.org', '1815-12-10'),
  ('trainee', 2, 'awarded', 'alan.turing@example.org', '1912-06-23'),
  ('trainee', 3, NULL, NULL, NULL),
  ('trainee', 4, 'withdrawn', 'grace.hopper@example.org', '1906-12-09');`

// The personal values, as the source holds them: none may leave raw.
var (
	holderEmails = []string{"ada.lovelace@example.org", "alan.turing@example.org", "grace.hopper@example.org"}
	holderBirths = []string{"1815-12-10", "1912-06-23", "1906-12-09"}
)

// operator starts the runs: the ledger's started_by names a person too.
const operator = "pii-operator@ops-host.example"

const piiKey = "0123456789abcdef0123456789abcdef"

// documentedHash is the README's pseudonym, computed here apart from the
// code under test: the hex HMAC-SHA256, keyed with NIGHTSHIFT_PII_HMAC_KEY,
// of the value as PostgreSQL prints it.
func documentedHash(value string) string {
	m := hmac.New(sha256.New, []byte(piiKey))
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

func withPersonStatuses(t *testing.T, b *bundle, pii loadbigquery.PIIPolicy) *bqtest.Server {
	t.Helper()
	_, err := b.src.Exec(context.Background(), personStatusesDDL)
	require.NoError(t, err)
	fake := withBigQuery(t, b)
	b.deps.BigQuery.PII, b.deps.BigQuery.Key = pii, []byte(piiKey)
	return fake
}

// runPersonStatuses runs personStatuses as operator.
func runPersonStatuses(t *testing.T, b *bundle) pipeline.Report {
	t.Helper()
	run := &pipeline.Run{Env: "test", Trigger: pipeline.TriggerManual, Mode: "full", Entities: []string{personStatuses.Entity}, StartedBy: operator}
	rep, err := b.runner.Do(context.Background(), run, time.Minute, func(ctx context.Context, run *pipeline.Run) (*pipeline.Plan, error) {
		return steps.NewPlan(ctx, run.ID, b.deps, []*schemas.Contract{&personStatuses})
	})
	require.NoError(t, err)
	return rep
}

// loadLedger loads the day's run ledger, as `nightshift run` does after a
// run.
func loadLedger(t *testing.T, b *bundle, rep pipeline.Report) error {
	t.Helper()
	return loadbigquery.LoadLedger(context.Background(), *b.deps.BigQuery, b.wh, rep.Run.StartedAt, t.TempDir())
}

// runStatuses runs personStatuses, then loads the ledger.
func runStatuses(t *testing.T, b *bundle) (pipeline.Report, error) {
	t.Helper()
	rep := runPersonStatuses(t, b)
	return rep, loadLedger(t, b, rep)
}

// requireNoRawValueLeft scans every file that reached the fake, its bytes
// (text that snappy left literal, and each column chunk's min/max
// statistics, stored plain) and its decoded values, for the raw values.
func requireNoRawValueLeft(t *testing.T, fake *bqtest.Server) {
	t.Helper()
	raws := append(append([]string{operator}, holderEmails...), holderBirths...)
	uploads := fake.Uploads()
	require.NotEmpty(t, uploads)
	for _, u := range uploads {
		for _, raw := range raws {
			require.False(t, bytes.Contains(u.Data, []byte(raw)), "%q in the bytes of job %s", raw, u.JobID)
		}
		for _, birth := range holderBirths { // a DATE travels as int32 days
			d, err := time.Parse(time.DateOnly, birth)
			require.NoError(t, err)
			days := binary.LittleEndian.AppendUint32(nil, uint32(int32(d.Unix()/86400))) //nolint:gosec // days since 1970 fit
			require.False(t, bytes.Contains(u.Data, days), "%s as a DATE in the bytes of job %s", birth, u.JobID)
		}
		_, rows, err := u.Decode()
		require.NoError(t, err)
		for _, row := range rows {
			for col, v := range row {
				for _, raw := range raws {
					require.NotContains(t, fmt.Sprint(v), raw, "job %s, column %s", u.JobID, col)
				}
			}
		}
	}
}

func TestBigQueryPIIIsHashedOrDroppedOnEveryUpload(t *testing.T) {
	t.Parallel()
	personal := []string{"holder_email", "holder_born_on"}
	tables := []string{personStatuses.Entity, loadbigquery.DailyTable(personStatuses.Entity), loadbigquery.LedgerTable}

	t.Run("hash", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		fake := withPersonStatuses(t, b, loadbigquery.PIIHash)
		rep, err := runStatuses(t, b)
		require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)
		require.NoError(t, err)

		want := map[int64][2]any{ // entity_id → the hashes of email and birth date
			1: {documentedHash("ada.lovelace@example.org"), documentedHash("1815-12-10")},
			2: {documentedHash("alan.turing@example.org"), documentedHash("1912-06-23")},
			3: {nil, nil}, // NULL stays NULL
			4: {documentedHash("grace.hopper@example.org"), documentedHash("1906-12-09")},
		}
		for _, name := range tables[:2] {
			table, ok := fake.Table("proj", "ns", name)
			require.True(t, ok, name)
			require.Len(t, table.Rows, 4, name)
			for _, row := range table.Rows {
				id := row["entity_id"].(int64)
				require.Equal(t, want[id], [2]any{row["holder_email"], row["holder_born_on"]}, "%s entity %d", name, id)
			}
			for _, f := range table.Meta.Schema.Fields {
				if f.Name == "holder_born_on" {
					require.Equal(t, "STRING", f.Type, "a hashed date is a string of hex")
					require.Contains(t, f.Description, "HMAC-SHA256")
				}
			}
		}
		ledger, ok := fake.Table("proj", "ns", loadbigquery.LedgerTable)
		require.True(t, ok)
		require.Len(t, ledger.Rows, 1)
		require.Equal(t, documentedHash(operator), ledger.Rows[0]["started_by"])

		// Every upload: the personal columns are there, as hashes only.
		for _, u := range fake.Uploads() {
			cols, rows, err := u.Decode()
			require.NoError(t, err)
			for _, row := range rows {
				for _, col := range append([]string{"started_by"}, personal...) {
					if v, ok := row[col].(string); ok {
						require.Regexp(t, "^[0-9a-f]{64}$", v, "job %s, column %s", u.JobID, col)
					}
				}
			}
			if strings.HasPrefix(u.Table, loadbigquery.DailyTable(personStatuses.Entity)+"$") {
				require.Equal(t, "observed_on", cols[0], "observed_on is added to what the policy let through")
				require.Contains(t, cols, "holder_email")
			}
		}
		requireNoRawValueLeft(t, fake)
	})

	t.Run("drop", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		fake := withPersonStatuses(t, b, loadbigquery.PIIDrop)
		rep, err := runStatuses(t, b)
		require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)
		require.NoError(t, err)

		gone := append([]string{"started_by"}, personal...)
		for _, name := range tables {
			table, ok := fake.Table("proj", "ns", name)
			require.True(t, ok, name)
			require.NotEmpty(t, table.Rows, name)
			for _, f := range table.Meta.Schema.Fields {
				require.NotContains(t, gone, f.Name, "%s.%s", name, f.Name)
			}
			for _, row := range table.Rows {
				for _, col := range gone {
					require.NotContains(t, row, col, name)
				}
			}
		}
		daily, _ := fake.Table("proj", "ns", loadbigquery.DailyTable(personStatuses.Entity))
		require.Len(t, daily.Rows, 4, "the statuses themselves still go")
		uploads := fake.Uploads()
		require.Len(t, uploads, 3, "the entity, its day and the ledger")
		for _, u := range uploads {
			cols, _, err := u.Decode()
			require.NoError(t, err)
			for _, col := range gone {
				require.NotContains(t, cols, col, "job %s", u.JobID)
			}
		}
		requireNoRawValueLeft(t, fake)
	})
}
