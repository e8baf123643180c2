// Package rowdigest keeps the (key, digest) pairs of an entity's rows in
// hash buckets: in memory while they are few, in files once they are many.
// The warehouse load writes a run's pairs as its rows stream into staging;
// the versions' diff reads them back bucket by bucket, so that memory
// stays at one bucket whatever the table's size. A key is its fields as in
// a binary COPY tuple (a big-endian int32 length, -1 for NULL, then the
// bytes), which is what the load encodes and what PostgreSQL returns in
// binary, so keys from either side compare byte for byte.
package rowdigest

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cespare/xxhash/v2"
)

// Buckets is how many parts the keys are hashed into: at 25 million rows a
// bucket holds about 200,000 keys, a few tens of megabytes as a map.
const Buckets = 128

// memLimit is how many bytes of records a Set holds in memory before it
// writes them to its bucket files: small tables never touch the disk.
const memLimit = 32 << 20

// Set is one side's records, by bucket. A record is a uvarint key length,
// the key, one byte (1: the digest is known) and 8 bytes of digest.
type Set struct {
	dir     string
	buckets [Buckets]bucket
	held    int
	// Rows and Sum count what was added: a Set read back from disk is
	// trusted only when they match what was recorded of it.
	Rows int64
	Sum  uint64
}

type bucket struct {
	buf  []byte
	file *os.File
	// onDisk is how many bytes the file holds.
	onDisk int64
}

// New makes an empty Set whose files, if it needs any, go in dir (created
// on the first write).
func New(dir string) *Set { return &Set{dir: dir} }

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
	if s.held > memLimit {
		return s.Flush()
	}
	return nil
}

// Flush writes every bucket's records to its file.
func (s *Set) Flush() error {
	for i := range s.buckets {
		b := &s.buckets[i]
		if len(b.buf) == 0 {
			continue
		}
		if b.file == nil {
			if err := os.MkdirAll(s.dir, 0o750); err != nil {
				return err
			}
			f, err := os.OpenFile(bucketPath(s.dir, i), os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			b.file = f
		}
		if _, err := b.file.Write(b.buf); err != nil {
			return err
		}
		b.onDisk += int64(len(b.buf))
		b.buf = b.buf[:0]
	}
	s.held = 0
	return nil
}

// Save writes what is still in memory and a manifest, so that Open can
// read the whole Set back later (another run, another process), and
// closes the files.
func (s *Set) Save() error {
	if err := s.Flush(); err != nil {
		return err
	}
	if err := os.MkdirAll(s.dir, 0o750); err != nil {
		return err
	}
	s.Close()
	return os.WriteFile(filepath.Join(s.dir, "manifest"), fmt.Appendf(nil, "%d %d\n", s.Rows, s.Sum), 0o600)
}

// Open reads back a saved Set; ok is false when there is none, or it is
// incomplete.
func Open(dir string) (s *Set, ok bool) {
	data, err := os.ReadFile(filepath.Join(dir, "manifest"))
	if err != nil {
		return nil, false
	}
	s = &Set{dir: dir}
	if _, err := fmt.Sscanf(string(data), "%d %d", &s.Rows, &s.Sum); err != nil {
		return nil, false
	}
	for i := range s.buckets {
		f, err := os.Open(bucketPath(dir, i))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			s.Close()
			return nil, false
		}
		s.buckets[i].file = f
	}
	return s, true
}

// Close closes the bucket files.
func (s *Set) Close() {
	for i := range s.buckets {
		if f := s.buckets[i].file; f != nil {
			_ = f.Close()
			s.buckets[i].file = nil
		}
	}
}

func bucketPath(dir string, i int) string { return filepath.Join(dir, fmt.Sprintf("bucket-%03d", i)) }

// Each calls fn with every record of bucket i: those on disk, then those
// in memory. key is valid only during the call.
func (s *Set) Each(i int, fn func(key []byte, digest uint64, known bool)) error {
	b := &s.buckets[i]
	if b.file != nil {
		if _, err := b.file.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := read(bufio.NewReaderSize(b.file, 1<<16), fn); err != nil {
			return err
		}
	}
	return read(&byteReader{b: b.buf}, fn)
}

// Drop frees bucket i's memory once it has been read.
func (s *Set) Drop(i int) { s.buckets[i].buf = nil }

func read(src interface {
	io.Reader
	io.ByteReader
}, fn func(key []byte, digest uint64, known bool)) error {
	var key []byte
	var tail [9]byte
	for {
		n, err := binary.ReadUvarint(src)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if n > 1<<30 {
			return fmt.Errorf("a key of %d bytes: the file is damaged", n)
		}
		if uint64(cap(key)) < n {
			key = make([]byte, n)
		}
		key = key[:n]
		if _, err := io.ReadFull(src, key); err != nil {
			return err
		}
		if _, err := io.ReadFull(src, tail[:]); err != nil {
			return err
		}
		fn(key, binary.BigEndian.Uint64(tail[1:]), tail[0] == 1)
	}
}

// byteReader reads a byte slice without copying it.
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
