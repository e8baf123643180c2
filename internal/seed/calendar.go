package seed

import "time"

// asOf is the moment the synthetic world is observed, the day after the
// newest source snapshot the schemas follow. Every "now" in the data is
// relative to it, never to the wall clock, so a seed is reproducible.
var asOf = time.Date(2026, time.August, 21, 17, 30, 0, 0, time.UTC)

// today is asOf's date.
var today = date(2026, time.August, 21)

func date(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func days(t time.Time, n int) time.Time { return t.AddDate(0, 0, n) }

func daysBetween(from, to time.Time) int {
	return int(to.Sub(from).Hours() / 24)
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// nullTime is a nullable value: the zero time stands for NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// rarelyNull is v, or NULL for about one key in fifty: columns the
// application always fills but the database does not require.
func rarelyNull(key int, v any) any {
	if mix64(uint64(key)^0x6e756c6c)%50 == 0 {
		return nil
	}
	return v
}

// nullString is a nullable value: the empty string stands for NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
