package loadbigquery

import (
	"fmt"
	"sync/atomic"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
)

// rowsReader streams a warehouse query's rows as Arrow record batches of
// at most batch rows, its columns typed by a BigQuery schema (INTEGER,
// STRING, BOOLEAN, TIMESTAMP; NULLABLE or REQUIRED), so that a table of
// any size goes to a file without being held in memory.
type rowsReader struct {
	refs   atomic.Int64
	rows   pgx.Rows
	schema *arrow.Schema
	batch  int
	mem    memory.Allocator
	cur    arrow.RecordBatch
	err    error
}

var _ array.RecordReader = (*rowsReader)(nil)

// arrowSchema is the Arrow schema of the files written for a BigQuery
// schema of plain columns.
func arrowSchema(schema bigquery.Schema) (*arrow.Schema, error) {
	fields := make([]arrow.Field, len(schema))
	for i, f := range schema {
		var t arrow.DataType
		switch f.Type {
		case bigquery.IntegerFieldType:
			t = arrow.PrimitiveTypes.Int64
		case bigquery.StringFieldType:
			t = arrow.BinaryTypes.String
		case bigquery.BooleanFieldType:
			t = arrow.FixedWidthTypes.Boolean
		case bigquery.TimestampFieldType:
			t = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
		default:
			return nil, fmt.Errorf("column %s: type %s is not one a warehouse mirror writes", f.Name, f.Type)
		}
		if f.Repeated {
			return nil, fmt.Errorf("column %s: a warehouse mirror writes no repeated column", f.Name)
		}
		fields[i] = arrow.Field{Name: f.Name, Type: t, Nullable: !f.Required}
	}
	return arrow.NewSchema(fields, nil), nil
}

func newRowsReader(rows pgx.Rows, schema *arrow.Schema, batch int, mem memory.Allocator) *rowsReader {
	r := &rowsReader{rows: rows, schema: schema, batch: max(batch, 1), mem: mem}
	r.refs.Store(1)
	return r
}

func (r *rowsReader) Retain() { r.refs.Add(1) }

func (r *rowsReader) Release() {
	if r.refs.Add(-1) == 0 {
		if r.cur != nil {
			r.cur.Release()
			r.cur = nil
		}
		r.rows.Close()
	}
}

func (r *rowsReader) Schema() *arrow.Schema { return r.schema }

func (r *rowsReader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is RecordBatch, for the interface.
func (r *rowsReader) Record() arrow.RecordBatch { return r.cur }

func (r *rowsReader) Err() error { return r.err }

// Next reads the next batch of rows.
func (r *rowsReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.err != nil {
		return false
	}
	b := array.NewRecordBuilder(r.mem, r.schema)
	defer b.Release()
	n := 0
	for n < r.batch && r.rows.Next() {
		values, err := r.rows.Values()
		if err == nil {
			err = appendRow(b, values)
		}
		if err != nil {
			r.err = err
			r.rows.Close()
			return false
		}
		n++
	}
	if n == 0 {
		r.err = r.rows.Err()
		return false
	}
	r.cur = b.NewRecordBatch()
	return true
}

// appendRow appends one row's values, as pgx decodes them, to b.
func appendRow(b *array.RecordBuilder, values []any) error {
	if len(values) != len(b.Fields()) {
		return fmt.Errorf("the query returned %d columns, the table has %d", len(values), len(b.Fields()))
	}
	for i, v := range values {
		fb := b.Field(i)
		if v == nil {
			if !b.Schema().Field(i).Nullable {
				return fmt.Errorf("column %s: NULL in a REQUIRED column", b.Schema().Field(i).Name)
			}
			fb.AppendNull()
			continue
		}
		ok := false
		switch fb := fb.(type) {
		case *array.Int64Builder:
			var x int64
			if x, ok = v.(int64); ok {
				fb.Append(x)
			}
		case *array.StringBuilder:
			var x string
			if x, ok = v.(string); ok {
				fb.Append(x)
			}
		case *array.BooleanBuilder:
			var x bool
			if x, ok = v.(bool); ok {
				fb.Append(x)
			}
		case *array.TimestampBuilder:
			var x time.Time
			if x, ok = v.(time.Time); ok {
				fb.Append(arrow.Timestamp(x.UnixMicro()))
			}
		}
		if !ok {
			return fmt.Errorf("column %s: the query returned %T", b.Schema().Field(i).Name, v)
		}
	}
	return nil
}
