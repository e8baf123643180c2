package config

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dfe-nightshift/nightshift/internal/redact"
)

// errUnreadable marks a connection string that could not be read at all:
// it is not echoed, since what part of it is a secret is unknowable.
var errUnreadable = errors.New("it cannot be read")

// errPassword is a connection string that holds a password.
var errPassword = errors.New("must not contain a password: set it in the matching _PASSWORD environment variable or ~/.pgpass")

// connString checks a connection string strictly and returns it normalised
// (surrounding spaces trimmed, the URL scheme in lower case). It accepts a
// postgres:// or postgresql:// URL or a key=value string, and refuses one
// that pgx cannot parse, one that holds a password in any form, and one
// that names no host: pgx would otherwise read a mistyped URL as key=value
// settings, fall back to the default local socket, and send the string —
// password and all — to whatever server listens there.
func connString(s string) (string, error) {
	s = strings.TrimSpace(s)
	scheme, rest, isURL := strings.Cut(s, "://")
	var hasHost bool
	switch {
	case isURL:
		switch strings.ToLower(scheme) {
		case "postgres", "postgresql":
		default:
			return "", fmt.Errorf("must be a postgres:// URL or a key=value connection string, not a %s:// URL", scheme)
		}
		s = strings.ToLower(scheme) + "://" + rest
		u, err := url.Parse(s)
		if err != nil {
			return "", fmt.Errorf("is not a valid URL (%w)", errUnreadable)
		}
		if _, has := u.User.Password(); has {
			return "", errPassword
		}
		for key := range u.Query() {
			if err := knownKey(key); err != nil {
				return "", err
			}
		}
		hasHost = u.Hostname() != "" || u.Query().Get("host") != "" || u.Query().Get("hostaddr") != ""
	default:
		settings, err := keywordValues(s)
		if err != nil {
			return "", fmt.Errorf("must be a postgres:// URL or a key=value connection string: %w (%w)", err, errUnreadable)
		}
		for key := range settings {
			if err := knownKey(key); err != nil {
				return "", err
			}
		}
		hasHost = settings["host"] != "" || settings["hostaddr"] != ""
	}
	if !hasHost {
		return "", errors.New("names no host: say which server (a URL's host, or host=), so that nothing falls back to a local socket")
	}
	// pgx's own parser has the last word on names and values. It reads no
	// network; its errors may quote the string, so they are masked.
	if _, err := pgconn.ParseConfig(s); err != nil {
		return "", fmt.Errorf("cannot be parsed: %s", redact.String(err.Error()))
	}
	return s, nil
}

// connKeys are the settings a connection string may hold: libpq's, and
// pgx's own. pgx would send any other as a run-time parameter to the
// server, so a typo, or a secret in the wrong place, would travel there.
var connKeys = []string{
	"host", "hostaddr", "port", "dbname", "user", "passfile", "connect_timeout", "client_encoding", "options",
	"application_name", "fallback_application_name", "keepalives", "keepalives_idle", "keepalives_interval",
	"keepalives_count", "tcp_user_timeout", "sslmode", "sslcert", "sslkey", "sslrootcert", "sslcrl", "sslsni",
	"sslnegotiation", "service", "servicefile", "target_session_attrs", "krbsrvname", "gssencmode",
	"channel_binding", "require_auth", "load_balance_hosts", "search_path", "timezone",
	"statement_cache_capacity", "description_cache_capacity", "default_query_exec_mode", "min_read_buffer_size",
	"pool_max_conns", "pool_min_conns", "pool_min_idle_conns", "pool_max_conn_lifetime",
	"pool_max_conn_lifetime_jitter", "pool_max_conn_idle_time", "pool_health_check_period",
}

// knownKey refuses a setting that holds a secret, or that is not a
// connection setting at all.
func knownKey(key string) error {
	switch k := strings.ToLower(key); {
	case k == "password" || k == "sslpassword":
		return errPassword
	case !slices.Contains(connKeys, k):
		return fmt.Errorf("has an unknown setting %q (see the libpq connection parameters)", redact.String(key))
	}
	return nil
}

// keywordValues reads a libpq key=value connection string: keys, optional
// spaces round the =, and values bare or single-quoted with backslash
// escapes.
func keywordValues(s string) (map[string]string, error) {
	out := map[string]string{}
	space := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' }
	i := 0
	for {
		for i < len(s) && space(s[i]) {
			i++
		}
		if i >= len(s) {
			break
		}
		start := i
		for i < len(s) && s[i] != '=' && !space(s[i]) {
			i++
		}
		key := s[start:i]
		for i < len(s) && space(s[i]) {
			i++
		}
		if i >= len(s) || s[i] != '=' {
			return nil, errors.New("a word has no value (want key=value)")
		}
		if key == "" {
			return nil, errors.New("a value has no key")
		}
		i++
		for i < len(s) && space(s[i]) {
			i++
		}
		var val strings.Builder
		if i < len(s) && s[i] == '\'' {
			i++
			closed := false
			for i < len(s) {
				switch {
				case s[i] == '\\' && i+1 < len(s):
					val.WriteByte(s[i+1])
					i += 2
				case s[i] == '\'':
					closed = true
					i++
				default:
					val.WriteByte(s[i])
					i++
				}
				if closed {
					break
				}
			}
			if !closed {
				return nil, fmt.Errorf("the value of %s has no closing quote", key)
			}
		} else {
			for i < len(s) && !space(s[i]) {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				val.WriteByte(s[i])
				i++
			}
		}
		out[strings.ToLower(key)] = val.String()
	}
	if len(out) == 0 {
		return nil, errors.New("it is empty")
	}
	return out, nil
}

// checkCAFile checks a database's CA file: readable PEM certificates, and
// no sslmode in its connection string that would not verify the server.
func checkCAFile(d Database) error {
	if d.CAFile == "" {
		return nil
	}
	pem, err := os.ReadFile(d.CAFile)
	if err != nil {
		return fmt.Errorf("cannot be read: %w", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return fmt.Errorf("%s holds no PEM certificate", d.CAFile)
	}
	switch mode := sslMode(d.URL); mode {
	case "", "verify-full", "verify-ca":
		return nil
	default:
		return fmt.Errorf("is set, but the connection string says sslmode=%s, which would not verify the server: use verify-full", mode)
	}
}

// sslMode is the sslmode a checked connection string sets, if any.
func sslMode(s string) string {
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil {
			return u.Query().Get("sslmode")
		}
		return ""
	}
	settings, _ := keywordValues(s)
	return settings["sslmode"]
}

// withCAFile adds the CA file to a checked connection string, and
// sslmode=verify-full unless it names a verifying mode already.
func withCAFile(s, caFile string) string {
	mode := sslMode(s)
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return s
		}
		q := u.Query()
		q.Set("sslrootcert", caFile)
		if mode == "" {
			q.Set("sslmode", "verify-full")
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	quoted := "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(caFile) + "'"
	s += " sslrootcert=" + quoted
	if mode == "" {
		s += " sslmode=verify-full"
	}
	return s
}

// connProblem says what is wrong with a database's connection string, and
// echoes the string with its password masked, unless it could not be read
// at all.
func connProblem(err error, d Database) string {
	if errors.Is(err, errUnreadable) {
		return err.Error()
	}
	return fmt.Sprintf("%s (got %q)", err, redact.String(d.URL, d.Password))
}
