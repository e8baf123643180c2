// Package config loads nightshift's configuration: a YAML file, then
// NIGHTSHIFT_* environment variables over it. Secrets — database passwords —
// come only from the environment (or ~/.pgpass), never from the file, and
// are never printed.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole configuration. Field comments are the documentation
// of the file format (README.md shows an example).
type Config struct {
	// Environment names where nightshift runs (development, staging,
	// production); NIGHTSHIFT_ENV overrides it.
	Environment string `yaml:"environment"`
	// Sources maps each source name used by the contracts (register, rect)
	// to its database.
	Sources   map[string]Database `yaml:"sources"`
	Warehouse Warehouse           `yaml:"warehouse"`
	BigQuery  BigQuery            `yaml:"bigquery"`
	Notify    Notify              `yaml:"-"`
	Spool     Spool               `yaml:"spool"`
	Run       Run                 `yaml:"run"`
}

// BigQuery is the BigQuery sink. With no project it is off.
type BigQuery struct {
	Project  string `yaml:"project"`
	Dataset  string `yaml:"dataset"`
	Location string `yaml:"location"`
	// CredentialsFile is a service account key file; empty means
	// Application Default Credentials.
	CredentialsFile string `yaml:"credentials_file"`
	// Endpoint overrides the API's address (tests, emulators).
	Endpoint string `yaml:"endpoint"`
	// PII is what happens to personal columns: hash (HMAC-SHA256 with the
	// key in NIGHTSHIFT_PII_HMAC_KEY) or drop.
	PII string `yaml:"pii"`
	// PIIKey is set only from the environment.
	PIIKey string `yaml:"-"`
}

// Notify holds the webhooks a run's terminal notification goes to, besides
// the log. Webhook URLs carry their secret, so they come only from the
// environment: NIGHTSHIFT_SLACK_WEBHOOK_URL, NIGHTSHIFT_TEAMS_WEBHOOK_URL,
// NIGHTSHIFT_WEBHOOK_URL.
type Notify struct {
	SlackURL, TeamsURL, WebhookURL string
}

// Enabled says whether runs load BigQuery.
func (b BigQuery) Enabled() bool { return b.Project != "" }

// Database is a PostgreSQL connection. URL is a postgres:// URL or a
// key=value connection string without a password.
type Database struct {
	URL string `yaml:"url"`
	// Password is set only from the environment.
	Password string `yaml:"-"`
}

// Warehouse is the PostgreSQL reporting warehouse.
type Warehouse struct {
	Database `yaml:",inline"`
	// Schema is where the entity tables live (default reporting).
	Schema string `yaml:"schema"`
}

// Spool is where extracts are kept as Parquet files.
type Spool struct {
	Dir string `yaml:"dir"`
}

// Run tunes the runner.
type Run struct {
	// BatchSize is rows per Arrow record batch, the unit that flows from
	// the source to the spool and the warehouse.
	BatchSize int `yaml:"batch_size"`
	// Parallelism is how many entities run at once.
	Parallelism int `yaml:"parallelism"`
	// MaxAttempts caps the attempts of each step.
	MaxAttempts int `yaml:"max_attempts"`
	// RetryBase and RetryMax space the retries (exponential, jittered).
	RetryBase time.Duration `yaml:"retry_base"`
	RetryMax  time.Duration `yaml:"retry_max"`
	// AttemptTimeout bounds one attempt of a step; Deadline the whole run.
	AttemptTimeout time.Duration `yaml:"attempt_timeout"`
	Deadline       time.Duration `yaml:"deadline"`
	// LockTimeout bounds how long the publish waits for analysts' queries
	// to let go of the tables it swaps; it then fails and is retried, so a
	// long query delays a publish without queueing every reader behind it.
	LockTimeout time.Duration `yaml:"lock_timeout"`
	// MemoryLimitMiB is the Go runtime's soft memory limit (0: none): near
	// it the garbage collector works harder instead of letting the heap
	// double. GOMEMLIMIT, when set, wins.
	MemoryLimitMiB int `yaml:"memory_limit_mib"`
	// Reconcile is how each load is checked against the source: "digest"
	// compares digests of the rows as read and as copied, in the process;
	// "sql" adds a SQL checksum of the source rows and of the staging
	// table, independent of nightshift's code, for two more scans of each.
	Reconcile string `yaml:"reconcile"`
}

// Error is a configuration mistake. Setting names the thing to fix, as it
// is spelled in the YAML file (warehouse.url) or the environment.
type Error struct {
	Setting string
	Problem string
}

func (e *Error) Error() string { return e.Setting + ": " + e.Problem }

// DefaultFile is read when --config is not given, if it exists.
const DefaultFile = "nightshift.yaml"

// Defaults are the values of every setting nobody set.
func Defaults() Config {
	return Config{
		Environment: "development",
		Sources:     map[string]Database{},
		Warehouse:   Warehouse{Schema: "reporting"},
		BigQuery:    BigQuery{Dataset: "nightshift", Location: "europe-west2", PII: "hash"},
		Spool:       Spool{Dir: "spool"},
		Run: Run{
			BatchSize: 8192, Parallelism: 2, MaxAttempts: 3, Reconcile: "digest",
			RetryBase: 5 * time.Second, RetryMax: 2 * time.Minute,
			AttemptTimeout: 30 * time.Minute, Deadline: 2 * time.Hour, MemoryLimitMiB: 200, LockTimeout: 10 * time.Second,
		},
	}
}

// Load reads path (or DefaultFile when path is empty and it exists), then
// applies the environment, then validates.
func Load(path string, env []string) (Config, error) {
	cfg := Defaults()
	explicit := path != ""
	if !explicit {
		path = DefaultFile
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := decode(data, &cfg); err != nil {
			return Config{}, fmt.Errorf("%s: %w", path, err)
		}
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		// No file: defaults and the environment only.
	default:
		return Config{}, &Error{Setting: "--config", Problem: err.Error()}
	}
	if err := applyEnv(&cfg, env); err != nil {
		return Config{}, err
	}
	return cfg, cfg.Validate()
}

// decode parses YAML strictly: a misspelt key is an error, not a setting
// silently ignored.
func decode(data []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return &Error{Setting: "config file", Problem: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	return nil
}

const envPrefix = "NIGHTSHIFT_"

// applyEnv lays the NIGHTSHIFT_* variables over the file:
//
//	NIGHTSHIFT_ENV, NIGHTSHIFT_WAREHOUSE_URL, NIGHTSHIFT_WAREHOUSE_PASSWORD,
//	NIGHTSHIFT_WAREHOUSE_SCHEMA, NIGHTSHIFT_SOURCE_<NAME>_URL,
//	NIGHTSHIFT_SOURCE_<NAME>_PASSWORD, NIGHTSHIFT_SPOOL_DIR,
//	NIGHTSHIFT_RUN_<SETTING> (BATCH_SIZE, PARALLELISM, MAX_ATTEMPTS, …).
//
// An unknown NIGHTSHIFT_ variable is an error, like an unknown YAML key.
func applyEnv(cfg *Config, env []string) error {
	for _, kv := range env {
		key, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(key, envPrefix) {
			continue
		}
		name := strings.TrimPrefix(key, envPrefix)
		switch {
		case name == "ENV":
			cfg.Environment = value
		case name == "CONFIG" || name == "CPUPROFILE" || strings.HasPrefix(name, "TEST_"):
			// Read elsewhere: the --config default, the profiler and the test suite.
		case name == "WAREHOUSE_URL":
			cfg.Warehouse.URL = value
		case name == "WAREHOUSE_PASSWORD":
			cfg.Warehouse.Password = value
		case name == "WAREHOUSE_SCHEMA":
			cfg.Warehouse.Schema = value
		case name == "SPOOL_DIR":
			cfg.Spool.Dir = value
		case name == "BIGQUERY_PROJECT":
			cfg.BigQuery.Project = value
		case name == "BIGQUERY_DATASET":
			cfg.BigQuery.Dataset = value
		case name == "BIGQUERY_LOCATION":
			cfg.BigQuery.Location = value
		case name == "BIGQUERY_CREDENTIALS_FILE":
			cfg.BigQuery.CredentialsFile = value
		case name == "BIGQUERY_ENDPOINT":
			cfg.BigQuery.Endpoint = value
		case name == "PII_HMAC_KEY":
			cfg.BigQuery.PIIKey = value
		case name == "SLACK_WEBHOOK_URL":
			cfg.Notify.SlackURL = value
		case name == "TEAMS_WEBHOOK_URL":
			cfg.Notify.TeamsURL = value
		case name == "WEBHOOK_URL":
			cfg.Notify.WebhookURL = value
		case strings.HasPrefix(name, "SOURCE_") && (strings.HasSuffix(name, "_URL") || strings.HasSuffix(name, "_PASSWORD")):
			rest := strings.TrimPrefix(name, "SOURCE_")
			field := rest[strings.LastIndex(rest, "_")+1:]
			source := strings.ToLower(strings.TrimSuffix(rest, "_"+field))
			db := cfg.Sources[source]
			if field == "URL" {
				db.URL = value
			} else {
				db.Password = value
			}
			if cfg.Sources == nil {
				cfg.Sources = map[string]Database{}
			}
			cfg.Sources[source] = db
		case strings.HasPrefix(name, "RUN_"):
			if err := setRun(&cfg.Run, strings.TrimPrefix(name, "RUN_"), value); err != nil {
				return &Error{Setting: key, Problem: err.Error()}
			}
		default:
			return &Error{Setting: key, Problem: "unknown setting (see README.md, Configuration)"}
		}
	}
	return nil
}

func setRun(r *Run, name, value string) error {
	ints := map[string]*int{"BATCH_SIZE": &r.BatchSize, "PARALLELISM": &r.Parallelism, "MAX_ATTEMPTS": &r.MaxAttempts, "MEMORY_LIMIT_MIB": &r.MemoryLimitMiB}
	durations := map[string]*time.Duration{"RETRY_BASE": &r.RetryBase, "RETRY_MAX": &r.RetryMax, "ATTEMPT_TIMEOUT": &r.AttemptTimeout, "DEADLINE": &r.Deadline, "LOCK_TIMEOUT": &r.LockTimeout}
	if p, ok := ints[name]; ok {
		n, err := strconv.Atoi(value)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", value)
		}
		*p = n
		return nil
	}
	if p, ok := durations[name]; ok {
		d, err := time.ParseDuration(value)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 90s or 2h", value)
		}
		*p = d
		return nil
	}
	if name == "RECONCILE" {
		r.Reconcile = value
		return nil
	}
	return errors.New("unknown setting (see README.md, Configuration)")
}

// Validate checks every setting that can be checked without a network.
func (c *Config) Validate() error {
	var errs []error
	bad := func(setting, problem string) { errs = append(errs, &Error{Setting: setting, Problem: problem}) }
	if c.Environment == "" {
		bad("environment", "must not be empty (NIGHTSHIFT_ENV)")
	}
	if c.Warehouse.URL == "" {
		bad("warehouse.url", "is required (set it in the config file or NIGHTSHIFT_WAREHOUSE_URL)")
	} else if err := checkURL(c.Warehouse.URL); err != nil {
		bad("warehouse.url", err.Error())
	}
	names := make([]string, 0, len(c.Sources))
	for name := range c.Sources {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		setting := "sources." + name + ".url"
		if u := c.Sources[name].URL; u == "" {
			bad(setting, fmt.Sprintf("is required (set it in the config file or NIGHTSHIFT_SOURCE_%s_URL)", strings.ToUpper(name)))
		} else if err := checkURL(u); err != nil {
			bad(setting, err.Error())
		}
	}
	if c.BigQuery.Enabled() {
		if c.BigQuery.Dataset == "" {
			bad("bigquery.dataset", "is required when bigquery.project is set")
		}
		switch c.BigQuery.PII {
		case "hash":
			if len(c.BigQuery.PIIKey) < 32 {
				bad("NIGHTSHIFT_PII_HMAC_KEY", "must hold a secret of at least 32 characters when bigquery.pii is hash")
			}
		case "drop":
		default:
			bad("bigquery.pii", fmt.Sprintf("must be hash or drop, not %q", c.BigQuery.PII))
		}
	}
	if c.Warehouse.Schema == "" {
		bad("warehouse.schema", "must not be empty")
	}
	if c.Spool.Dir == "" {
		bad("spool.dir", "must not be empty")
	}
	if c.Run.BatchSize < 1 || c.Run.BatchSize > 1<<20 {
		bad("run.batch_size", "must be between 1 and 1048576")
	}
	if c.Run.Parallelism < 1 {
		bad("run.parallelism", "must be at least 1")
	}
	if c.Run.MaxAttempts < 1 {
		bad("run.max_attempts", "must be at least 1")
	}
	if c.Run.MemoryLimitMiB < 0 {
		bad("run.memory_limit_mib", "must be 0 (no limit) or a number of MiB")
	}
	if c.Run.Reconcile != "digest" && c.Run.Reconcile != "sql" {
		bad("run.reconcile", fmt.Sprintf("must be digest or sql, not %q", c.Run.Reconcile))
	}
	if c.Run.Deadline <= 0 {
		bad("run.deadline", "must be positive")
	}
	if c.Run.LockTimeout < time.Millisecond {
		bad("run.lock_timeout", "must be at least 1ms")
	}
	return errors.Join(errs...)
}

// checkURL refuses a password inside a connection string, wherever it came
// from, so that it can never reach a log line, a ledger row or a screen.
func checkURL(s string) error {
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		u, err := url.Parse(s)
		if err != nil {
			return errors.New("is not a valid URL")
		}
		if _, has := u.User.Password(); has || u.Query().Has("password") {
			return errors.New("must not contain a password: set it in the matching _PASSWORD environment variable or ~/.pgpass")
		}
		return nil
	}
	for _, field := range strings.Fields(s) {
		if strings.HasPrefix(field, "password=") {
			return errors.New("must not contain a password: set it in the matching _PASSWORD environment variable or ~/.pgpass")
		}
	}
	if !strings.Contains(s, "=") {
		return errors.New("must be a postgres:// URL or a key=value connection string")
	}
	return nil
}
