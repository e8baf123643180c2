package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/schemas/lookml"
	"github.com/dfe-nightshift/nightshift/steps/loadbigquery"
)

// requireGolden holds the directory to the generator's golden files for
// the policy: the command writes exactly what the generator's tests check.
func requireGolden(t *testing.T, dir string, policy lookml.Policy) {
	t.Helper()
	golden := filepath.Join("..", "..", "schemas", "lookml", "testdata", string(policy))
	want, err := os.ReadDir(golden)
	require.NoError(t, err)
	got, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, got, len(want))
	for _, e := range want {
		w, err := os.ReadFile(filepath.Join(golden, e.Name()))
		require.NoError(t, err)
		g, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err, e.Name())
		require.Equal(t, string(w), string(g), e.Name())
	}
}

// `nightshift lookml` needs only the BigQuery settings: no warehouse, no
// PII key. It takes the policy from the configuration or --pii.
func TestLookMLWritesTheProjectOfTheConfiguredDataset(t *testing.T) {
	t.Parallel()
	require.Equal(t, string(loadbigquery.PIIHash), string(lookml.Hash))
	require.Equal(t, string(loadbigquery.PIIDrop), string(lookml.Drop))
	config := writeConfig(t, "bigquery:\n  project: analytics\n  dataset: teacher_training\n  pii: hash\n")
	dir := filepath.Join(t.TempDir(), "looker")

	r := cli(t, nil, "--config", config, "lookml", "--out", dir)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "to "+dir+" (dataset analytics.teacher_training, PII hash, connection nightshift_bigquery)")
	requireGolden(t, dir, lookml.Hash)

	r = cli(t, nil, "--config", config, "lookml", "--out", dir, "--pii", "drop")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "PII drop")
	requireGolden(t, dir, lookml.Drop)

	r = cli(t, []string{"NIGHTSHIFT_BIGQUERY_PII=hash"}, "--config", writeConfig(t, "bigquery:\n  project: analytics\n  dataset: teacher_training\n  pii: drop\n"), "lookml", "--out", dir)
	require.Equal(t, exitOK, r.code, r.stderr)
	requireGolden(t, dir, lookml.Hash)
}

func TestLookMLRefusesBadFlagsAndConfiguration(t *testing.T) {
	t.Parallel()
	good := writeConfig(t, "bigquery:\n  dataset: teacher_training\n")
	aFile := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(aFile, nil, 0o600))
	handWritten := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(handWritten, "trainees.view.lkml"), []byte("view: trainees {}\n"), 0o600))
	cases := []struct {
		name    string
		config  string
		args    []string
		mention string
		after   func(t *testing.T)
	}{
		{"no --out", good, []string{"lookml"}, `required flag(s) "out" not set`, nil},
		{"bad --pii", good, []string{"lookml", "--out", t.TempDir(), "--pii", "mask"}, `--pii: must be hash or drop, not "mask"`, nil},
		{"bad bigquery.pii", writeConfig(t, "bigquery:\n  pii: mask\n"), []string{"lookml", "--out", t.TempDir()}, `bigquery.pii (NIGHTSHIFT_BIGQUERY_PII): must be hash or drop, not "mask"`, nil},
		{"bad --connection", good, []string{"lookml", "--out", t.TempDir(), "--connection", `a"b`}, `connection "a\"b" must be a Looker connection name`, nil},
		{"unknown flag", good, []string{"lookml", "--outt", t.TempDir()}, "unknown flag: --outt", nil},
		{"misspelt setting", writeConfig(t, "bigquery:\n  datasett: x\n"), []string{"lookml", "--out", t.TempDir()}, "datasett", nil},
		{"--out is a file", good, []string{"lookml", "--out", aFile}, "--out: mkdir " + aFile, nil},
		{"a hand-written view in the way", good, []string{"lookml", "--out", handWritten}, "trainees.view.lkml not written by nightshift lookml", func(t *testing.T) {
			t.Helper()
			body, err := os.ReadFile(filepath.Join(handWritten, "trainees.view.lkml"))
			require.NoError(t, err)
			require.Equal(t, "view: trainees {}\n", string(body), "a file nightshift did not write is never overwritten")
			entries, err := os.ReadDir(handWritten)
			require.NoError(t, err)
			require.Len(t, entries, 1, "nothing is written beside it")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := cli(t, nil, append([]string{"--config", tc.config}, tc.args...)...)
			require.Equal(t, exitUsage, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
			require.Contains(t, r.stderr, tc.mention)
			if tc.after != nil {
				tc.after(t)
			}
		})
	}
}
