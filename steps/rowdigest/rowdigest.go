// Package rowdigest keeps the (key, digest) pairs of an entity's rows in
// hash buckets: in memory while they are few, in one file once they are
// many. The warehouse load writes a run's pairs as its rows stream into
// staging; the versions' diff reads them back bucket by bucket, so that
// memory stays at one bucket whatever the table's size. A key is its fields
// as in a binary COPY tuple (a big-endian int32 length, -1 for NULL, then
// the bytes), which is what the load encodes and what PostgreSQL returns in
// binary, so keys from either side compare byte for byte.
package rowdigest

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cespare/xxhash/v2"
)

// Buckets is how many parts the keys are hashed into: at 25 million rows a
// bucket holds about 200,000 keys, a few tens of megabytes as a map.
const Buckets = 128

// memLimit is how many bytes of records a Set holds in memory before it
// writes them to its file: small tables never touch the disk until Save.
const memLimit = 32 << 20

// Set is one side's records, by bucket. A record is a uvarint key length,
// the key, one byte (1: the digest is known) and 8 bytes of digest.
//
// Every bucket's records go to one data file, as extents appended by each
// flush, and Save writes where each bucket's extents are in a manifest: an
// entity costs two files whatever its size (a file per bucket made a run
// of small entities open thousands of files), and a bucket is read back in
// a few large reads.
type Set struct {
	dir     string
	file    *os.File
	size    int64
	buckets [Buckets]bucket
	held    int
	limit   int
	// Rows and Sum count what was added: a Set read back from disk is
	// trusted only when they match what was recorded of it.
	Rows int64
	Sum  uint64
}

type bucket struct {
	buf     []byte
	extents []extent
}

// extent is a run of one bucket's records in the data file.
type extent struct {
	Off int64 `json:"o"`
	Len int64 `json:"n"`
}

// manifest is what Save records of a Set.
type manifest struct {
	Rows    int64      `json:"rows"`
	Sum     uint64     `json:"sum"`
	Extents [][]extent `json:"extents"`
}

const (
	dataFile     = "records"
	manifestFile = "manifest.json"
)

// New makes an empty Set whose files, if it needs any, go in dir (created
// on the first write).
func New(dir string) *Set { return &Set{dir: dir, limit: memLimit} }

// Add adds one row's key and digest.
func (s *Set) Add(key []byte, digest uint64, known bool) error {
	b := &s.buckets[xxhash.Sum64(key)%Buckets]
	n := len(b.buf)
	b.buf = binary.AppendUvarint(b.buf, uint64(len(key)))
	b.buf = append(b.buf, key...)
	if known {
		b.buf = append(b.buf, 1)
		b.buf = binary.BigEndian.AppendUint64(b.buf, digest)
		s.Sum += digest
	} else {
		b.buf = append(b.buf, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	}
	s.Rows++
	s.held += len(b.buf) - n
	if s.held > s.limit {
		return s.Flush()
	}
	return nil
}

// Flush appends every bucket's records in memory to the data file, each
// bucket's as one extent.
func (s *Set) Flush() error {
	if s.held == 0 {
		return nil
	}
	if s.file == nil {
		if err := s.create(); err != nil {
			return err
		}
	}
	for i := range s.buckets {
		b := &s.buckets[i]
		if len(b.buf) == 0 {
			continue
		}
		if _, err := s.file.Write(b.buf); err != nil {
			return err
		}
		b.extents = append(b.extents, extent{Off: s.size, Len: int64(len(b.buf))})
		s.size += int64(len(b.buf))
		b.buf = b.buf[:0]
	}
	s.held = 0
	return nil
}

// create makes the data file, empty.
func (s *Set) create() error {
	if err := os.MkdirAll(s.dir, 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(s.dir, dataFile), os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	s.file, s.size = f, 0
	return nil
}

// Save writes what is still in memory and a manifest, so that Open can
// read the whole Set back later (another run, another process), and
// closes the file. The manifest is written last: a Set whose Save did not
// finish cannot be opened.
func (s *Set) Save() error {
	if err := s.Flush(); err != nil {
		return err
	}
	if s.file == nil {
		// An empty Set still has a data file, so that Open finds one.
		if err := s.create(); err != nil {
			return err
		}
	}
	s.Close()
	m := manifest{Rows: s.Rows, Sum: s.Sum, Extents: make([][]extent, Buckets)}
	for i := range s.buckets {
		m.Extents[i] = s.buckets[i].extents
	}
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.dir, manifestFile), data, 0o600)
}

// Open reads back a saved Set; ok is false when there is none, or it is
// incomplete or of another layout.
func Open(dir string) (s *Set, ok bool) {
	data, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if err != nil {
		return nil, false
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil || len(m.Extents) != Buckets {
		return nil, false
	}
	f, err := os.Open(filepath.Join(dir, dataFile))
	if err != nil {
		return nil, false
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, false
	}
	s = &Set{dir: dir, file: f, size: info.Size(), limit: memLimit, Rows: m.Rows, Sum: m.Sum}
	for i := range s.buckets {
		for _, e := range m.Extents[i] {
			if e.Off < 0 || e.Len < 0 || e.Off+e.Len > s.size {
				s.Close()
				return nil, false
			}
		}
		s.buckets[i].extents = m.Extents[i]
	}
	return s, true
}

// Close closes the data file.
func (s *Set) Close() {
	if s.file != nil {
		_ = s.file.Close()
		s.file = nil
	}
}

// Records reads bucket i's records, in the order they were added, for a
// Reader: into buf, grown when it is too small, unless they are all in
// memory already. Buckets may be read concurrently.
func (s *Set) Records(i int, buf []byte) ([]byte, error) {
	b := &s.buckets[i]
	if len(b.extents) == 0 {
		return b.buf, nil
	}
	if s.file == nil {
		return nil, errors.New("the records file is closed")
	}
	size := int64(len(b.buf))
	for _, e := range b.extents {
		size += e.Len
	}
	if int64(cap(buf)) < size {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	var at int64
	for _, e := range b.extents {
		if _, err := s.file.ReadAt(buf[at:at+e.Len], e.Off); err != nil {
			return nil, fmt.Errorf("read bucket %d: %w", i, err)
		}
		at += e.Len
	}
	copy(buf[at:], b.buf)
	return buf, nil
}

// Drop frees bucket i's memory once it has been read.
func (s *Set) Drop(i int) { s.buckets[i].buf = nil }

// Reader steps through records (Set.Records) one at a time. It returns
// each record rather than keeping it: the diff calls it for every row,
// and a slice stored in a struct costs a write barrier while the garbage
// collector runs.
type Reader struct {
	buf []byte
	off int
	err error
}

// NewReader reads the records in buf.
func NewReader(buf []byte) Reader { return Reader{buf: buf} }

// Next returns the next record, the key pointing into the buffer; ok is
// false at the end or at a damaged record (Err).
func (r *Reader) Next() (key []byte, digest uint64, known, ok bool) {
	if r.off >= len(r.buf) || r.err != nil {
		return nil, 0, false, false
	}
	buf := r.buf[r.off:]
	n, w := binary.Uvarint(buf)
	// Compared as uint64: a damaged length may not fit an int.
	if w <= 0 || n+9 < n || n+9 > uint64(len(buf)-w) { //nolint:gosec // w <= len(buf): Uvarint read it from buf
		r.err = errors.New("a damaged record")
		return nil, 0, false, false
	}
	end := w + int(n) //nolint:gosec // at most len(buf), checked above
	r.off += end + 9
	return buf[w:end], binary.BigEndian.Uint64(buf[end+1 : end+9]), buf[end] == 1, true
}

// Err is why Next stopped early, if it did.
func (r *Reader) Err() error { return r.err }
