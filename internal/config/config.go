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
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// Config is the whole configuration. Field comments are the documentation
// of the file format (README.md shows an example).
type Config struct {
	// Environment names where nightshift runs (development, staging,
	// production); NIGHTSHIFT_ENV overrides it.
	Environment string `yaml:"environment"`
	// ProductionNames are the environment names that mean production
	// (default production and prod): the banner, the guard, seed and demo
	// all ask Production(). NIGHTSHIFT_PRODUCTION_NAMES, comma-separated.
	ProductionNames []string `yaml:"production_names"`
	// Sources maps each source name used by the contracts (register, rect)
	// to its database.
	Sources   map[string]Database `yaml:"sources"`
	Warehouse Warehouse           `yaml:"warehouse"`
	BigQuery  BigQuery            `yaml:"bigquery"`
	Notify    Notify              `yaml:"-"`
	Spool     Spool               `yaml:"spool"`
	Run       Run                 `yaml:"run"`
	Loss      Loss                `yaml:"loss"`
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

// Production says whether the environment is production, by the one
// definition every command uses.
func (c Config) Production() bool {
	for _, name := range c.ProductionNames {
		if strings.EqualFold(strings.TrimSpace(name), strings.TrimSpace(c.Environment)) {
			return true
		}
	}
	return false
}

// DefaultProductionNames are the environment names that mean production
// unless production_names says otherwise.
var DefaultProductionNames = []string{"production", "prod"}

// Enabled says whether runs load BigQuery.
func (b BigQuery) Enabled() bool { return b.Project != "" }

// Database is a PostgreSQL connection. URL is a postgres:// URL or a
// key=value connection string without a password.
type Database struct {
	URL string `yaml:"url"`
	// Password is set only from the environment.
	Password string `yaml:"-"`
	// CAFile is the PEM file of the certificate authority that signed the
	// server's certificate. With it the connection is TLS and verifies the
	// server's certificate and name (sslmode=verify-full, unless the string
	// says verify-ca).
	CAFile string `yaml:"ca_file"`
}

// Warehouse is the PostgreSQL reporting warehouse.
type Warehouse struct {
	Database `yaml:",inline"`
	// Schema is where the entity tables live (default reporting).
	Schema string `yaml:"schema"`
}

// Spool is where extracts are kept as Parquet files, one run-<id> folder
// per run, and how long they are kept (they hold personal data).
type Spool struct {
	Dir string `yaml:"dir"`
	// KeepRuns is how many successful runs keep their files: the newest
	// (default 2). A run that did not succeed keeps its files until a later
	// run succeeds, or longer while a retry or a backfill still needs them.
	KeepRuns int `yaml:"keep_runs"`
	// MaxAge deletes any run's files once the run started longer ago than
	// this, whatever else (default 168h, a week); 0 means no age limit.
	MaxAge time.Duration `yaml:"max_age"`
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
// is spelled in the YAML file (warehouse.url); the message adds the
// environment variable that sets it too. A Setting that is not a YAML path
// (a variable, a flag) is shown as it is.
type Error struct {
	Setting string
	Problem string
}

func (e *Error) Error() string {
	if env := EnvName(e.Setting); env != "" {
		return e.Setting + " (" + env + "): " + e.Problem
	}
	return e.Setting + ": " + e.Problem
}

// EnvName is the environment variable that sets the YAML setting path
// (run.max_attempts → NIGHTSHIFT_RUN_MAX_ATTEMPTS), or "" if path is not
// a setting's path.
func EnvName(path string) string {
	switch {
	case path == "environment":
		return envPrefix + "ENV"
	case path == "production_names":
		return envPrefix + "PRODUCTION_NAMES"
	case strings.HasPrefix(path, "sources."):
		return envPrefix + "SOURCE_" + strings.ToUpper(strings.ReplaceAll(strings.TrimPrefix(path, "sources."), ".", "_"))
	}
	for _, section := range []string{"warehouse.", "spool.", "bigquery.", "run.", "loss."} {
		if strings.HasPrefix(path, section) {
			return envPrefix + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
		}
	}
	return ""
}

// DefaultFile is read when --config is not given, if it exists.
const DefaultFile = "nightshift.yaml"

// Defaults are the values of every setting nobody set.
func Defaults() Config {
	return Config{
		Environment: "development", ProductionNames: DefaultProductionNames,
		Sources:   map[string]Database{},
		Warehouse: Warehouse{Schema: "reporting"},
		BigQuery:  BigQuery{Dataset: "nightshift", Location: "europe-west2", PII: "hash"},
		Spool:     Spool{Dir: "spool", KeepRuns: 2, MaxAge: 168 * time.Hour},
		Loss:      Loss{MaxDeletedFraction: 0.05, MinDeletedRows: 100},
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
	path, data, err := readFile(path)
	if err != nil {
		return Config{}, err
	}
	return parse(path, data, env)
}

// Read reads the configuration as Load does but checks only that the file
// and the environment parse, not that it could run: for a command that
// connects to nothing and uses a few settings, which it checks itself
// (nightshift lookml needs neither a warehouse nor the PII key).
func Read(path string, env []string) (Config, error) {
	path, data, err := readFile(path)
	if err != nil {
		return Config{}, err
	}
	cfg, errs := build(path, data, env)
	return cfg, errors.Join(errs...)
}

// readFile reads path, or DefaultFile when path is empty; no DefaultFile
// gives no data.
func readFile(path string) (string, []byte, error) {
	explicit := path != ""
	if !explicit {
		path = DefaultFile
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		// No file: defaults and the environment only.
		data = nil
	default:
		return path, nil, &Error{Setting: "--config", Problem: err.Error()}
	}
	return path, data, nil
}

// parse builds the configuration from a file's contents (none: nil) and
// the environment, and validates it, reporting every mistake at once: a
// configuration is fixed in one sitting, not one error per attempt.
func parse(path string, data []byte, env []string) (Config, error) {
	cfg, errs := build(path, data, env)
	errs = append(errs, cfg.Validate())
	return cfg, errors.Join(errs...)
}

// build lays the file and then the environment over the defaults.
func build(path string, data []byte, env []string) (Config, []error) {
	cfg := Defaults()
	var errs []error
	if data != nil {
		if err := decode(data, &cfg); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
		}
	}
	return cfg, append(errs, applyEnv(&cfg, env))
}

// decode parses YAML strictly: a misspelt key is an error, not a setting
// silently ignored, and a value of the wrong type names its setting, not
// only its line.
func decode(data []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(cfg)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return &Error{Setting: "config file", Problem: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	var errs []error
	for _, msg := range te.Errors {
		setting, problem := "config file", msg
		var line int
		if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
			if p := pathAtLine(&root, line, ""); p != "" {
				setting = p
				_, problem, _ = strings.Cut(msg, ": ")
				problem += fmt.Sprintf(" (line %d)", line)
			}
		}
		errs = append(errs, &Error{Setting: setting, Problem: problem})
	}
	return errors.Join(errs...)
}

// pathAtLine finds the dotted path of the setting written on line.
func pathAtLine(n *yaml.Node, line int, prefix string) string {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if p := pathAtLine(c, line, prefix); p != "" {
				return p
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			path := key.Value
			if prefix != "" {
				path = prefix + "." + key.Value
			}
			if key.Line == line || (val.Kind == yaml.ScalarNode && val.Line == line) {
				return path
			}
			if p := pathAtLine(val, line, path); p != "" {
				return p
			}
		}
	}
	return ""
}

const envPrefix = "NIGHTSHIFT_"

// applyEnv lays the NIGHTSHIFT_* variables over the file:
//
//	NIGHTSHIFT_ENV, NIGHTSHIFT_PRODUCTION_NAMES, NIGHTSHIFT_WAREHOUSE_URL,
//	NIGHTSHIFT_WAREHOUSE_PASSWORD, NIGHTSHIFT_WAREHOUSE_CA_FILE,
//	NIGHTSHIFT_WAREHOUSE_SCHEMA, NIGHTSHIFT_SOURCE_<NAME>_URL,
//	NIGHTSHIFT_SOURCE_<NAME>_PASSWORD, NIGHTSHIFT_SOURCE_<NAME>_CA_FILE,
//	NIGHTSHIFT_SPOOL_DIR, NIGHTSHIFT_SPOOL_KEEP_RUNS, NIGHTSHIFT_SPOOL_MAX_AGE,
//	NIGHTSHIFT_BIGQUERY_<SETTING>, NIGHTSHIFT_RUN_<SETTING> (BATCH_SIZE,
//	PARALLELISM, MAX_ATTEMPTS, …), NIGHTSHIFT_LOSS_<SETTING> (MAX_DELETED_FRACTION,
//	MIN_DELETED_ROWS, ENTITIES_<ENTITY>_MAX_DELETED_FRACTION).
//
// An unknown NIGHTSHIFT_ variable is an error, like an unknown YAML key;
// every mistake is reported, not only the first.
func applyEnv(cfg *Config, env []string) error {
	var errs []error
	for _, kv := range env {
		key, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(key, envPrefix) {
			continue
		}
		name := strings.TrimPrefix(key, envPrefix)
		switch {
		case name == "ENV":
			cfg.Environment = value
		case name == "PRODUCTION_NAMES":
			cfg.ProductionNames = strings.Split(value, ",")
		case name == "CONFIG" || name == "CPUPROFILE" || strings.HasPrefix(name, "TEST_"):
			// Read elsewhere: the --config default, the profiler and the test suite.
		case name == "WAREHOUSE_URL":
			cfg.Warehouse.URL = value
		case name == "WAREHOUSE_PASSWORD":
			cfg.Warehouse.Password = value
		case name == "WAREHOUSE_CA_FILE":
			cfg.Warehouse.CAFile = value
		case name == "WAREHOUSE_SCHEMA":
			cfg.Warehouse.Schema = value
		case name == "SPOOL_DIR":
			cfg.Spool.Dir = value
		case name == "SPOOL_KEEP_RUNS":
			if n, err := strconv.Atoi(value); err != nil {
				errs = append(errs, &Error{Setting: "spool.keep_runs", Problem: fmt.Sprintf("%q is not a whole number", value)})
			} else {
				cfg.Spool.KeepRuns = n
			}
		case name == "SPOOL_MAX_AGE":
			if d, err := time.ParseDuration(value); err != nil {
				errs = append(errs, &Error{Setting: "spool.max_age", Problem: fmt.Sprintf("%q is not a duration such as 168h (0: no age limit)", value)})
			} else {
				cfg.Spool.MaxAge = d
			}
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
		case name == "BIGQUERY_PII":
			cfg.BigQuery.PII = value
		case name == "PII_HMAC_KEY":
			cfg.BigQuery.PIIKey = value
		case name == "SLACK_WEBHOOK_URL":
			cfg.Notify.SlackURL = value
		case name == "TEAMS_WEBHOOK_URL":
			cfg.Notify.TeamsURL = value
		case name == "WEBHOOK_URL":
			cfg.Notify.WebhookURL = value
		case strings.HasPrefix(name, "SOURCE_") && (strings.HasSuffix(name, "_URL") || strings.HasSuffix(name, "_PASSWORD") || strings.HasSuffix(name, "_CA_FILE")):
			rest := strings.TrimPrefix(name, "SOURCE_")
			field := rest[strings.LastIndex(rest, "_")+1:]
			if strings.HasSuffix(rest, "_CA_FILE") {
				field = "CA_FILE"
			}
			source := strings.ToLower(strings.TrimSuffix(rest, "_"+field))
			if !slices.Contains(KnownSources(), source) {
				errs = append(errs, &Error{Setting: key, Problem: fmt.Sprintf("%q is not a source; the sources are %s", source, strings.Join(KnownSources(), ", "))})
				continue
			}
			db := cfg.Sources[source]
			switch field {
			case "URL":
				db.URL = value
			case "CA_FILE":
				db.CAFile = value
			default:
				db.Password = value
			}
			if cfg.Sources == nil {
				cfg.Sources = map[string]Database{}
			}
			cfg.Sources[source] = db
		case strings.HasPrefix(name, "RUN_"):
			setting := strings.ToLower(strings.TrimPrefix(name, "RUN_"))
			if err := setRun(&cfg.Run, strings.TrimPrefix(name, "RUN_"), value); errors.Is(err, errUnknown) {
				errs = append(errs, &Error{Setting: key, Problem: err.Error()})
			} else if err != nil {
				errs = append(errs, &Error{Setting: "run." + setting, Problem: err.Error()})
			}
		case strings.HasPrefix(name, "LOSS_"):
			setting := strings.ToLower(strings.TrimPrefix(name, "LOSS_"))
			if strings.HasPrefix(setting, "entities_") {
				// loss.entities.<entity>.max_deleted_fraction
				setting = "entities." + strings.TrimSuffix(strings.TrimPrefix(setting, "entities_"), "_max_deleted_fraction") + ".max_deleted_fraction"
			}
			if err := setLoss(&cfg.Loss, strings.TrimPrefix(name, "LOSS_"), value); errors.Is(err, errUnknown) {
				errs = append(errs, &Error{Setting: key, Problem: err.Error()})
			} else if err != nil {
				errs = append(errs, &Error{Setting: "loss." + setting, Problem: err.Error()})
			}
		default:
			errs = append(errs, &Error{Setting: key, Problem: errUnknown.Error()})
		}
	}
	return errors.Join(errs...)
}

// errUnknown is a setting nightshift does not have.
var errUnknown = errors.New("unknown setting (see README.md, Configuration)")

// KnownSources are the source names the contracts read from: the only
// names sources.* and NIGHTSHIFT_SOURCE_* may use, so that a misspelt one
// is an error rather than a source nobody reads.
func KnownSources() []string {
	var out []string
	for _, c := range schemas.All() {
		if !slices.Contains(out, c.Source) {
			out = append(out, c.Source)
		}
	}
	slices.Sort(out)
	return out
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
	return errUnknown
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
	} else if s, err := connString(c.Warehouse.URL); err != nil {
		bad("warehouse.url", connProblem(err, c.Warehouse.Database))
	} else {
		c.Warehouse.URL = s
		if err := checkCAFile(c.Warehouse.Database); err != nil {
			bad("warehouse.ca_file", err.Error())
		}
	}
	names := make([]string, 0, len(c.Sources))
	for name := range c.Sources {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		setting := "sources." + name + ".url"
		if !slices.Contains(KnownSources(), name) {
			bad("sources."+name, fmt.Sprintf("is not a source; the sources are %s", strings.Join(KnownSources(), ", ")))
			continue
		}
		db := c.Sources[name]
		if db.URL == "" {
			bad(setting, fmt.Sprintf("is required (set it in the config file or NIGHTSHIFT_SOURCE_%s_URL)", strings.ToUpper(name)))
		} else if s, err := connString(db.URL); err != nil {
			bad(setting, connProblem(err, db))
		} else {
			db.URL = s
			c.Sources[name] = db
			if err := checkCAFile(db); err != nil {
				bad("sources."+name+".ca_file", err.Error())
			}
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
	if c.Spool.KeepRuns < 0 {
		bad("spool.keep_runs", fmt.Sprintf("must be 0 or more successful runs whose files are kept, not %d", c.Spool.KeepRuns))
	}
	if c.Spool.MaxAge < 0 {
		bad("spool.max_age", fmt.Sprintf("must be a positive duration such as 168h, or 0 for no age limit; not %s", c.Spool.MaxAge))
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
	if c.Run.RetryBase <= 0 {
		bad("run.retry_base", fmt.Sprintf("must be positive, not %s: it is the pause before the first retry", c.Run.RetryBase))
	}
	if c.Run.RetryMax < c.Run.RetryBase {
		bad("run.retry_max", fmt.Sprintf("must be at least run.retry_base (%s), not %s", c.Run.RetryBase, c.Run.RetryMax))
	}
	if c.Run.AttemptTimeout < 0 {
		bad("run.attempt_timeout", fmt.Sprintf("must be positive, or 0 for no limit but the run deadline; not %s", c.Run.AttemptTimeout))
	}
	if len(c.ProductionNames) == 0 || slices.ContainsFunc(c.ProductionNames, func(n string) bool { return strings.TrimSpace(n) == "" }) {
		bad("production_names", "must list at least one name, none of them empty")
	}
	if c.Run.LockTimeout < time.Millisecond {
		bad("run.lock_timeout", "must be at least 1ms")
	}
	c.Loss.validate(bad)
	return errors.Join(errs...)
}
