package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLossThresholdsDefaultFileAndEnvironment(t *testing.T) {
	t.Parallel()
	cfg, err := Load(writeFile(t, validYAML), nil)
	require.NoError(t, err)
	require.InDelta(t, 0.05, cfg.Loss.MaxFraction("trainees"), 1e-12, "default")
	require.EqualValues(t, 100, cfg.Loss.MinDeletedRows)

	yaml := validYAML + "loss:\n  max_deleted_fraction: 0.1\n  entities:\n    trainees:\n      max_deleted_fraction: 0.2\n"
	cfg, err = Load(writeFile(t, yaml), []string{
		"NIGHTSHIFT_LOSS_MIN_DELETED_ROWS=10",
		"NIGHTSHIFT_LOSS_ENTITIES_TRAINEE_WITHDRAWALS_MAX_DELETED_FRACTION=0.5",
	})
	require.NoError(t, err)
	require.InDelta(t, 0.2, cfg.Loss.MaxFraction("trainees"), 1e-12)
	require.InDelta(t, 0.5, cfg.Loss.MaxFraction("trainee_withdrawals"), 1e-12)
	require.InDelta(t, 0.1, cfg.Loss.MaxFraction("providers"), 1e-12)
	require.EqualValues(t, 10, cfg.Loss.MinDeletedRows)
}

func TestLossSettingsAreCheckedNamingPathAndVariable(t *testing.T) {
	t.Parallel()
	yaml := validYAML + "loss:\n  max_deleted_fraction: 1.5\n  entities:\n    trainess:\n      max_deleted_fraction: 0.2\n    trainees:\n      max_deleted_fraction: -1\n"
	_, err := Load(writeFile(t, yaml), []string{"NIGHTSHIFT_LOSS_MIN_DELETED_ROWS=many", "NIGHTSHIFT_LOSS_MAX_ROWS=1"})
	require.Error(t, err)
	for _, want := range []string{
		"loss.max_deleted_fraction (NIGHTSHIFT_LOSS_MAX_DELETED_FRACTION): must be between 0 and 1, not 1.5",
		"loss.entities.trainess (NIGHTSHIFT_LOSS_ENTITIES_TRAINESS): is not an entity; the entities are ",
		"loss.entities.trainees.max_deleted_fraction (NIGHTSHIFT_LOSS_ENTITIES_TRAINEES_MAX_DELETED_FRACTION): must be between 0 and 1, not -1",
		"loss.min_deleted_rows (NIGHTSHIFT_LOSS_MIN_DELETED_ROWS): \"many\" is not a whole number",
		"NIGHTSHIFT_LOSS_MAX_ROWS: unknown setting",
	} {
		require.Contains(t, err.Error(), want)
	}
	_, err = Load(writeFile(t, validYAML+"loss:\n  max_deleted_fractoin: 0.1\n"), nil)
	require.ErrorContains(t, err, "max_deleted_fractoin")
}
