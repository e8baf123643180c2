// Package synthetic makes Arrow record batches shaped like a contract's,
// with plausible values of every type, for the Go benchmarks of the paths
// that take batches: Arrow → Parquet, Parquet → COPY. No database needed.
package synthetic

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// Batch returns n rows of the contract, starting at row first: a nullable
// column is NULL in one row of seven, and values vary from row to row
// about as much as real ones (codes repeat, identifiers and timestamps do
// not).
func Batch(c *schemas.Contract, first, n int, mem memory.Allocator) arrow.RecordBatch {
	rb := array.NewRecordBuilder(mem, c.ArrowSchema())
	defer rb.Release()
	for i, f := range c.Fields() {
		b := rb.Field(i)
		for r := first; r < first+n; r++ {
			if f.Nullable && (r+i)%7 == 0 {
				b.AppendNull()
				continue
			}
			appendValue(b, f, r)
		}
	}
	return rb.NewRecordBatch()
}

func appendValue(b array.Builder, f schemas.Column, r int) {
	switch f.Type {
	case schemas.Bool:
		b.(*array.BooleanBuilder).Append(r%2 == 0)
	case schemas.Int16:
		b.(*array.Int16Builder).Append(int16(r % 100))
	case schemas.Int32:
		b.(*array.Int32Builder).Append(int32(r % 7))
	case schemas.Int64:
		b.(*array.Int64Builder).Append(int64(r))
	case schemas.Float64:
		b.(*array.Float64Builder).Append(float64(r) / 3)
	case schemas.Text:
		if f.LowCardinality || len(f.Labels) > 0 {
			b.(*array.StringBuilder).Append(fmt.Sprintf("%s_%d", f.Name, r%9))
		} else {
			b.(*array.StringBuilder).Append(fmt.Sprintf("value %d of %s", r, f.Name))
		}
	case schemas.UUID:
		b.(*array.StringBuilder).Append(fmt.Sprintf("%08x-0000-4000-8000-%012x", r, r*7919))
	case schemas.JSON:
		b.(*array.StringBuilder).Append(`{"personal_details": "completed", "degrees": "in_progress"}`)
	case schemas.Date:
		b.(*array.Date32Builder).Append(arrow.Date32(18000 + r%5000))
	case schemas.Timestamp:
		b.(*array.TimestampBuilder).Append(arrow.Timestamp(1_600_000_000_000_000 + int64(r)*1_000_003))
	case schemas.Numeric:
		b.(*array.Decimal128Builder).Append(decimal128.FromI64(int64(r) * 125))
	default:
		panic(fmt.Sprintf("synthetic: no values for %v", f.Type))
	}
}
