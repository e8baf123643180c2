// Package recovery turns the warehouse into a recovery aid for the
// services (issue 14, item 5; the RECT disaster-recovery runbook, seed
// 003): rows a source lost by accident are read back from the warehouse's
// versions of the entity as they were at a time, and written as files an
// engineer reviews and loads into the source with psql — a text COPY file
// in the source table's own column order and types, and an INSERT … ON
// CONFLICT DO NOTHING script that is harmless to run twice.
//
// It writes files only. The source is read in a read-only transaction
// (its catalog, and with Missing its keys now); the difference between the
// rows then and the keys now is taken in the warehouse, in a temporary
// table of the recovery's own transaction, never in the source.
package recovery

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// Options is one recovery.
type Options struct {
	Contract *schemas.Contract
	// Schema is the warehouse schema of the versions (reporting).
	Schema string
	AsOf   time.Time
	// KeysFile names the keys to recover; Missing instead recovers every
	// row present at AsOf whose key the source does not hold now.
	KeysFile   string
	Missing    bool
	IncludePII bool
	OutDir     string
	Warehouse  *pgxpool.Pool
	// Source is the source database, opened read-only.
	Source *pgxpool.Pool
	// StartedBy and Reason say who asked and why, in the README.
	StartedBy, Reason string
}

// Result is what a recovery wrote.
type Result struct {
	Entity, Source, Table string
	AsOf, FirstVersion    time.Time
	Made                  time.Time
	Rows                  int64
	// Keys is how many keys the file gave, or the source holds now.
	Keys int64
	// Unmatched counts the keys of the file that had no row at AsOf, and
	// Sample shows the first of them.
	Unmatched                     int64
	Sample                        []string
	Plan                          Plan
	CopyFile, SQLFile, ReadmeFile string
	// TableName and ColumnList name the source table and its columns in
	// the COPY and the INSERT, quoted where they must be.
	TableName, ColumnList string
	Missing, WithPII      bool
	StartedBy, Reason     string
}

// Run recovers the rows and writes the files.
func Run(ctx context.Context, o Options) (res Result, err error) {
	c := o.Contract
	res = Result{Entity: c.Entity, Source: c.Source, Table: c.Table, AsOf: o.AsOf, Missing: o.Missing, WithPII: o.IncludePII, StartedBy: o.StartedBy, Reason: o.Reason}
	if err := Recoverable(c); err != nil {
		return res, err
	}
	if (o.KeysFile == "") == !o.Missing {
		return res, &UsageError{errors.New("give either --keys FILE or --missing (not both)")}
	}
	dir, derr := prepareDir(o.OutDir, c.Entity)
	if derr != nil {
		return res, &UsageError{derr}
	}
	res.CopyFile = filepath.Join(dir, c.Entity+".copy")
	res.SQLFile = filepath.Join(dir, c.Entity+".sql")
	res.ReadmeFile = filepath.Join(dir, c.Entity+".README")
	defer func() {
		// Half a recovery is worse than none: whoever finds the files
		// would take them for whole.
		if err != nil {
			for _, f := range []string{res.CopyFile, res.SQLFile, res.ReadmeFile} {
				_ = os.Remove(f)
			}
		}
	}()

	conn, err := o.Warehouse.Acquire(ctx)
	if err != nil {
		return res, fmt.Errorf("warehouse: %w", err)
	}
	defer conn.Release()
	// One snapshot of the warehouse for the as-of check, the rows and the
	// unmatched keys; rolled back at the end: the recovery changes nothing
	// there either, its keys table is dropped with the transaction.
	wh, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return res, fmt.Errorf("warehouse: %w", err)
	}
	defer func() { _ = wh.Rollback(context.WithoutCancel(ctx)) }()
	// The text forms the files are written in must not depend on the
	// warehouse role's settings: UTC, ISO dates, floats that round-trip.
	if _, err := wh.Exec(ctx, "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL extra_float_digits = 3; SET LOCAL IntervalStyle = 'postgres'"); err != nil {
		return res, fmt.Errorf("warehouse: %w", err)
	}
	if err := wh.QueryRow(ctx, "SELECT now()").Scan(&res.Made); err != nil {
		return res, fmt.Errorf("warehouse: %w", err)
	}
	if res.FirstVersion, err = checkAsOf(ctx, wh, o.Schema, c, o.AsOf); err != nil {
		return res, err
	}
	if err := createKeysTable(ctx, wh, c); err != nil {
		return res, err
	}
	if res.Plan, err = readSourceSide(ctx, o, wh); err != nil {
		return res, err
	}
	if o.KeysFile != "" {
		if err := loadKeysFile(ctx, wh, c, o.KeysFile); err != nil {
			return res, err
		}
	}
	if res.Keys, err = analyzeKeys(ctx, wh); err != nil {
		return res, err
	}
	if err := wh.QueryRow(ctx, "SELECT 'public.' || quote_ident($2), string_agg(quote_ident(n), ', ' ORDER BY o) FROM unnest($1::text[]) WITH ORDINALITY AS u(n, o)",
		res.Plan.Names(), c.Table).Scan(&res.TableName, &res.ColumnList); err != nil {
		return res, fmt.Errorf("warehouse: %w", err)
	}
	if res.Rows, err = writeCopy(ctx, wh, o, res.Plan, res.CopyFile); err != nil {
		return res, err
	}
	if o.KeysFile != "" {
		if res.Unmatched, res.Sample, err = unmatchedKeys(ctx, wh, o); err != nil {
			return res, err
		}
	}
	if err := writeSQL(res); err != nil {
		return res, err
	}
	if err := writeFile(res.ReadmeFile, []byte(res.Readme())); err != nil {
		return res, err
	}
	return res, nil
}

// readSourceSide reads what the recovery needs of the source, in one
// read-only transaction: the table's columns and, for Missing, its keys now
// (streamed into the warehouse's keys table).
func readSourceSide(ctx context.Context, o Options, wh pgx.Tx) (Plan, error) {
	src, err := o.Source.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return Plan{}, fmt.Errorf("source %s: %w", o.Contract.Source, err)
	}
	defer func() { _ = src.Rollback(context.WithoutCancel(ctx)) }()
	cols, checks, err := readSource(ctx, src, o.Contract.Table)
	if err != nil {
		return Plan{}, fmt.Errorf("source %s: %w", o.Contract.Source, err)
	}
	p, err := plan(o.Contract, cols, checks, o.IncludePII)
	if err != nil {
		return Plan{}, &UsageError{fmt.Errorf("source %s: %w", o.Contract.Source, err)}
	}
	if o.Missing {
		if err := loadSourceKeys(ctx, src, wh, o.Contract); err != nil {
			return Plan{}, fmt.Errorf("source %s: %w", o.Contract.Source, err)
		}
	}
	return p, nil
}

// selectRows is the query of the rows to recover: the entity as of
// o.AsOf, with (keys file) or without (Missing) a key in the keys table,
// in key order, each column in the source's form.
func selectRows(o Options, p Plan) string {
	c := o.Contract
	exprs := make([]string, len(p.Columns))
	for i, col := range p.Columns {
		exprs[i] = col.expr
	}
	match := make([]string, len(c.PrimaryKey))
	order := make([]string, len(c.PrimaryKey))
	for i, k := range c.PrimaryKey {
		q := pgx.Identifier{k}.Sanitize()
		match[i] = "k." + q + " = v." + q
		order[i] = "v." + q
	}
	exists := "EXISTS"
	if o.Missing {
		exists = "NOT EXISTS"
	}
	return fmt.Sprintf("SELECT %s FROM %s(%s) v WHERE %s (SELECT 1 FROM %s k WHERE %s) ORDER BY %s",
		strings.Join(exprs, ", "), asOfFunction(o.Schema, c), timestampLiteral(o.AsOf), exists, keysTable,
		strings.Join(match, " AND "), strings.Join(order, ", "))
}

// unmatchedKeys counts the keys of the file that had no row at o.AsOf
// (a typo, or a row created after it), and returns the first ten.
func unmatchedKeys(ctx context.Context, wh pgx.Tx, o Options) (int64, []string, error) {
	c := o.Contract
	match := make([]string, len(c.PrimaryKey))
	show := make([]string, len(c.PrimaryKey))
	for i, k := range c.PrimaryKey {
		q := pgx.Identifier{k}.Sanitize()
		match[i] = "v." + q + " = k." + q
		show[i] = "k." + q + "::text"
	}
	rows, err := wh.Query(ctx, fmt.Sprintf(`SELECT count(*) OVER (), concat_ws(E'\t', %s) FROM %s k
		WHERE NOT EXISTS (SELECT 1 FROM %s(%s) v WHERE %s) ORDER BY %s LIMIT 10`,
		strings.Join(show, ", "), keysTable, asOfFunction(o.Schema, c), timestampLiteral(o.AsOf), strings.Join(match, " AND "), quoteList(c.PrimaryKey)))
	if err != nil {
		return 0, nil, fmt.Errorf("warehouse: keys without a row: %w", err)
	}
	var n int64
	var key string
	var sample []string
	_, err = pgx.ForEachRow(rows, []any{&n, &key}, func() error {
		sample = append(sample, key)
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("warehouse: keys without a row: %w", err)
	}
	return n, sample, nil
}

// Recoverable says whether the entity's rows can go back to a source: an
// entity computed by a query (statuses the services derive) has no source
// table of its own to load them into.
func Recoverable(c *schemas.Contract) error {
	if c.Table != "" {
		return nil
	}
	return &UsageError{notATable(c)}
}

// notATable explains why an entity computed by a query cannot be
// recovered, and what can be.
func notATable(c *schemas.Contract) error {
	tables := make([]string, 0, len(c.Reads))
	for t := range c.Reads {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	var entities []string
	for _, other := range schemas.All() {
		if other.Source == c.Source && slices.Contains(tables, other.Table) {
			entities = append(entities, other.Entity)
		}
	}
	msg := fmt.Sprintf("entity %s cannot be recovered: nightshift computes it with a query over the source's tables %s, so it has no source table of its own to load rows back into",
		c.Entity, strings.Join(tables, ", "))
	if len(entities) > 0 {
		msg += "; recover the entities it is computed from instead: " + strings.Join(entities, ", ")
	}
	return errors.New(msg)
}

// prepareDir makes the output directory (readable by its owner only: the
// files can hold personal data) and checks that it is writable and holds
// no earlier recovery of the entity, which would be overwritten.
func prepareDir(dir, entity string) (string, error) {
	if dir == "" {
		return "", errors.New("--out DIR is required")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("--out %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", fmt.Errorf("--out %s: %w", dir, err)
	}
	for _, ext := range []string{".copy", ".sql", ".README"} {
		if _, err := os.Lstat(filepath.Join(abs, entity+ext)); err == nil {
			return "", fmt.Errorf("--out %s already holds %s: move it away, or choose another directory, rather than lose an earlier recovery", dir, entity+ext)
		}
	}
	probe, err := os.CreateTemp(abs, ".nightshift-recover-*")
	if err != nil {
		return "", fmt.Errorf("--out %s is not writable: %w", dir, err)
	}
	_ = probe.Close()
	_ = os.Remove(probe.Name())
	return abs, nil
}
