package extract

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/pgbinary"
)

// Quarantined is a source row set aside because one of its values cannot
// arrive exactly in every target.
type Quarantined struct {
	Key, Column, Value, Reason string
}

// The range every target can hold: BigQuery's DATE and TIMESTAMP cover the
// years 1 to 9999, narrower than PostgreSQL's (4713 BC to 5874897 AD).
const (
	minDays   = -730119 // 0001-01-01, in days from 2000-01-01
	maxDays   = 2921939 // 9999-12-31
	minMicros = minDays * 86400 * 1_000_000
	maxMicros = (maxDays+1)*86400*1_000_000 - 1
)

var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// validator returns why a value cannot be loaded and its text, or "" when
// it can. Only types with values outside the targets' ranges have one.
type validator func(raw []byte) (reason, text string)

func validatorFor(col schemas.Column) validator {
	switch col.Type {
	case schemas.Numeric:
		return func(raw []byte) (string, string) {
			if _, reason, _ := pgbinary.NumericToDecimal(raw, col.Precision, col.Scale); reason != "" {
				return fmt.Sprintf("%s for numeric(%d,%d)", reason, col.Precision, col.Scale), pgbinary.NumericText(raw)
			}
			return "", ""
		}
	case schemas.Date:
		return func(raw []byte) (string, string) {
			if len(raw) != 4 {
				return "", ""
			}
			days := int32(binary.BigEndian.Uint32(raw))
			switch {
			case days == math.MaxInt32:
				return "infinite date", "infinity"
			case days == math.MinInt32:
				return "infinite date", "-infinity"
			case days < minDays || days > maxDays:
				return "date outside the years 1 to 9999", formatDays(days)
			}
			return "", ""
		}
	case schemas.Text, schemas.JSON:
		// A source whose encoding is not UTF-8 (SQL_ASCII) can hold bytes
		// that no target takes: the warehouse's COPY would refuse the whole
		// entity for one of them.
		return func(raw []byte) (string, string) {
			if utf8.Valid(raw) {
				return "", ""
			}
			text := strconv.QuoteToASCII(string(raw))
			if len(text) > 200 {
				text = text[:200] + "…"
			}
			return "bytes that are not valid UTF-8", text
		}
	case schemas.Timestamp:
		return func(raw []byte) (string, string) {
			if len(raw) != 8 {
				return "", ""
			}
			us := int64(binary.BigEndian.Uint64(raw))
			switch {
			case us == math.MaxInt64:
				return "infinite timestamp", "infinity"
			case us == math.MinInt64:
				return "infinite timestamp", "-infinity"
			case us < minMicros || us > maxMicros:
				return "timestamp outside the years 1 to 9999", formatMicros(us)
			}
			return "", ""
		}
	}
	return nil
}

func formatDays(days int32) string {
	// time.Time holds the whole int32 range of days.
	return pgEpoch.AddDate(0, 0, int(days)).Format("2006-01-02")
}

func formatMicros(us int64) string {
	// Split into days and the rest: µs in int64 overflow time.Duration's
	// range of about 292 years.
	days, rest := us/(86400*1_000_000), us%(86400*1_000_000)
	if rest < 0 {
		days, rest = days-1, rest+86400*1_000_000
	}
	t := pgEpoch.AddDate(0, 0, int(days)).Add(time.Duration(rest) * time.Microsecond)
	return t.Format("2006-01-02 15:04:05.999999") + " UTC"
}

// rowKey renders the primary key of a row for the quarantine table.
func rowKey(t schemas.Type, raw []byte) string {
	switch {
	case raw == nil:
		return "NULL"
	case t == schemas.Int64 && len(raw) == 8:
		return strconv.FormatInt(int64(binary.BigEndian.Uint64(raw)), 10)
	case t == schemas.Int32 && len(raw) == 4:
		return strconv.FormatInt(int64(int32(binary.BigEndian.Uint32(raw))), 10)
	case t == schemas.Text:
		return string(raw)
	}
	return fmt.Sprintf("%x", raw)
}
