package config

import (
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dfe-nightshift/nightshift/internal/redact"
)

// FuzzLoad feeds any configuration file, and any NIGHTSHIFT_ variable, to
// the loader: it never panics, a secret from the environment never appears
// in an error, and what it accepts validates again unchanged.
func FuzzLoad(f *testing.F) {
	f.Add(validYAML, "NIGHTSHIFT_RUN_MAX_ATTEMPTS=5")
	f.Add(validYAML+"  attempt_timeout: -1s\n", "NIGHTSHIFT_RUN_RETRY_BASE=-5s")
	f.Add(validYAML+"  max_attempts: three\n", "NIGHTSHIFT_SOURCE_REGISTR_URL=postgres://u@h/db")
	f.Add(validYAML, "NIGHTSHIFT_RUN_PARALLELISM=2.5")
	f.Add("warehouse:\n  url: \" postgres://u:fuzz-secret@h/db\"\n", "NIGHTSHIFT_ENV=prod")
	f.Add("warehouse:\n  url: host=h password = x\n", "NIGHTSHIFT_WAREHOUSE_CA_FILE=/nonexistent")
	f.Add("production_names: []\n", "NIGHTSHIFT_PRODUCTION_NAMES=")
	f.Add("run: [1, 2]\n", "NIGHTSHIFT_SPOOL_KEEP_RUNS=-1")
	const secret = "s3cret-from-env"
	f.Fuzz(func(t *testing.T, yaml, variable string) {
		env := []string{"NIGHTSHIFT_WAREHOUSE_PASSWORD=" + secret, variable}
		cfg, err := parse("fuzz.yaml", []byte(yaml), env)
		if err != nil {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("a password from the environment reached an error: %v", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("an accepted configuration does not validate again: %v", err)
		}
	})
}

// FuzzConnString plants a password in a connection string, in every form a
// hand might type it, between arbitrary text: the string is refused, and
// whatever is said about it never carries the password.
func FuzzConnString(f *testing.F) {
	f.Add("host=h ", "hunter22", " dbname=d")
	f.Add(" postgres://u", "hunter22", "@host/db")
	f.Add("Postgres://u@h/db?", "hunter22", "&sslmode=require")
	f.Add("host=h port=5432 ", "hunter22", "")
	f.Fuzz(func(t *testing.T, prefix, secret, suffix string) {
		if len(secret) < 6 || strings.ContainsAny(secret, " \t\n\r\f\v'\\\":/?&=#%*") || strings.Contains(strconv.Quote(prefix+suffix), secret) {
			return
		}
		for _, s := range []string{
			prefix + "password=" + secret + suffix,
			prefix + "password = " + secret + suffix,
			prefix + ":" + secret + suffix,
			prefix + "?password=" + secret + suffix,
		} {
			got, err := connString(s)
			if err == nil {
				// What pgx would send as the password must not come from
				// the string.
				if pc, perr := pgconn.ParseConfig(got); perr == nil && pc.Password == secret {
					t.Fatalf("accepted a connection string with a password: %q", got)
				}
				continue
			}
			if msg := connProblem(err, Database{URL: s}); strings.Contains(msg, "password") && strings.Contains(msg, secret) {
				t.Fatalf("the password reached the message: %q", msg)
			}
		}
	})
}

// FuzzRedact: a password written where a connection string puts one
// never survives redaction, whatever surrounds it — found by the patterns
// alone, without being told the secret.
func FuzzRedact(f *testing.F) {
	f.Add("connect ", "hunter22", " failed")
	f.Add("x", "p@ssw0rd", "y")
	f.Add("", "a&b=c;d", "")
	f.Fuzz(func(t *testing.T, before, secret, after string) {
		if len(secret) < 6 || strings.ContainsAny(secret, " \t\n\r\f\v'\"\\*") || strings.Contains(before+after, secret) {
			return
		}
		texts := []string{
			before + " postgres://u:" + secret + "@host/db " + after,
			before + " host=h password=" + secret + " " + after,
			before + " password = '" + secret + "' " + after,
			before + ` password="` + secret + `" ` + after,
		}
		if !strings.ContainsAny(secret, "&#") {
			// In a URL's query, & and # end the value: a password holding
			// them is written %26 and %23 there.
			texts = append(texts, before+" postgres://u@h/db?password="+secret+" "+after)
		}
		for _, text := range texts {
			if out := redact.String(text); strings.Contains(out, secret) {
				t.Fatalf("%q survived in %q", secret, out)
			}
		}
	})
}
