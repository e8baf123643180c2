// Package versions keeps the history of every entity in the warehouse:
// reporting.<entity>_versions holds each version of each row, valid from
// when it began until the next one (NULL: the current one), a row gone
// from the source closed by a tombstone (is_deleted). Per entity,
// <entity>_at(timestamptz) gives the rows as they were at a moment and
// <entity>_field_updates the change of each column.
//
// A run finds what changed by comparing digests, not values: each staged
// row carries the digest its load computed while the row streamed by
// (loadwarehouse.RowDigestColumn), each current version the digest it was
// stored with. Compute diffs the two outside the publish transaction and
// leaves the keys that differ in a changes table; Apply, inside it, writes
// the versions of those keys only, so its cost follows the rows that
// changed, not the size of the table. A run that changed nothing adds
// nothing.
package versions

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/loadwarehouse"
)

// Table names the entity's versions: the view analysts query.
func Table(entity string) string { return entity + "_versions" }

// Log names the table the versions are stored in, and only ever added to.
func Log(entity string) string { return entity + "_version_log" }

// AsOf names the entity's as-of function.
func AsOf(entity string) string { return entity + "_at" }

// FieldUpdates names the entity's view of column changes.
func FieldUpdates(entity string) string { return entity + "_field_updates" }

// Changes names the staging table Compute leaves for Apply.
func Changes(entity string) string { return loadwarehouse.ChangesTable(entity) }

// Where each version's valid_from comes from.
const (
	// FromSnapshot: the time of the run's snapshot of the source; the
	// change happened between the previous run's snapshot and this one.
	FromSnapshot = "snapshot"
	// Otherwise the name of the row's change-time column (updated_at,
	// which Rails sets on every save), or the source that column names
	// per row (audits, events).
)

// Applied is what Apply wrote.
type Applied struct {
	Opened  int64 `json:"opened"`
	Closed  int64 `json:"closed"`
	Deleted int64 `json:"deleted"`
	// Refreshed are versions whose digest was unknown and whose values
	// had not changed: only their digest was written.
	Refreshed int64 `json:"refreshed,omitempty"`
	// ByIndex: the changes were few next to the rows, and were looked up
	// key by key through the indexes (see byIndex).
	ByIndex bool    `json:"by_index,omitempty"`
	Seconds float64 `json:"seconds"`
}

// Apply brings the entity's versions up to date with its table just
// swapped in (reporting.<entity>, still carrying the digests), inside the
// publish transaction, from the changes Compute left (or, on the entity's
// first versioned run, from every row). at is the time of the run's
// snapshot. It then drops the digests from the table and the changes
// table.
func Apply(ctx context.Context, tx pgx.Tx, schema string, c *schemas.Contract, runID int64, at time.Time, d Diff) (Applied, error) {
	start := time.Now()
	var a Applied
	if err := guard(ctx, tx, c, runID, at); err != nil {
		return a, err
	}
	created, err := ensure(ctx, tx, schema, c)
	if err != nil {
		return a, fmt.Errorf("versions of %s: %w", c.Entity, err)
	}
	few := !created && !d.First && d.few()
	if few {
		if err := byIndex(ctx, tx, true); err != nil {
			return a, fmt.Errorf("versions of %s: %w", c.Entity, err)
		}
	}
	// A diff that found no versions table, when there is one now, was made
	// before another run's publish created it: writing every row as new
	// would open a second current version of each. The publish is retried,
	// and its diff then reads the versions.
	if d.First && !created {
		return a, fmt.Errorf("versions of %s: another run created them after this run's diff", c.Entity)
	}
	a, err = write(ctx, tx, schema, c, runID, at, created, d.Unknown > 0)
	if err != nil {
		return a, fmt.Errorf("versions of %s: %w", c.Entity, err)
	}
	a.ByIndex = few
	if few {
		if err := byIndex(ctx, tx, false); err != nil {
			return a, fmt.Errorf("versions of %s: %w", c.Entity, err)
		}
	}
	if created {
		if err := createIndexes(ctx, tx, schema, c); err != nil {
			return a, fmt.Errorf("versions of %s: %w", c.Entity, err)
		}
	}
	batch := &pgx.Batch{}
	batch.Queue(fmt.Sprintf("ALTER TABLE %s DROP COLUMN IF EXISTS %s", quote(schema, c.Entity), quote(loadwarehouse.RowDigestColumn)))
	batch.Queue("DROP TABLE IF EXISTS " + quote(loadwarehouse.StagingSchema, Changes(c.Entity)))
	// The digests of the rows just versioned are those of the current
	// versions from now on: the next run's diff reads them (when there are
	// any) instead of scanning the versions.
	var digests *string
	if d.Digests != "" {
		digests = &d.Digests
	}
	batch.Queue(`INSERT INTO nightshift.versions_applied (entity, run_id, observed_at, digests, digests_rows, digests_sum) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (entity) DO UPDATE SET run_id = excluded.run_id, observed_at = excluded.observed_at, applied_at = now(),
			digests = excluded.digests, digests_rows = excluded.digests_rows, digests_sum = excluded.digests_sum`,
		c.Entity, runID, at, digests, d.DigestRows, d.DigestSum)
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return a, fmt.Errorf("versions of %s: %w", c.Entity, err)
	}
	a.Seconds = time.Since(start).Seconds()
	return a, nil
}

// few reports whether the changes are few next to the rows: then every
// statement that writes them should go key by key through the indexes.
func (d Diff) few() bool {
	return d.changes()*10 < d.Unchanged+d.changes()
}

func (d Diff) changes() int64 { return d.New + d.Changed + d.Deleted + d.Unknown }

// byIndex makes the planner go key by key through the indexes (on) or
// lets it choose again (off). With a few thousand changed keys against
// tables of millions, it otherwise picks hash joins that scan both tables
// whole: at 1 % of 10 million declarations changed, 35 s instead of a
// few. The statements that follow the changes are written so that an
// index serves each of their joins.
func byIndex(ctx context.Context, tx pgx.Tx, on bool) error {
	v := "off"
	if !on {
		v = "on"
	}
	// JIT too: the penalties on the disabled plans make every statement
	// look costly enough to compile, half a second each for nothing.
	_, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL enable_hashjoin = %s; SET LOCAL enable_mergejoin = %s; SET LOCAL enable_seqscan = %s; SET LOCAL jit = %s", v, v, v, v))
	return err
}

// guard refuses a run older than the one the versions last came from (a
// retry of an old run after a newer one published): it would write
// history that a later run already wrote.
func guard(ctx context.Context, tx pgx.Tx, c *schemas.Contract, runID int64, at time.Time) error {
	var last int64
	var observed time.Time
	err := tx.QueryRow(ctx, "SELECT run_id, observed_at FROM nightshift.versions_applied WHERE entity = $1", c.Entity).Scan(&last, &observed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("versions of %s: %w", c.Entity, err)
	}
	if last > runID || observed.After(at) {
		return pipeline.MarkPermanent(fmt.Errorf("versions of %s already hold run %d's snapshot (%s), later than this run's (%s): run the entity again instead of retrying this run",
			c.Entity, last, observed.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339)))
	}
	return nil
}

// write adds the new versions and the tombstones to the log. all: every
// row of the table opens a version (the entity's first versioned run);
// otherwise the changes table says which keys to look at, some of unknown
// digest when unknown. The version each supersedes stays as it is: the
// view closes it.
func write(ctx context.Context, tx pgx.Tx, schema string, c *schemas.Contract, runID int64, at time.Time, all, unknown bool) (Applied, error) {
	var a Applied
	table, log := quote(schema, c.Entity), quote(schema, Log(c.Entity))
	cols := columnList(c, "")
	// What the entity before in this transaction left is not this one's
	// (the status history reads it: StatusHistory).
	if _, err := tx.Exec(ctx, "DROP TABLE IF EXISTS pg_temp.nightshift_version_changes"); err != nil {
		return a, err
	}
	from, source := validFrom(c, "s", "NULL::timestamptz")
	if all {
		tag, err := tx.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (%s, valid_from, is_deleted, run_id, valid_from_source, row_digest)
			SELECT %s, %s, false, $2, %s, s.%s FROM %s s`,
			log, cols, columnList(c, "s"), from, source, quote(loadwarehouse.RowDigestColumn), table), at, runID)
		a.Opened = tag.RowsAffected()
		return a, err
	}
	changes := quote(loadwarehouse.StagingSchema, Changes(c.Entity))
	on := func(l, r string) string { return keyJoin(c, l, r) }
	// The latest version of a key, as a condition on the log aliased v.
	latest := func(key string) string {
		return fmt.Sprintf("v.valid_from = (SELECT max(l.valid_from) FROM %s l WHERE %s)", log, on("l", key))
	}
	// A version of unknown digest whose values are those staged did not
	// change: it gets its digest, and the key leaves the changes.
	if unknown {
		tag, err := tx.Exec(ctx, fmt.Sprintf(`WITH same AS (
			UPDATE %[1]s v SET row_digest = c.row_digest
			FROM %[2]s c JOIN %[3]s s ON %[4]s
			WHERE c.change = 'unknown' AND %[5]s AND %[9]s AND NOT v.is_deleted
			  AND (%[6]s) IS NOT DISTINCT FROM (%[7]s)
			RETURNING %[8]s)
		DELETE FROM %[2]s c USING same v WHERE %[5]s`,
			log, changes, table, on("s", "c"), on("v", "c"), columnList(c, "v"), columnList(c, "s"), keyList(c, "v"), latest("c")))
		if err != nil {
			return a, err
		}
		a.Refreshed = tag.RowsAffected()
	}
	// What each changed key becomes: a new version from the staged row, or
	// a tombstone carrying the last values. Each key is found once in the
	// new table and once in the log's index, for its latest valid_from
	// (the index holds it: no page of the log is read when its pages are
	// all visible); a deleted key's latest version is found in the log
	// itself, for its values. The new row is kept, in key order: the new
	// versions then go into the index leaf after leaf, each written once,
	// however many they are. A key whose row is in the changes but not in
	// the table was withheld from it (its row is quarantined elsewhere): it
	// says nothing new, and its version stays current. So does a key that
	// looks deleted because this run quarantined its row.
	from, source = validFrom(c, "s", "p.previous")
	if _, err := tx.Exec(ctx, fmt.Sprintf(`CREATE TEMP TABLE nightshift_version_changes ON COMMIT DROP AS
		SELECT %[1]s, c.change, c.row_digest, s AS new_row, p.previous, d.deleted_version,
		       CASE WHEN c.change = 'deleted' THEN $1::timestamptz ELSE %[2]s END AS valid_from,
		       CASE WHEN c.change = 'deleted' THEN 'snapshot' ELSE %[3]s END AS valid_from_source
		FROM %[4]s c
		LEFT JOIN %[5]s s ON %[6]s
		CROSS JOIN LATERAL (SELECT max(l.valid_from) AS previous FROM %[7]s l WHERE %[8]s) p
		-- A subquery under CASE, so that only deleted keys read the log.
		CROSS JOIN LATERAL (SELECT CASE WHEN c.change = 'deleted' THEN
			(SELECT v.ctid FROM %[7]s v WHERE %[9]s AND v.valid_from = p.previous AND NOT v.is_deleted) END AS deleted_version) d
		WHERE (c.change <> 'deleted' AND s.%[10]s IS NOT NULL)
		   OR (c.change = 'deleted' AND d.deleted_version IS NOT NULL
		       AND NOT EXISTS (SELECT 1 FROM nightshift.quarantine q WHERE q.run_id = $2 AND q.entity = $3 AND q.key = %[11]s))
		ORDER BY %[1]s`,
		keyList(c, "c"), from, source, changes, table, on("s", "c"), log, on("l", "c"), on("v", "c"), quote(c.PrimaryKey[0]), quarantineKey(c, "c")),
		at, runID, c.Entity); err != nil {
		return a, err
	}
	// Then one statement appends them. The sub-statements share one
	// snapshot: the tombstones read the versions as they were before.
	var early int64
	err := tx.QueryRow(ctx, fmt.Sprintf(`WITH opened AS (
			INSERT INTO %[1]s (%[2]s, valid_from, is_deleted, run_id, valid_from_source, row_digest)
			SELECT %[3]s, n.valid_from, false, $1, n.valid_from_source, n.row_digest
			FROM nightshift_version_changes n WHERE n.change <> 'deleted'
			RETURNING 1),
		tombstones AS (
			INSERT INTO %[1]s (%[2]s, valid_from, is_deleted, run_id, valid_from_source, row_digest)
			SELECT %[4]s, n.valid_from, true, $1, n.valid_from_source, v.row_digest
			FROM nightshift_version_changes n JOIN %[1]s v ON v.ctid = n.deleted_version WHERE n.change = 'deleted'
			RETURNING 1)
		SELECT (SELECT count(*) FROM nightshift_version_changes WHERE previous IS NOT NULL), (SELECT count(*) FROM opened), (SELECT count(*) FROM tombstones),
		       (SELECT count(*) FROM nightshift_version_changes WHERE valid_from <= previous)`,
		log, cols, columnList(c, "(n.new_row)"), columnList(c, "v")),
		runID).Scan(&a.Closed, &a.Opened, &a.Deleted, &early)
	if err == nil && early > 0 {
		// The view orders a key's versions by valid_from: one that does not
		// begin after the latest would hide it, or be hidden. The guard
		// refuses the runs that could write one; this is its backstop.
		err = pipeline.MarkPermanent(fmt.Errorf("%d new versions would begin at or before the latest of their key, which is from a snapshot later than this run's (%s): run the entity again",
			early, at.UTC().Format(time.RFC3339)))
	}
	return a, err
}

// validFrom is the SQL of a new version's valid_from and of its source,
// given the staged row's alias and the previous version's valid_from: the
// row's change time (Contract.ChangeTime: updated_at, or a statuses
// entity's status_changed_at) when it falls after the previous version and
// not after the snapshot ($1), else the snapshot.
func validFrom(c *schemas.Contract, alias, previous string) (from, source string) {
	name, label, ok := c.ChangeTime()
	if !ok {
		return "$1::timestamptz", "'" + FromSnapshot + "'"
	}
	u := alias + "." + quote(name)
	cond := fmt.Sprintf("%s IS NOT NULL AND %s <= $1 AND (%s IS NULL OR %s > %s)", u, u, previous, u, previous)
	src := literal(name)
	if label != "" {
		src = fmt.Sprintf("coalesce(%s.%s, %s)", alias, quote(label), literal(name))
	}
	return fmt.Sprintf("CASE WHEN %s THEN %s ELSE $1::timestamptz END", cond, u),
		fmt.Sprintf("CASE WHEN %s THEN %s ELSE '%s' END", cond, src, FromSnapshot)
}

// quarantineKey renders a key as the extract writes it in
// nightshift.quarantine (extract.rowKey): integers and text as themselves,
// anything else as hex; a composite key joined by '/'.
func quarantineKey(c *schemas.Contract, alias string) string {
	parts := make([]string, len(c.PrimaryKey))
	for i, k := range c.PrimaryKey {
		col, _ := c.Column(k)
		ref := alias + "." + quote(k)
		switch col.Type {
		case schemas.Int16, schemas.Int32, schemas.Int64, schemas.Text:
			parts[i] = ref + "::text"
		case schemas.UUID:
			parts[i] = "replace(" + ref + "::text, '-', '')"
		default:
			parts[i] = ref + "::text"
		}
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "concat_ws('/', " + strings.Join(parts, ", ") + ")"
}

// ensure creates the versions log, its view, as-of function and field
// updates view, or upgrades a versions table of before to them, or adds
// the contract's new columns to them. It reports whether it created the
// log (which then has no index yet: the first run's rows go in faster
// before).
func ensure(ctx context.Context, tx pgx.Tx, schema string, c *schemas.Contract) (bool, error) {
	// One round trip: the log's columns, in order, whether the versions
	// are still a table of before, and whether what analysts query of the
	// log is all there (someone may have dropped a view).
	var have []string
	var old, complete bool
	if err := tx.QueryRow(ctx, `SELECT array(SELECT attname::text FROM pg_attribute
			WHERE attrelid = coalesce(to_regclass($1), to_regclass($2)) AND attnum > 0 AND NOT attisdropped ORDER BY attnum),
		coalesce((SELECT relkind = 'r' FROM pg_class WHERE oid = to_regclass($2)), false),
		to_regclass($2) IS NOT NULL AND to_regclass($3) IS NOT NULL AND to_regprocedure($4) IS NOT NULL`,
		quote(schema, Log(c.Entity)), quote(schema, Table(c.Entity)), quote(schema, FieldUpdates(c.Entity)),
		quote(schema, AsOf(c.Entity))+"(timestamptz)").Scan(&have, &old, &complete); err != nil {
		return false, err
	}
	created := len(have) == 0
	var stmts []string
	switch {
	case created:
		stmts, have = createLogSQL(schema, c)
	case old:
		views, err := dependentViews(ctx, tx, schema, c)
		if err != nil {
			return false, err
		}
		if len(views) > 0 {
			return false, pipeline.MarkPermanent(fmt.Errorf("%s is a table of an earlier release, which this run makes a view of %s, and %s read it: "+
				"drop them, run again, then make them again on the view (it has the same columns)",
				quote(schema, Table(c.Entity)), quote(schema, Log(c.Entity)), strings.Join(views, ", ")))
		}
		stmts = upgradeSQL(schema, c)
		have = slices.DeleteFunc(have, isDerived)
	}
	log := quote(schema, Log(c.Entity))
	for _, col := range c.Fields() {
		if !slices.Contains(have, col.Name) {
			have = append(have, col.Name)
			stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", log, quote(col.Name), col.WarehouseType()))
		}
	}
	if len(stmts) == 0 && complete {
		return false, nil
	}
	// The view, the function's result type and the field updates change
	// with the log: they are made again only when it does, so that nothing
	// an analyst built on them is disturbed by a run that changed nothing.
	stmts = append(stmts, viewSQL(schema, c, have)...)
	stmts = append(stmts, asOfSQL(schema, c)...)
	stmts = append(stmts, fieldUpdatesSQL(schema, c)...)
	// One round trip: an entity's DDL is dozens of statements (a comment
	// per column), and the first run makes it for every entity while the
	// publish holds its locks.
	if _, err := tx.Exec(ctx, strings.Join(stmts, ";\n")); err != nil {
		return false, err
	}
	return created, nil
}

// columnList lists the contract's columns, qualified by alias when given.
func columnList(c *schemas.Contract, alias string) string {
	fields := c.Fields()
	out := make([]string, len(fields))
	for i, col := range fields {
		out[i] = qualified(alias, col.Name)
	}
	return strings.Join(out, ", ")
}

// keyList lists the primary key's columns, qualified by alias when given.
func keyList(c *schemas.Contract, alias string) string {
	out := make([]string, len(c.PrimaryKey))
	for i, k := range c.PrimaryKey {
		out[i] = qualified(alias, k)
	}
	return strings.Join(out, ", ")
}

// keyJoin is the join condition of two aliases on the primary key.
func keyJoin(c *schemas.Contract, l, r string) string {
	out := make([]string, len(c.PrimaryKey))
	for i, k := range c.PrimaryKey {
		out[i] = qualified(l, k) + " = " + qualified(r, k)
	}
	return strings.Join(out, " AND ")
}

func qualified(alias, col string) string {
	if alias == "" {
		return quote(col)
	}
	return alias + "." + quote(col)
}

func quote(parts ...string) string { return pgx.Identifier(parts).Sanitize() }

func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
