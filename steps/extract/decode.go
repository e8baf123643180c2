package extract

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/pgbinary"
)

// decoder appends one binary-format value (never NULL) to a builder.
type decoder func(b array.Builder, raw []byte) error

// wire is what the extract query must return for each logical type: the
// type OID and the decoder of its binary form.
type wire struct {
	oid    uint32
	decode decoder
}

func wireFor(col schemas.Column) wire {
	switch col.Type {
	case schemas.Bool:
		return wire{pgtype.BoolOID, fixed(1, func(b array.Builder, raw []byte) {
			b.(*array.BooleanBuilder).Append(raw[0] != 0)
		})}
	case schemas.Int16:
		return wire{pgtype.Int2OID, fixed(2, func(b array.Builder, raw []byte) {
			b.(*array.Int16Builder).Append(int16(binary.BigEndian.Uint16(raw)))
		})}
	case schemas.Int32:
		return wire{pgtype.Int4OID, fixed(4, func(b array.Builder, raw []byte) {
			b.(*array.Int32Builder).Append(int32(binary.BigEndian.Uint32(raw)))
		})}
	case schemas.Int64:
		return wire{pgtype.Int8OID, fixed(8, func(b array.Builder, raw []byte) {
			b.(*array.Int64Builder).Append(int64(binary.BigEndian.Uint64(raw)))
		})}
	case schemas.Float64:
		return wire{pgtype.Float8OID, fixed(8, func(b array.Builder, raw []byte) {
			b.(*array.Float64Builder).Append(math.Float64frombits(binary.BigEndian.Uint64(raw)))
		})}
	case schemas.Text:
		return wire{pgtype.TextOID, func(b array.Builder, raw []byte) error {
			b.(*array.StringBuilder).BinaryBuilder.Append(raw)
			return nil
		}}
	case schemas.JSON:
		return wire{pgtype.JSONBOID, decodeJSONB}
	case schemas.UUID:
		return wire{pgtype.UUIDOID, decodeUUID}
	case schemas.Date:
		return wire{pgtype.DateOID, decodeDate}
	case schemas.Timestamp:
		return wire{pgtype.TimestampOID, decodeTimestamp}
	case schemas.Numeric:
		return wire{pgtype.NumericOID, func(b array.Builder, raw []byte) error {
			n, reason, err := pgbinary.NumericToDecimal(raw, col.Precision, col.Scale)
			if err == nil && reason != "" {
				// The validator quarantines these rows before decoding.
				err = fmt.Errorf("%s", reason)
			}
			if err != nil {
				return err
			}
			b.(*array.Decimal128Builder).Append(n)
			return nil
		}}
	}
	panic(fmt.Sprintf("extract: no decoder for %v", col.Type))
}

// fixed checks the width of a fixed-size value before appending it.
func fixed(size int, appendTo func(array.Builder, []byte)) decoder {
	return func(b array.Builder, raw []byte) error {
		if len(raw) != size {
			return fmt.Errorf("expected %d bytes, got %d", size, len(raw))
		}
		appendTo(b, raw)
		return nil
	}
}

func decodeJSONB(b array.Builder, raw []byte) error {
	// jsonb's binary form is a version byte followed by the JSON text.
	if len(raw) == 0 || raw[0] != 1 {
		return fmt.Errorf("unsupported jsonb binary version")
	}
	b.(*array.StringBuilder).BinaryBuilder.Append(raw[1:])
	return nil
}

func decodeUUID(b array.Builder, raw []byte) error {
	if len(raw) != 16 {
		return fmt.Errorf("expected 16 bytes, got %d", len(raw))
	}
	var s [36]byte
	hex.Encode(s[0:8], raw[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], raw[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], raw[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], raw[8:10])
	s[23] = '-'
	hex.Encode(s[24:], raw[10:])
	b.(*array.StringBuilder).BinaryBuilder.Append(s[:])
	return nil
}

// Dates and timestamps out of the targets' range, infinities included,
// never reach the decoders: the extractor quarantines their rows first.

func decodeDate(b array.Builder, raw []byte) error {
	if len(raw) != 4 {
		return fmt.Errorf("expected 4 bytes, got %d", len(raw))
	}
	b.(*array.Date32Builder).Append(arrow.Date32(int32(binary.BigEndian.Uint32(raw)) + pgbinary.EpochDays))
	return nil
}

func decodeTimestamp(b array.Builder, raw []byte) error {
	if len(raw) != 8 {
		return fmt.Errorf("expected 8 bytes, got %d", len(raw))
	}
	b.(*array.TimestampBuilder).Append(arrow.Timestamp(int64(binary.BigEndian.Uint64(raw)) + pgbinary.EpochMicros))
	return nil
}
