package steps_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/bqtest"
	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps"
	"github.com/dfe-nightshift/nightshift/steps/loadbigquery"
)

// auditsDDL is Register's audits table (sql/source/register/schema.sql)
// with changes whose personal keys are known: a trainee's names, email,
// date of birth and sex (special), a key the trainees contract ignores, and
// every key of a model nightshift has no contract for (Degree).
const auditsDDL = `
INSERT INTO schema_migrations VALUES ('20250721121140');
CREATE TABLE audits (
    id bigserial PRIMARY KEY, action varchar, associated_id integer, associated_type varchar,
    auditable_id integer, auditable_type varchar, audited_changes jsonb, comment varchar,
    created_at timestamp, remote_address varchar, request_uuid varchar, user_id integer,
    user_type varchar, username varchar, version integer DEFAULT 0);
INSERT INTO audits (action, associated_id, associated_type, auditable_id, auditable_type, audited_changes, comment,
    created_at, remote_address, request_uuid, user_id, user_type, username, version) VALUES
  ('create', 7, 'Provider', 1, 'Trainee',
   '{"first_names": "Perpetua", "last_name": "Quillfeather", "email": "perpetua.q@example.org", "date_of_birth": "1987-04-05", "state": 0, "training_route": 1}',
   'Called Perpetua Quillfeather about her record', '2025-08-01 09:00:00', '203.0.113.77', 'req-1', 3, 'User', NULL, 1),
  ('update', 7, 'Provider', 1, 'Trainee',
   '{"state": [0, 1], "last_name": ["Quillfeather", "Brightwater"], "sex": [1, 0], "submitted_for_trn_at": [null, "2025-09-01T10:11:12.345Z"]}',
   NULL, '2025-09-01 10:11:12', '203.0.113.77', 'req-2', NULL, NULL, 'oswin.marchbanks@provider.example', 2),
  ('update', 7, 'Provider', 1, 'Trainee',
   '{"state": [1, 2], "email": [null, "p.brightwater@example.org"], "additional_dttp_data": "Perpetua Brightwater, DTTP"}',
   NULL, '2025-09-01 16:00:00', NULL, 'req-3', NULL, NULL, 'Oswin Marchbanks', 3),
  ('update', 1, 'Trainee', 4, 'Degree',
   '{"subject": ["Physics", "Chemistry"], "institution": "Mallowmere University"}',
   NULL, '2025-09-02 08:00:00', NULL, 'req-4', 3, 'User', NULL, 2),
  ('update', NULL, NULL, 7, 'Provider', '{"accredited": [false, true]}', NULL, '2025-09-03 08:00:00', NULL, 'req-5', NULL, NULL, NULL, 2),
  ('destroy', 7, 'Provider', 2, 'Trainee', NULL, NULL, '2025-09-04 08:00:00', NULL, 'req-6', NULL, NULL, NULL, 1);`

// auditRaws are the personal values of auditsDDL: none may reach BigQuery.
var auditRaws = []string{
	"Perpetua", "Quillfeather", "Brightwater", "perpetua.q@example.org", "1987-04-05", "p.brightwater@example.org",
	"Oswin", "oswin.marchbanks", "203.0.113.77", "Physics", "Chemistry", "Mallowmere", "DTTP",
}

func runAudits(t *testing.T, pii loadbigquery.PIIPolicy) *bqtest.Server {
	t.Helper()
	b := setup(t)
	_, err := b.src.Exec(context.Background(), auditsDDL)
	require.NoError(t, err)
	b.deps.Sources["register"] = b.src
	fake := withBigQuery(t, b)
	b.deps.BigQuery.PII, b.deps.BigQuery.Key = pii, []byte(piiKey)
	run := &pipeline.Run{Env: "test", Trigger: pipeline.TriggerManual, Mode: "full", Entities: []string{"audits"}, StartedBy: "test"}
	rep, err := b.runner.Do(context.Background(), run, time.Minute, func(ctx context.Context, run *pipeline.Run) (*pipeline.Plan, error) {
		return steps.NewPlan(ctx, run.ID, b.deps, []*schemas.Contract{&schemas.Audits})
	})
	require.NoError(t, err)
	require.Equal(t, pipeline.StatusSucceeded, rep.Status, "%v", rep.Err)

	// The warehouse keeps every value, as it does the personal columns.
	var whChanges string
	require.NoError(t, b.wh.QueryRow(context.Background(), "SELECT audited_changes::text FROM reporting.audits WHERE id = 1").Scan(&whChanges))
	require.Contains(t, whChanges, "Perpetua")

	for _, u := range fake.Uploads() {
		for _, raw := range auditRaws {
			require.False(t, bytes.Contains(u.Data, []byte(raw)), "%q in the bytes of job %s", raw, u.JobID)
		}
		_, rows, err := u.Decode()
		require.NoError(t, err)
		for _, row := range rows {
			for col, v := range row {
				for _, raw := range auditRaws {
					require.NotContains(t, fmt.Sprint(v), raw, "job %s, column %s", u.JobID, col)
				}
			}
		}
	}
	return fake
}

// auditChanges is each audit's audited_changes as BigQuery holds them.
func auditChanges(t *testing.T, fake *bqtest.Server) map[int64]map[string]any {
	t.Helper()
	table, ok := fake.Table("proj", "ns", "audits")
	require.True(t, ok)
	require.Len(t, table.Rows, 6)
	out := map[int64]map[string]any{}
	for _, row := range table.Rows {
		id := row["id"].(int64)
		switch v := row["audited_changes"].(type) {
		case nil:
			out[id] = nil
		case string:
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(v), &m), "audit %d: %s", id, v)
			out[id] = m
		default:
			t.Fatalf("audit %d: audited_changes is %T", id, v)
		}
	}
	return out
}

func TestAuditedChangesKeepPIIKeysToTheColumnsPolicy(t *testing.T) {
	t.Parallel()
	h := documentedHash

	t.Run("hash", func(t *testing.T) {
		t.Parallel()
		changes := auditChanges(t, runAudits(t, loadbigquery.PIIHash))
		require.Equal(t, map[string]any{
			"first_names": h("Perpetua"), "last_name": h("Quillfeather"), "email": h("perpetua.q@example.org"),
			"date_of_birth": h("1987-04-05"), "state": 0.0, "training_route": 1.0,
		}, changes[1])
		require.Equal(t, map[string]any{
			"state":     []any{0.0, 1.0},
			"last_name": []any{h("Quillfeather"), h("Brightwater")},
			"sex":       []any{h("1"), h("0")}, // special category, hashed as the column's text
			// Not personal: as Register wrote it.
			"submitted_for_trn_at": []any{nil, "2025-09-01T10:11:12.345Z"},
		}, changes[2])
		require.Equal(t, map[string]any{
			"state": []any{1.0, 2.0}, "email": []any{nil, h("p.brightwater@example.org")},
			// Ignored by the trainees contract: unclassified, so personal.
			"additional_dttp_data": h("Perpetua Brightwater, DTTP"),
		}, changes[3])
		// No contract for degrees: every key is personal.
		require.Equal(t, map[string]any{"subject": []any{h("Physics"), h("Chemistry")}, "institution": h("Mallowmere University")}, changes[4])
		require.Equal(t, map[string]any{"accredited": []any{false, true}}, changes[5])
		require.Nil(t, changes[6])
	})

	t.Run("drop", func(t *testing.T) {
		t.Parallel()
		changes := auditChanges(t, runAudits(t, loadbigquery.PIIDrop))
		require.Equal(t, map[string]any{"state": 0.0, "training_route": 1.0}, changes[1])
		require.Equal(t, map[string]any{"state": []any{0.0, 1.0}, "submitted_for_trn_at": []any{nil, "2025-09-01T10:11:12.345Z"}}, changes[2])
		require.Equal(t, map[string]any{"state": []any{1.0, 2.0}}, changes[3])
		require.Equal(t, map[string]any{}, changes[4])
		require.Equal(t, map[string]any{"accredited": []any{false, true}}, changes[5])
		require.Nil(t, changes[6])
	})
}
