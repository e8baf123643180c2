package recovery

import (
	"errors"
	"strings"
)

// copyFields splits one line of PostgreSQL's text COPY format (without its
// newline) into its values; a NULL (\N) is nil. Data tabs, newlines and
// backslashes are escaped in that format, so a raw tab is always a
// delimiter.
func copyFields(line string) ([]*string, error) {
	parts := strings.Split(line, "\t")
	out := make([]*string, len(parts))
	for i, p := range parts {
		if p == `\N` {
			continue
		}
		v, err := unescapeCopy(p)
		if err != nil {
			return nil, err
		}
		out[i] = &v
	}
	return out, nil
}

// unescapeCopy undoes the text COPY format's backslash escapes: those
// PostgreSQL writes (\\ \b \f \n \r \t \v) and the octal and hex forms it
// accepts.
func unescapeCopy(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		i++
		if i == len(s) {
			return "", errors.New("a COPY value ends with a lone backslash")
		}
		switch c := s[i]; c {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case 'x':
			n, v := 0, byte(0)
			for n < 2 && i+1 < len(s) && isHex(s[i+1]) {
				i++
				v = v<<4 | hexValue(s[i])
				n++
			}
			if n == 0 {
				b.WriteByte('x')
				continue
			}
			b.WriteByte(v)
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := c - '0'
			for n := 1; n < 3 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '7'; n++ {
				i++
				v = v<<3 | (s[i] - '0')
			}
			b.WriteByte(v)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func hexValue(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// sqlLiteral quotes a value as an SQL string constant that means the same
// whatever standard_conforming_strings says: E'…' when it holds a
// backslash. An untyped constant takes the type of the column it is
// inserted into, so one form serves every type.
func sqlLiteral(v *string) string {
	if v == nil {
		return "NULL"
	}
	s := strings.ReplaceAll(*v, "'", "''")
	if strings.Contains(s, `\`) {
		return "E'" + strings.ReplaceAll(s, `\`, `\\`) + "'"
	}
	return "'" + s + "'"
}

// escapeCopy writes a value in the text COPY format, for the keys sent to
// the warehouse.
func escapeCopy(s string) string {
	return copyEscaper.Replace(s)
}

var copyEscaper = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)
