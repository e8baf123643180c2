package schedules

import (
	"strings"
	"testing"
	"time"
)

// FuzzParse feeds schedule files of any shape to the loader: it never
// panics, an error always names the file, and a schedule it accepts has a
// name, a zone, and next firings that move forward.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"name: nightly\ncron: \"0 2 * * *\"\n",
		"name: nightly\ncron: \"0 2 * * *\"\ntimezone: Europe/London\nentities: [trainees]\ndeadline: \"07:00\"\n",
		"name: x\ncron: \"0 2 * * *\"\ntimezone: Mars/Olympus\n",
		"name: x\ncron: \"99 2 * * *\"\n",
		"name: x\ncron: \"0 2 30 2 *\"\n",
		"name: x\ncron: \"0 2 * * *\"\nentities: [nope]\n",
		"name: x\ncron: \"0 2 * * *\"\ndeadline: \"25:00\"\n",
		"name: x\ncron: \"0 2 * * *\"\nmode: incremental\n",
		"cron: \"0 2 * * *\"\n",
		"name: [a, b]\n",
		"\x00\xff",
		"",
	} {
		f.Add([]byte(seed))
	}
	known := []string{"trainees", "declarations"}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parseData("fuzz.yaml", data, known)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("the error does not name the file: %v", err)
			}
			return
		}
		if s.Name == "" || s.location == nil || s.spec == nil {
			t.Fatalf("accepted an incomplete schedule: %+v", s)
		}
		now := time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)
		if next := s.Next(now); !next.IsZero() && !next.After(now) {
			t.Fatalf("next firing %s is not after %s", next, now)
		}
	})
}
