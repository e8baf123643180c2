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

// Every malformed connection string is refused by the configuration, before
// any connection, naming the setting and echoing the value with its password
// masked; the well-formed ones are normalised.
func TestConnectionStringsAreStrict(t *testing.T) {
	t.Parallel()
	refused := map[string]string{
		" postgres://u:hunter2@host/db":           "must not contain a password",
		"postgres:/u:hunter2@host/db":             "must be a postgres:// URL or a key=value connection string",
		"Postgres://u:hunter2@host/db":            "must not contain a password",
		"POSTGRESQL://u@host/db?password=hunter2": "must not contain a password",
		"host=h password = hunter2 dbname=d":      "must not contain a password",
		"host=h PASSWORD=hunter2 dbname=d":        "must not contain a password",
		"host=h password='hunter2' dbname=d":      "must not contain a password",
		"host=h sslpassword=hunter2":              "must not contain a password",
		"mysql://u:hunter2@host/db":               "not a mysql:// URL",
		"postgres:///db":                          "names no host",
		"dbname=d user=u":                         "names no host",
		"host=h sslmode=sometimes":                "cannot be parsed",
		"host=h dbname='unterminated":             "no closing quote",
		"just-a-word":                             "a word has no value",
		"postgres://u@host:notaport/db":           "is not a valid URL",
		"host=h nonsense_parameter=1":             `has an unknown setting "nonsense_parameter"`,
		"postgres://u@h/db?statement_timeout=1":   `has an unknown setting "statement_timeout"`,
	}
	for in, want := range refused {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			_, err := Load(writeFile(t, "environment: test\n"), []string{"NIGHTSHIFT_WAREHOUSE_URL=" + in})
			require.Error(t, err)
			require.Contains(t, err.Error(), "warehouse.url (NIGHTSHIFT_WAREHOUSE_URL): ")
			require.Contains(t, err.Error(), want)
			require.NotContains(t, err.Error(), "hunter2", "a password is never echoed")
		})
	}
	accepted := map[string]string{
		"  postgres://u@host/db  ":                      "postgres://u@host/db",
		"Postgres://u@host:5433/db?sslmode=verify-full": "postgres://u@host:5433/db?sslmode=verify-full",
		"host=h port=5433 dbname='my db' user=u":        "host=h port=5433 dbname='my db' user=u",
		"postgres:///db?host=/var/run/postgresql":       "postgres:///db?host=/var/run/postgresql",
	}
	for in, want := range accepted {
		cfg, err := Load(writeFile(t, "environment: test\n"), []string{"NIGHTSHIFT_WAREHOUSE_URL=" + in})
		require.NoError(t, err, in)
		require.Equal(t, want, cfg.Warehouse.URL)
	}
}

// Settings that are wrong but used to be accepted are errors naming the
// YAML path and the variable, all of them at once.
func TestWrongSettingsAreErrorsNamingPathAndVariable(t *testing.T) {
	t.Parallel()
	yaml := validYAML + "  attempt_timeout: -1s\n  retry_max: 0s\n  max_attempts: three\n"
	_, err := Load(writeFile(t, yaml), []string{
		"NIGHTSHIFT_RUN_RETRY_BASE=-5s",
		"NIGHTSHIFT_SOURCE_REGISTR_URL=postgres://u@h/register",
		"NIGHTSHIFT_RUN_PARALLELISM=2.5",
	})
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		"run.attempt_timeout (NIGHTSHIFT_RUN_ATTEMPT_TIMEOUT): must be positive, or 0 for no limit",
		"run.retry_base (NIGHTSHIFT_RUN_RETRY_BASE): must be positive",
		"run.max_attempts (NIGHTSHIFT_RUN_MAX_ATTEMPTS): cannot unmarshal !!str `three` into int (line",
		"NIGHTSHIFT_SOURCE_REGISTR_URL: \"registr\" is not a source; the sources are rect, register",
		"run.parallelism (NIGHTSHIFT_RUN_PARALLELISM): \"2.5\" is not a whole number",
	} {
		require.Contains(t, msg, want)
	}

	_, err = Load(writeFile(t, validYAML+"  parallelism: 2.5\n"), nil)
	require.ErrorContains(t, err, "run.parallelism (NIGHTSHIFT_RUN_PARALLELISM)")
	_, err = Load(writeFile(t, strings.Replace(validYAML, "register:", "registr:", 1)), nil)
	require.ErrorContains(t, err, "sources.registr (NIGHTSHIFT_SOURCE_REGISTR): is not a source")
	_, err = Load(writeFile(t, validYAML), []string{"NIGHTSHIFT_RUN_RETRY_MAX=1s"})
	require.ErrorContains(t, err, "run.retry_max (NIGHTSHIFT_RUN_RETRY_MAX): must be at least run.retry_base (2s)")
}

func TestProductionIsOneConfigurableDefinition(t *testing.T) {
	t.Parallel()
	for env, want := range map[string]bool{"production": true, "prod": true, "PROD": true, "staging": false, "live": false} {
		cfg, err := Load(writeFile(t, validYAML), []string{"NIGHTSHIFT_ENV=" + env})
		require.NoError(t, err)
		require.Equal(t, want, cfg.Production(), env)
	}
	cfg, err := Load(writeFile(t, validYAML), []string{"NIGHTSHIFT_ENV=live", "NIGHTSHIFT_PRODUCTION_NAMES=live,production"})
	require.NoError(t, err)
	require.True(t, cfg.Production())
	_, err = Load(writeFile(t, validYAML+"production_names: []\n"), nil)
	require.ErrorContains(t, err, "production_names (NIGHTSHIFT_PRODUCTION_NAMES): must list at least one name")
}
