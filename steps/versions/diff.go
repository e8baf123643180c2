package versions

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/loadwarehouse"
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
}

// Window restricts a diff to the rows a backfill replaced: a WHERE clause
// on the entity's column names, with its arguments, applied alike to the
// staged rows and to the current versions.
type Window struct {
	Where string
	Args  []any
}

// Compute compares the entity's staging table (nightshift_staging.<table>,
// its rows carrying their digests) with the entity's current versions by
// primary key and digest, and writes the keys that differ into the changes
// table (Changes) for Apply. It reads two narrow columns from each side and
// spills them into hash buckets on disk (dir), so that memory stays at one
// bucket whatever the table's size, and the warehouse does no join: the
// cost of what the publish transaction then does follows the rows that
// changed.
func Compute(ctx context.Context, pool *pgxpool.Pool, schema string, c *schemas.Contract, table string, w *Window, dir string) (d Diff, err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return d, fmt.Errorf("versions of %s: %w", c.Entity, err)
	}
	defer conn.Release()
	changes := quote(loadwarehouse.StagingSchema, Changes(c.Entity))
	if _, err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+changes); err != nil {
		return d, fmt.Errorf("versions of %s: %w", c.Entity, err)
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", quote(schema, Table(c.Entity))).Scan(&exists); err != nil {
		return d, fmt.Errorf("versions of %s: %w", c.Entity, err)
	}
	if !exists {
		d.First = true
		return d, nil
	}
	var staged bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", quote(loadwarehouse.StagingSchema, table)).Scan(&staged); err != nil {
		return d, fmt.Errorf("versions of %s: %w", c.Entity, err)
	}
	if !staged {
		// Published already (the ledger says so; the publish will not
		// run again) or never staged: nothing to compare.
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
	start := time.Now()
	defer func() { d.Seconds = time.Since(start).Seconds() }()
	rows, err := spill(ctx, conn, tmp, "staged", len(c.PrimaryKey), fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s",
		keys, quote(loadwarehouse.RowDigestColumn), quote(loadwarehouse.StagingSchema, table), where), args)
	if err != nil {
		return d, fmt.Errorf("versions of %s: read staged digests: %w", c.Entity, err)
	}
	current, err := spill(ctx, conn, tmp, "current", len(c.PrimaryKey), fmt.Sprintf("SELECT %s, row_digest FROM %s WHERE valid_to IS NULL AND NOT is_deleted AND %s",
		keys, quote(schema, Table(c.Entity)), where), args)
	if err != nil {
		return d, fmt.Errorf("versions of %s: read current digests: %w", c.Entity, err)
	}
	out, err := os.Create(tmp + "/changes.copy")
	if err != nil {
		return d, fmt.Errorf("versions of %s: %w", c.Entity, err)
	}
	defer out.Close()
	cw := bufio.NewWriterSize(out, 1<<16)
	if _, err := cw.Write(copySignature); err != nil {
		return d, fmt.Errorf("versions of %s: %w", c.Entity, err)
	}
	for b := range buckets {
		if err := diffBucket(current[b], rows[b], cw, len(c.PrimaryKey), &d); err != nil {
			return d, fmt.Errorf("versions of %s: %w", c.Entity, err)
		}
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

// buckets is how many parts the keys are hashed into: at 25 million rows a
// bucket's map holds about 200,000 keys, a few tens of megabytes.
const buckets = 128

// memLimit is how many bytes of records are held in memory before they
// are written to the bucket files: small tables never touch the disk.
const memLimit = 32 << 20

// bucketSet is one side's records, by bucket. A record is a key (its
// fields as in a binary COPY tuple) and a digest: uvarint key length, key,
// one byte (1: the digest is known), 8 bytes of digest.
type bucketSet [buckets]*bucket

type bucket struct {
	buf  []byte
	file *os.File
}

// spill runs query (key columns, then the digest) with results in binary
// and hashes each row into its bucket.
func spill(ctx context.Context, conn *pgxpool.Conn, dir, side string, nkeys int, query string, args []any) (*bucketSet, error) {
	set := &bucketSet{}
	for i := range set {
		set[i] = &bucket{}
	}
	rows, err := conn.Query(ctx, query, append([]any{pgx.QueryResultFormats{pgx.BinaryFormatCode}}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var held int
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
		b := set[xxhash.Sum64(key)%buckets]
		n := len(b.buf)
		b.buf = binary.AppendUvarint(b.buf, uint64(len(key)))
		b.buf = append(b.buf, key...)
		if d := raw[nkeys]; len(d) == 8 {
			b.buf = append(b.buf, 1)
			b.buf = append(b.buf, d...)
		} else {
			b.buf = append(b.buf, 0, 0, 0, 0, 0, 0, 0, 0, 0)
		}
		held += len(b.buf) - n
		if held > memLimit {
			if err := set.flush(dir, side); err != nil {
				return nil, err
			}
			held = 0
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return set, nil
}

// flush appends every bucket's records to its file.
func (s *bucketSet) flush(dir, side string) error {
	for i, b := range s {
		if len(b.buf) == 0 {
			continue
		}
		if b.file == nil {
			f, err := os.Create(fmt.Sprintf("%s/%s-%03d", dir, side, i))
			if err != nil {
				return err
			}
			b.file = f
		}
		if _, err := b.file.Write(b.buf); err != nil {
			return err
		}
		b.buf = b.buf[:0]
	}
	return nil
}

// each calls fn with every record of the bucket: those on disk, then
// those in memory. The bucket's file is closed after.
func (b *bucket) each(fn func(key []byte, digest uint64, known bool)) error {
	var r *bufio.Reader
	if b.file != nil {
		defer b.file.Close()
		if _, err := b.file.Seek(0, io.SeekStart); err != nil {
			return err
		}
		r = bufio.NewReaderSize(b.file, 1<<16)
	}
	mem := &byteReader{b: b.buf}
	var key []byte
	var tail [9]byte
	read := func(src interface {
		io.Reader
		io.ByteReader
	}) error {
		for {
			n, err := binary.ReadUvarint(src)
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			key = append(key[:0], make([]byte, n)...)
			if _, err := io.ReadFull(src, key); err != nil {
				return err
			}
			if _, err := io.ReadFull(src, tail[:]); err != nil {
				return err
			}
			fn(key, binary.BigEndian.Uint64(tail[1:]), tail[0] == 1)
		}
	}
	if r != nil {
		if err := read(r); err != nil {
			return err
		}
	}
	return read(mem)
}

// byteReader reads a byte slice; bytes.Reader would do, but this one keeps
// the bucket's buffer from being copied.
type byteReader struct {
	b   []byte
	pos int
}

func (r *byteReader) Read(p []byte) (int, error) {
	if r.pos >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.pos:])
	r.pos += n
	return n, nil
}

func (r *byteReader) ReadByte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, io.EOF
	}
	r.pos++
	return r.b[r.pos-1], nil
}

// diffBucket compares one bucket of the current versions with the same
// bucket of the staged rows, writing a binary COPY tuple of the changes
// table for each key that is new, changed, gone or of unknown digest.
func diffBucket(current, staged *bucket, out *bufio.Writer, nkeys int, d *Diff) error {
	type version struct {
		digest uint64
		known  bool
	}
	before := map[string]version{}
	if err := current.each(func(key []byte, digest uint64, known bool) {
		before[string(key)] = version{digest, known}
	}); err != nil {
		return err
	}
	current.buf = nil
	var werr error
	write := func(key []byte, digest uint64, known bool, change string) {
		if werr == nil {
			werr = writeChange(out, nkeys, key, digest, known, change)
		}
	}
	err := staged.each(func(key []byte, digest uint64, known bool) {
		v, ok := before[string(key)]
		switch {
		case !ok:
			d.New++
			write(key, digest, known, changeNew)
			return
		case !v.known || !known:
			d.Unknown++
			write(key, digest, known, changeUnknown)
		case v.digest != digest:
			d.Changed++
			write(key, digest, known, changeChanged)
		default:
			d.Unchanged++
		}
		delete(before, string(key))
	})
	if err != nil {
		return err
	}
	staged.buf = nil
	for key := range before {
		d.Deleted++
		write([]byte(key), 0, false, changeDeleted)
	}
	return werr
}

// writeChange writes one tuple of the changes table: the key's fields as
// they came, the digest, the kind of change.
func writeChange(out *bufio.Writer, nkeys int, key []byte, digest uint64, known bool, change string) error {
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

var copySignature = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")
