package loadwarehouse

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/pgbinary"
	"github.com/dfe-nightshift/nightshift/steps/reconcile"
	"github.com/dfe-nightshift/nightshift/steps/rowdigest"
)

// CopySignature opens every binary COPY stream (header and no extensions).
var CopySignature = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// encoder appends the binary COPY form of row i of a column (never NULL),
// including its length word.
type encoder func(buf []byte, col arrow.Array, i int) ([]byte, error)

func encoderFor(col schemas.Column) encoder {
	switch col.Type {
	case schemas.Bool:
		return func(buf []byte, col arrow.Array, i int) ([]byte, error) {
			v := byte(0)
			if col.(*array.Boolean).Value(i) {
				v = 1
			}
			return append(binary.BigEndian.AppendUint32(buf, 1), v), nil
		}
	case schemas.Int16:
		return func(buf []byte, col arrow.Array, i int) ([]byte, error) {
			return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint32(buf, 2), uint16(col.(*array.Int16).Value(i))), nil
		}
	case schemas.Int32:
		return func(buf []byte, col arrow.Array, i int) ([]byte, error) {
			return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(buf, 4), uint32(col.(*array.Int32).Value(i))), nil
		}
	case schemas.Int64:
		return func(buf []byte, col arrow.Array, i int) ([]byte, error) {
			return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(buf, 8), uint64(col.(*array.Int64).Value(i))), nil
		}
	case schemas.Float64:
		return func(buf []byte, col arrow.Array, i int) ([]byte, error) {
			return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(buf, 8), math.Float64bits(col.(*array.Float64).Value(i))), nil
		}
	case schemas.Text:
		return func(buf []byte, col arrow.Array, i int) ([]byte, error) {
			// Value aliases the array's buffer: no copy, no allocation.
			v := col.(*array.String).Value(i)
			return append(binary.BigEndian.AppendUint32(buf, uint32(len(v))), v...), nil
		}
	case schemas.JSON:
		return func(buf []byte, col arrow.Array, i int) ([]byte, error) {
			// jsonb's binary form is version 1 followed by the JSON text.
			v := col.(*array.String).Value(i)
			return append(append(binary.BigEndian.AppendUint32(buf, uint32(len(v)+1)), 1), v...), nil
		}
	case schemas.UUID:
		return encodeUUID
	case schemas.Date:
		return func(buf []byte, col arrow.Array, i int) ([]byte, error) {
			days := int32(col.(*array.Date32).Value(i)) - pgbinary.EpochDays
			return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(buf, 4), uint32(days)), nil
		}
	case schemas.Timestamp:
		return func(buf []byte, col arrow.Array, i int) ([]byte, error) {
			us := int64(col.(*array.Timestamp).Value(i)) - pgbinary.EpochMicros
			return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(buf, 8), uint64(us)), nil
		}
	case schemas.Numeric:
		return func(buf []byte, c arrow.Array, i int) ([]byte, error) {
			return pgbinary.AppendNumeric(buf, c.(*array.Decimal128).Value(i), col.Scale), nil
		}
	}
	panic(fmt.Sprintf("loadwarehouse: no encoder for %v", col.Type))
}

func encodeUUID(buf []byte, col arrow.Array, i int) ([]byte, error) {
	s := col.(*array.String).Value(i)
	if len(s) != 36 {
		return nil, fmt.Errorf("uuid %q: want 36 characters", s)
	}
	buf = binary.BigEndian.AppendUint32(buf, 16)
	var digits [32]byte
	n := 0
	for k := 0; k < len(s); k++ {
		if s[k] != '-' && n < len(digits) {
			digits[n] = s[k]
			n++
		}
	}
	var out [16]byte
	if _, err := hex.Decode(out[:], digits[:]); n != 32 || err != nil {
		return nil, fmt.Errorf("uuid %q is not 32 hex digits", s)
	}
	return append(buf, out[:]...), nil
}

// copyStream turns record batches into a PostgreSQL binary COPY stream. It
// is an io.Reader that encodes one batch at a time on demand, so memory
// stays at one batch and one encoded buffer whatever the table's size.
type copyStream struct {
	// mu lets close run safely while pgconn's copy goroutine may still be
	// in Read: after some connection errors, CopyFrom returns before that
	// goroutine has finished.
	mu       sync.Mutex
	next     func() (arrow.RecordBatch, error)
	encoders []encoder
	buf      []byte
	pos      int
	rows     int64
	started  bool
	done     bool
	// rec is the batch being encoded, row its next row: a batch is encoded
	// a slice of rows at a time, so that the buffer stays small.
	rec arrow.RecordBatch
	row int
	// digest covers the rows encoded, as encoded (reconcile.Digest).
	digest reconcile.Digest
	// keys, when set, receives each row's key (its primary key's fields
	// as encoded) and digest, for the versions' diff; key are the primary
	// key's column positions.
	keys    *rowdigest.Set
	key     []int
	scratch []byte
	starts  []int
}

// encodeRows is how many rows one fill encodes: a few megabytes of COPY
// data, whatever the batch size.
const encodeRows = 4096

func newCopyStream(c *schemas.Contract, next func() (arrow.RecordBatch, error), keys *rowdigest.Set) *copyStream {
	fields := c.Fields()
	enc := make([]encoder, len(fields))
	for i, col := range fields {
		enc[i] = encoderFor(col)
	}
	s := &copyStream{next: next, encoders: enc, keys: keys, starts: make([]int, len(fields)+1)}
	for _, k := range c.PrimaryKey {
		s.key = append(s.key, slices.IndexFunc(fields, func(col schemas.Column) bool { return col.Name == k }))
	}
	return s
}

func (s *copyStream) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.pos == len(s.buf) {
		if s.done {
			return 0, io.EOF
		}
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, s.buf[s.pos:])
	s.pos += n
	return n, nil
}

// fill encodes the next rows of the current batch, the next batch, or the
// trailer when there is none.
func (s *copyStream) fill() error {
	s.buf, s.pos = s.buf[:0], 0
	if !s.started {
		s.buf = append(s.buf, CopySignature...)
		s.started = true
	}
	if s.rec == nil {
		rec, err := s.next()
		if errors.Is(err, io.EOF) {
			s.buf = binary.BigEndian.AppendUint16(s.buf, 0xffff)
			s.done = true
			return nil
		}
		if err != nil {
			return err
		}
		if int(rec.NumCols()) != len(s.encoders) {
			rec.Release()
			return fmt.Errorf("spool batch has %d columns, the contract has %d", rec.NumCols(), len(s.encoders))
		}
		s.rec, s.row = rec, 0
	}
	cols := s.rec.Columns()
	end := min(s.row+encodeRows, int(s.rec.NumRows()))
	var err error
	for i := s.row; i < end; i++ {
		// One field more than the contract's: the row's digest (RowDigestColumn).
		s.buf = binary.BigEndian.AppendUint16(s.buf, uint16(len(cols)+1))
		start := len(s.buf)
		for j, col := range cols {
			s.starts[j] = len(s.buf)
			if col.IsNull(i) {
				s.buf = binary.BigEndian.AppendUint32(s.buf, 0xffffffff)
				continue
			}
			if s.buf, err = s.encoders[j](s.buf, col, i); err != nil {
				return fmt.Errorf("row %d, column %d: %w", s.rows+1, j+1, err)
			}
		}
		s.starts[len(cols)] = len(s.buf)
		h := s.digest.Add(s.buf[start:])
		if s.keys != nil {
			s.scratch = s.scratch[:0]
			for _, k := range s.key {
				s.scratch = append(s.scratch, s.buf[s.starts[k]:s.starts[k+1]]...)
			}
			if err := s.keys.Add(s.scratch, h, true); err != nil {
				return fmt.Errorf("row %d: keep its digest: %w", s.rows+1, err)
			}
		}
		s.buf = binary.BigEndian.AppendUint32(s.buf, 8)
		s.buf = binary.BigEndian.AppendUint64(s.buf, h)
		s.rows++
	}
	s.row = end
	if s.row >= int(s.rec.NumRows()) {
		s.rec.Release()
		s.rec = nil
	}
	return nil
}

// close releases a batch left half-encoded by a failed COPY.
func (s *copyStream) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rec != nil {
		s.rec.Release()
		s.rec = nil
	}
}
