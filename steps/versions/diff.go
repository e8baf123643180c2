package versions

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/loadwarehouse"
	"github.com/dfe-nightshift/nightshift/steps/rowdigest"
)

// The kinds of change a diff finds, as stored in the changes table.
const (
	changeNew     = "new"
	changeChanged = "changed"
	changeDeleted = "deleted"
	// changeUnknown is a key whose current version has no digest (written
	// before digests were kept, or outside a backfill's window): its values
	// are compared in SQL, for these rows only.
	changeUnknown = "unknown"
)

// Diff is what Compute found.
type Diff struct {
	// First: the entity had no versions; every staged row opens one, and
	// no changes table was written.
	First     bool  `json:"first,omitempty"`
	Unchanged int64 `json:"unchanged"`
	New       int64 `json:"new"`
	Changed   int64 `json:"changed"`
	Deleted   int64 `json:"deleted"`
	Unknown   int64 `json:"unknown,omitempty"`
	// Seconds is the diff's wall time.
	Seconds float64 `json:"seconds"`
	// Where each side's digests were read from: the load's own, the
	// previous run's, or the warehouse (a scan).
	StagedFrom  string `json:"staged_from,omitempty"`
	CurrentFrom string `json:"current_from,omitempty"`
	// Digests is where this run's staged digests are kept, with their
	// count and sum; the publish records them for the next run's diff.
	Digests    string `json:"digests,omitempty"`
	DigestRows int64  `json:"-"`
	DigestSum  int64  `json:"-"`
	// CurrentRun and CurrentRows, when the current side is the previous
	// run's digests: that run, and how many rows it staged. When that run's
	// table is the one published, with as many rows, the diff's deleted
	// keys are exactly the published rows the staged table lacks (the loss
	// check reads them instead of an anti-join).
	CurrentRun  int64 `json:"-"`
	CurrentRows int64 `json:"-"`
}

// previousDigests opens the digests the last publish recorded as those of
// the current versions, when they are still there and whole; nil
// otherwise (they went with the spool, a backfill changed the versions, or
// it withheld rows). A backfill's window is compared from the warehouse.
func previousDigests(ctx context.Context, conn *pgxpool.Conn, c *schemas.Contract, w *Window) (*rowdigest.Set, int64) {
	if w != nil {
		return nil, 0
	}
	var dir *string
	var rows, sum *int64
	var run int64
	err := conn.QueryRow(ctx, "SELECT digests, digests_rows, digests_sum, run_id FROM nightshift.versions_applied WHERE entity = $1", c.Entity).Scan(&dir, &rows, &sum, &run)
	if err != nil || dir == nil || rows == nil || sum == nil {
		return nil, 0
	}
	set, ok := rowdigest.Open(*dir)
	if !ok {
		return nil, 0
	}
	if set.Rows != *rows || int64(set.Sum) != *sum { //nolint:gosec // compared as stored
		set.Close()
		return nil, 0
	}
	return set, run
}

// Window restricts a diff to the rows a backfill replaced: a WHERE clause
// on the entity's column names, with its arguments, applied alike to the
// staged rows and to the current versions.
type Window struct {
	Where string
	Args  []any
}

// Saved are the keys and digests a load kept of the rows it staged
// (loadwarehouse.Load.Digests), which Compute reads instead of the staging
// table when they are whole: Rows must be the rows staged.
type Saved struct {
	Dir  string
	Rows int64
}

// Compute compares the entity's staging table (nightshift_staging.<table>,
// its rows carrying their digests) with the entity's current versions by
// primary key and digest, and writes the keys that differ into the changes
// table (Changes) for Apply. Each side is a set of (key, digest) in hash
// buckets (rowdigest), so that memory stays at one bucket whatever the
// table's size, and the warehouse does no join: the cost of what the
// publish transaction then does follows the rows that changed. The staged
// side is what the load kept as the rows streamed by (staged), the current
// side what the last publish recorded of its own (versions_applied); each
// is read from the warehouse instead when it is not there or not whole.
func Compute(ctx context.Context, pool *pgxpool.Pool, schema string, c *schemas.Contract, table string, w *Window, dir string, staged Saved) (d Diff, err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return d, fmt.Errorf("versions of %s: %w", c.Entity, err)
	}
	defer conn.Release()
	changes := quote(loadwarehouse.StagingSchema, Changes(c.Entity))
	if _, err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+changes); err != nil {
		return d, fmt.Errorf("versions of %s: %w", c.Entity, err)
	}
	var hasStaging bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", quote(loadwarehouse.StagingSchema, table)).Scan(&hasStaging); err != nil {
		return d, fmt.Errorf("versions of %s: %w", c.Entity, err)
	}
	if !hasStaging {
		// Published already (the ledger says so; the publish will not
		// run again) or never staged: nothing to compare.
		return d, nil
	}
	start := time.Now()
	defer func() { d.Seconds = time.Since(start).Seconds() }()
	var rows *rowdigest.Set
	if w == nil && staged.Dir != "" {
		if set, ok := rowdigest.Open(staged.Dir); ok && set.Rows == staged.Rows {
			rows = set
			defer set.Close()
			// The next run may read them as its current side.
			d.Digests, d.DigestRows, d.DigestSum = staged.Dir, set.Rows, int64(set.Sum) //nolint:gosec // stored as its bits
		} else if ok {
			set.Close()
		}
	}
	// Until this run's publish upgrades them, versions of before are a
	// table of their own, with no log.
	var exists, upgraded bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL OR to_regclass($2) IS NOT NULL, to_regclass($2) IS NOT NULL",
		quote(schema, Table(c.Entity)), quote(schema, Log(c.Entity))).Scan(&exists, &upgraded); err != nil {
		return d, fmt.Errorf("versions of %s: %w", c.Entity, err)
	}
	if !exists {
		d.First = true
		return d, nil
	}
	tmp, err := os.MkdirTemp(dir, "versions-"+c.Entity+"-")
	if err != nil {
		return d, fmt.Errorf("versions of %s: %w", c.Entity, err)
	}
	defer os.RemoveAll(tmp)

	keys := keyList(c, "")
	where, args := "true", []any(nil)
	if w != nil {
		where, args = "coalesce(("+w.Where+"), false)", w.Args
	}
	d.StagedFrom = "load"
	if rows == nil {
		d.StagedFrom = "warehouse"
		rows, err = spill(ctx, conn, filepath.Join(tmp, "staged"), len(c.PrimaryKey), fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s",
			keys, quote(loadwarehouse.RowDigestColumn), quote(loadwarehouse.StagingSchema, table), where), args)
		if err != nil {
			return d, fmt.Errorf("versions of %s: read staged digests: %w", c.Entity, err)
		}
		defer rows.Close()
	}
	d.CurrentFrom = "previous run"
	current, currentRun := previousDigests(ctx, conn, c, w)
	if current != nil {
		d.CurrentRun, d.CurrentRows = currentRun, current.Rows
	}
	if current == nil {
		d.CurrentFrom = "warehouse"
		// The latest version of each key, unless a tombstone.
		log := quote(schema, Log(c.Entity))
		query := fmt.Sprintf(`SELECT %s, row_digest FROM %s v WHERE NOT is_deleted AND %s
			AND NOT EXISTS (SELECT 1 FROM %s n WHERE %s AND n.valid_from > v.valid_from)`, keys, log, where, log, keyJoin(c, "n", "v"))
		if !upgraded {
			query = fmt.Sprintf("SELECT %s, row_digest FROM %s WHERE valid_to IS NULL AND NOT is_deleted AND %s", keys, quote(schema, Table(c.Entity)), where)
		}
		current, err = spill(ctx, conn, filepath.Join(tmp, "current"), len(c.PrimaryKey), query, args)
		if err != nil {
			return d, fmt.Errorf("versions of %s: read current digests: %w", c.Entity, err)
		}
	}
	defer current.Close()
	out, err := os.Create(tmp + "/changes.copy")
	if err != nil {
		return d, fmt.Errorf("versions of %s: %w", c.Entity, err)
	}
	defer out.Close()
	cw := bufio.NewWriterSize(out, 1<<16)
	if _, err := cw.Write(loadwarehouse.CopySignature); err != nil {
		return d, fmt.Errorf("versions of %s: %w", c.Entity, err)
	}
	if err := diffBuckets(ctx, current, rows, cw, len(c.PrimaryKey), &d); err != nil {
		return d, fmt.Errorf("versions of %s: %w", c.Entity, err)
	}
	if _, err := cw.Write([]byte{0xff, 0xff}); err != nil {
		return d, fmt.Errorf("versions of %s: %w", c.Entity, err)
	}
	if err := cw.Flush(); err != nil {
		return d, fmt.Errorf("versions of %s: %w", c.Entity, err)
	}
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		return d, fmt.Errorf("versions of %s: %w", c.Entity, err)
	}
	if _, err := conn.Exec(ctx, changesTableSQL(c)); err != nil {
		return d, fmt.Errorf("versions of %s: %w", c.Entity, err)
	}
	if _, err := conn.Conn().PgConn().CopyFrom(ctx, bufio.NewReaderSize(out, 1<<16),
		fmt.Sprintf("COPY %s (%s, row_digest, change) FROM STDIN (FORMAT binary)", changes, keys)); err != nil {
		return d, fmt.Errorf("versions of %s: write changes: %w", c.Entity, err)
	}
	// The publish joins the changes with the current versions and the new
	// rows by key, a nested loop on their indexes when there are few.
	if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s ADD PRIMARY KEY (%s); ANALYZE %s", changes, keys, changes)); err != nil {
		return d, fmt.Errorf("versions of %s: %w", c.Entity, err)
	}
	return d, nil
}

// changesTableSQL creates the changes table: the key, the new digest (NULL
// for a deleted row) and the kind of change.
func changesTableSQL(c *schemas.Contract) string {
	cols := make([]string, 0, len(c.PrimaryKey)+2)
	for _, k := range c.PrimaryKey {
		col, _ := c.Column(k)
		cols = append(cols, quote(k)+" "+col.WarehouseType()+" NOT NULL")
	}
	cols = append(cols, "row_digest bigint", "change text NOT NULL")
	return fmt.Sprintf("CREATE TABLE %s (%s)", quote(loadwarehouse.StagingSchema, Changes(c.Entity)), strings.Join(cols, ", "))
}

// spill runs query (key columns, then the digest) with results in binary
// and adds each row to a Set.
func spill(ctx context.Context, conn *pgxpool.Conn, dir string, nkeys int, query string, args []any) (*rowdigest.Set, error) {
	set := rowdigest.New(dir)
	rows, err := conn.Query(ctx, query, append([]any{pgx.QueryResultFormats{pgx.BinaryFormatCode}}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var key []byte
	for rows.Next() {
		raw := rows.RawValues()
		key = key[:0]
		for _, f := range raw[:nkeys] {
			if f == nil {
				key = binary.BigEndian.AppendUint32(key, 0xffffffff)
				continue
			}
			key = binary.BigEndian.AppendUint32(key, uint32(len(f))) //nolint:gosec // a field is at most 1 GB
			key = append(key, f...)
		}
		d := raw[nkeys]
		var digest uint64
		if len(d) == 8 {
			digest = binary.BigEndian.Uint64(d)
		}
		if err := set.Add(key, digest, len(d) == 8); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return set, nil
}

// diffBuckets diffs the buckets a few at a time, one per core, and writes
// their changes in bucket order; memory holds as many buckets and their
// changes as there are cores.
func diffBuckets(ctx context.Context, current, staged *rowdigest.Set, out io.Writer, nkeys int, d *Diff) error {
	workers := runtime.GOMAXPROCS(0)
	// Each worker reads its buckets into the same two buffers, round after
	// round.
	scratch := make([]buffers, workers)
	for first := 0; first < rowdigest.Buckets; first += workers {
		n := min(workers, rowdigest.Buckets-first)
		outs, diffs := make([]bytes.Buffer, n), make([]Diff, n)
		var g errgroup.Group
		for w := range n {
			g.Go(func() error { return diffBucket(current, staged, first+w, &scratch[w], &outs[w], nkeys, &diffs[w]) })
		}
		if err := g.Wait(); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		for w := range n {
			if _, err := out.Write(outs[w].Bytes()); err != nil {
				return err
			}
			d.Unchanged += diffs[w].Unchanged
			d.New += diffs[w].New
			d.Changed += diffs[w].Changed
			d.Deleted += diffs[w].Deleted
			d.Unknown += diffs[w].Unknown
		}
	}
	return nil
}

// version is what the diff knows of a key's digest on one side.
type version struct {
	digest uint64
	known  bool
}

// diffBucket compares one bucket of the current versions with the same
// bucket of the staged rows, writing a binary COPY tuple of the changes
// table for each key that is new, changed, gone or of unknown digest.
//
// Both sides list their keys in the order the source returned its rows,
// which moves little from one run to the next (an updated row moves; the
// rest keep their order), so the two are walked in step: a key met on
// both sides at once is compared there, and only the keys out of step
// wait in a map for their match. In the usual case that is a few keys in
// a hundred, and the diff costs a comparison per key instead of a map's
// insert and lookup. Each side holds a key once (the staged table's
// primary key; one current version per key, which Apply keeps); in any
// order the result is the same, only slower.
func diffBucket(current, staged *rowdigest.Set, i int, bufs *buffers, out io.Writer, nkeys int, d *Diff) error {
	var err error
	if bufs.current, err = current.Records(i, bufs.current); err != nil {
		return err
	}
	if bufs.staged, err = staged.Records(i, bufs.staged); err != nil {
		return err
	}
	var werr error
	compare := func(key []byte, was version, digest uint64, known bool) {
		change := ""
		switch {
		case !was.known || !known:
			d.Unknown++
			change = changeUnknown
		case was.digest != digest:
			d.Changed++
			change = changeChanged
		default:
			d.Unchanged++
			return
		}
		if werr == nil {
			werr = writeChange(out, nkeys, key, digest, known, change)
		}
	}
	c, s := rowdigest.NewReader(bufs.current), rowdigest.NewReader(bufs.staged)
	onlyCurrent, onlyStaged := newPending(nkeys), newPending(nkeys)
	ck, cd, cknown, hasC := c.Next()
	sk, sd, sknown, hasS := s.Next()
	for hasC || hasS {
		if hasC && hasS && bytes.Equal(ck, sk) {
			compare(sk, version{cd, cknown}, sd, sknown)
			ck, cd, cknown, hasC = c.Next()
			sk, sd, sknown, hasS = s.Next()
			continue
		}
		if hasC {
			if v, ok := onlyStaged.take(ck); ok {
				compare(ck, version{cd, cknown}, v.digest, v.known)
				ck, cd, cknown, hasC = c.Next()
				continue
			}
		}
		if hasS {
			if v, ok := onlyCurrent.take(sk); ok {
				compare(sk, v, sd, sknown)
				sk, sd, sknown, hasS = s.Next()
				continue
			}
		}
		if hasC {
			onlyCurrent.put(ck, version{cd, cknown})
			ck, cd, cknown, hasC = c.Next()
		}
		if hasS {
			onlyStaged.put(sk, version{sd, sknown})
			sk, sd, sknown, hasS = s.Next()
		}
	}
	if err := cmp.Or(c.Err(), s.Err()); err != nil {
		return fmt.Errorf("read bucket %d: %w", i, err)
	}
	current.Drop(i)
	staged.Drop(i)
	onlyStaged.each(func(key []byte, v version) {
		d.New++
		if werr == nil {
			werr = writeChange(out, nkeys, key, v.digest, v.known, changeNew)
		}
	})
	onlyCurrent.each(func(key []byte, _ version) {
		d.Deleted++
		if werr == nil {
			werr = writeChange(out, nkeys, key, 0, false, changeDeleted)
		}
	})
	return werr
}

// buffers are where a worker reads a bucket of each side.
type buffers struct{ current, staged []byte }

// pending are the keys of one side met out of step with the other, with
// their digests. A key of one 8-byte field (a bigint id: most entities) is
// held as an integer, twice as fast as a string.
type pending struct {
	nkeys int
	ints  map[uint64]version
	strs  map[string]version
}

func newPending(nkeys int) *pending {
	return &pending{nkeys: nkeys, ints: map[uint64]version{}, strs: map[string]version{}}
}

// asInt is the key as an integer, when it is one bigint.
func (p *pending) asInt(key []byte) (uint64, bool) {
	if p.nkeys == 1 && len(key) == 12 && binary.BigEndian.Uint32(key) == 8 {
		return binary.BigEndian.Uint64(key[4:]), true
	}
	return 0, false
}

func (p *pending) put(key []byte, v version) {
	if k, ok := p.asInt(key); ok {
		p.ints[k] = v
		return
	}
	p.strs[string(key)] = v
}

// take removes the key and reports its digest, if it was there.
func (p *pending) take(key []byte) (version, bool) {
	if k, ok := p.asInt(key); ok {
		v, found := p.ints[k]
		if found {
			delete(p.ints, k)
		}
		return v, found
	}
	v, found := p.strs[string(key)]
	if found {
		delete(p.strs, string(key))
	}
	return v, found
}

// each calls fn with every key left.
func (p *pending) each(fn func(key []byte, v version)) {
	var key [12]byte
	binary.BigEndian.PutUint32(key[:4], 8)
	for k, v := range p.ints {
		binary.BigEndian.PutUint64(key[4:], k)
		fn(key[:], v)
	}
	for k, v := range p.strs {
		fn([]byte(k), v)
	}
}

// writeChange writes one tuple of the changes table: the key's fields as
// they came, the digest, the kind of change.
func writeChange(out io.Writer, nkeys int, key []byte, digest uint64, known bool, change string) error {
	t := make([]byte, 0, 2+len(key)+12+4+len(change))
	t = binary.BigEndian.AppendUint16(t, uint16(nkeys+2)) //nolint:gosec // a key has a few columns
	t = append(t, key...)
	if known {
		t = binary.BigEndian.AppendUint32(t, 8)
		t = binary.BigEndian.AppendUint64(t, digest)
	} else {
		t = binary.BigEndian.AppendUint32(t, 0xffffffff)
	}
	t = binary.BigEndian.AppendUint32(t, uint32(len(change))) //nolint:gosec // a word
	t = append(t, change...)
	_, err := out.Write(t)
	return err
}
