package config

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Read takes the file and the environment as Load does, without asking for
// what only a run needs (a warehouse, the PII key), but a file that does
// not parse is still an error.
func TestReadChecksOnlyThatTheConfigurationParses(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "bigquery:\n  project: analytics\n  dataset: teacher_training\n")
	_, err := Load(path, nil)
	require.ErrorContains(t, err, "warehouse.url")

	cfg, err := Read(path, []string{"NIGHTSHIFT_BIGQUERY_PII=drop"})
	require.NoError(t, err)
	require.Equal(t, BigQuery{Project: "analytics", Dataset: "teacher_training", Location: "europe-west2", PII: "drop"}, cfg.BigQuery)

	_, err = Read(writeFile(t, "bigquery:\n  datasett: x\n"), nil)
	require.ErrorContains(t, err, "datasett")
	_, err = Read(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	require.ErrorContains(t, err, "--config")
}
