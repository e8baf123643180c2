// Package redact masks secrets in text that is about to leave the process
// — an error on a terminal, a log line, a ledger row, a notification — so
// that one function, used everywhere, decides what a secret looks like.
package redact

import (
	"regexp"
	"strings"
)

// Mask replaces a secret.
const Mask = "********"

var (
	// userinfo is the password of any URL, however its scheme is spelt or
	// mistyped (postgres:/u:secret@host has one slash), up to the last @
	// before the host: a password may hold an @ of its own.
	userinfo = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.\-]*:/*[^\s:/@'"]*:)(\S*)(@)`)
	// keyword is password=… in a key=value connection string or a URL's
	// query, spaces round the = and single- or double-quoted values
	// (with their spaces) included. An unquoted value runs to the next
	// space, & included: a key=value password may hold one. The query form
	// (after ? or &) is left to the query pattern.
	keyword = regexp.MustCompile(`(?i)(^|[^?&\w])(\w*password\s*=\s*)('(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|[^\s'"]+)`)
	// query is password=… in a URL's query, whose value ends at the next &.
	query = regexp.MustCompile(`(?i)([?&]\w*password\s*=\s*)([^\s&'"]+)`)
)

// String masks every password in s that looks like one — a URL's
// userinfo password, a password= setting — and every occurrence of the
// given secrets (passwords and keys known to the process).
func String(s string, secrets ...string) string {
	s = userinfo.ReplaceAllString(s, "${1}"+Mask+"${3}")
	s = query.ReplaceAllString(s, "${1}"+Mask)
	s = keyword.ReplaceAllString(s, "${1}${2}"+Mask)
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, Mask)
		}
	}
	return s
}

// Error is err with its text masked; errors.Is and errors.As still see
// through it.
func Error(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := String(err.Error(), secrets...)
	if msg == err.Error() {
		return err
	}
	return &masked{msg: msg, err: err}
}

type masked struct {
	msg string
	err error
}

func (m *masked) Error() string { return m.msg }
func (m *masked) Unwrap() error { return m.err }
