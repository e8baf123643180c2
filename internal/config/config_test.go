package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nightshift.yaml")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}

const validYAML = `
environment: staging
warehouse:
  url: postgres://nightshift@wh.internal:5432/warehouse
sources:
  register:
    url: postgres://reader@register.internal/register
run:
  parallelism: 4
  retry_base: 2s
`

func TestLoadFileAndEnvironment(t *testing.T) {
	t.Parallel()
	path := writeFile(t, validYAML)
	cfg, err := Load(path, []string{
		"NIGHTSHIFT_ENV=production",
		"NIGHTSHIFT_WAREHOUSE_PASSWORD=s3cret",
		"NIGHTSHIFT_SOURCE_RECT_URL=host=rect.internal dbname=rect user=reader",
		"NIGHTSHIFT_RUN_MAX_ATTEMPTS=5",
		"PATH=/usr/bin",
	})
	require.NoError(t, err)
	require.Equal(t, "production", cfg.Environment)
	require.Equal(t, "s3cret", cfg.Warehouse.Password)
	require.Equal(t, "reporting", cfg.Warehouse.Schema, "default kept")
	require.Equal(t, "host=rect.internal dbname=rect user=reader", cfg.Sources["rect"].URL)
	require.Equal(t, "postgres://reader@register.internal/register", cfg.Sources["register"].URL)
	require.Equal(t, 4, cfg.Run.Parallelism)
	require.Equal(t, 5, cfg.Run.MaxAttempts)
	require.Equal(t, 2*time.Second, cfg.Run.RetryBase)
}

func TestLoadRejectsWithSettingName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		yaml    string
		env     []string
		setting string
	}{
		{"unknown key", validYAML + "\nwarehose:\n  url: x\n", nil, "warehose"},
		{"unknown nested key", strings.Replace(validYAML, "parallelism: 4", "paralelism: 4", 1), nil, "paralelism"},
		{"missing warehouse", "environment: dev\n", nil, "warehouse.url"},
		{"empty source url", strings.Replace(validYAML, "sources:\n", "sources:\n  rect:\n    url: \"\"\n", 1), nil, "sources.rect.url"},
		{"password in url", strings.Replace(validYAML, "nightshift@wh", "nightshift:hunter2@wh", 1), nil, "warehouse.url"},
		{"password in dsn", validYAML, []string{"NIGHTSHIFT_SOURCE_RECT_URL=host=x password=hunter2"}, "sources.rect.url"},
		{"unknown env", validYAML, []string{"NIGHTSHIFT_WAREHOUSE_PASWORD=x"}, "NIGHTSHIFT_WAREHOUSE_PASWORD"},
		{"bad duration", validYAML, []string{"NIGHTSHIFT_RUN_DEADLINE=soon"}, "NIGHTSHIFT_RUN_DEADLINE"},
		{"bad number", strings.Replace(validYAML, "parallelism: 4", "parallelism: 0", 1), nil, "run.parallelism"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(writeFile(t, tc.yaml), tc.env)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.setting)
			require.NotContains(t, err.Error(), "hunter2", "a password must never be printed")
			var ce *Error
			require.True(t, errors.As(err, &ce), "a configuration error is a *config.Error: %v", err)
		})
	}
}

func TestLoadMissingExplicitFile(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	require.ErrorContains(t, err, "--config")
}
