package schedules_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/schedules"
)

func TestShippedNightlyScheduleIsValid(t *testing.T) {
	t.Parallel()
	got, err := schedules.Load(".", []string{"trainees"})
	require.NoError(t, err)
	require.Len(t, got, 1)
	s := got[0]
	require.Equal(t, "nightly", s.Name)
	require.Equal(t, "Europe/London", s.Timezone)
	require.Nil(t, s.Entities, "all entities")
	london, _ := time.LoadLocation("Europe/London")
	require.Equal(t, time.Date(2026, 7, 2, 2, 0, 0, 0, london), s.Next(time.Date(2026, 7, 1, 12, 0, 0, 0, london)))
	by, ok := s.DeadlineFor(time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC))
	require.True(t, ok)
	require.Equal(t, time.Date(2026, 3, 29, 7, 0, 0, 0, london), by, "07:00 wall-clock on the day the clocks change")
}

func TestInvalidScheduleNamesFileFieldAndReason(t *testing.T) {
	t.Parallel()
	cases := map[string]struct{ yaml, want string }{
		"cron":     {"name: x\ncron: \"0 25 * * *\"\n", "bad.yaml: cron: \"0 25 * * *\""},
		"timezone": {"name: x\ncron: \"0 2 * * *\"\ntimezone: Europe/Londn\n", "bad.yaml: timezone: \"Europe/Londn\" is not a time zone"},
		"entity":   {"name: x\ncron: \"0 2 * * *\"\nentities: [trainee]\n", "bad.yaml: entities: unknown entity \"trainee\""},
		"deadline": {"name: x\ncron: \"0 2 * * *\"\ndeadline: 7am\n", "bad.yaml: deadline: \"7am\" is not a time of day"},
		"unknown":  {"name: x\ncron: \"0 2 * * *\"\ncorn: x\n", "field corn not found"},
		"name":     {"cron: \"0 2 * * *\"\n", "bad.yaml: name: is required"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(tc.yaml), 0o600))
			_, err := schedules.Load(dir, []string{"trainees"})
			require.ErrorContains(t, err, tc.want)
		})
	}
}
