package config

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSpoolRetentionDefaultsFileAndEnvironment(t *testing.T) {
	t.Parallel()
	cfg, err := Load(writeFile(t, validYAML), nil)
	require.NoError(t, err)
	require.Equal(t, 2, cfg.Spool.KeepRuns, "default")
	require.Equal(t, 168*time.Hour, cfg.Spool.MaxAge, "default")

	cfg, err = Load(writeFile(t, validYAML+"spool:\n  dir: /var/spool/ns\n  keep_runs: 5\n  max_age: 72h\n"), nil)
	require.NoError(t, err)
	require.Equal(t, Spool{Dir: "/var/spool/ns", KeepRuns: 5, MaxAge: 72 * time.Hour}, cfg.Spool)

	cfg, err = Load(writeFile(t, validYAML+"spool:\n  keep_runs: 5\n  max_age: 72h\n"),
		[]string{"NIGHTSHIFT_SPOOL_KEEP_RUNS=0", "NIGHTSHIFT_SPOOL_MAX_AGE=0"})
	require.NoError(t, err, "0 keeps no successful run's files, and 0 is no age limit")
	require.Zero(t, cfg.Spool.KeepRuns)
	require.Zero(t, cfg.Spool.MaxAge)
}

func TestSpoolRetentionRejectsNamingTheSettingAndVariable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		yaml    string
		env     []string
		setting string
	}{
		{"negative keep_runs in the file", "spool:\n  keep_runs: -1\n", nil, "spool.keep_runs"},
		{"negative keep_runs in the environment", "", []string{"NIGHTSHIFT_SPOOL_KEEP_RUNS=-3"}, "spool.keep_runs"},
		{"keep_runs not a number", "", []string{"NIGHTSHIFT_SPOOL_KEEP_RUNS=two"}, "spool.keep_runs"},
		{"negative max_age in the file", "spool:\n  max_age: -1h\n", nil, "spool.max_age"},
		{"negative max_age in the environment", "", []string{"NIGHTSHIFT_SPOOL_MAX_AGE=-5m"}, "spool.max_age"},
		{"max_age not a duration", "", []string{"NIGHTSHIFT_SPOOL_MAX_AGE=a week"}, "spool.max_age"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(writeFile(t, validYAML+tc.yaml), tc.env)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.setting)
			require.Contains(t, err.Error(), EnvName(tc.setting), "the message names the variable too")
			var ce *Error
			require.True(t, errors.As(err, &ce), "a configuration error is a *config.Error: %v", err)
		})
	}
}
