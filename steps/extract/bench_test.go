package extract

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// SyntheticRows returns n rows of the contract in PostgreSQL's binary
// format, as the extract query would return them.
func syntheticRows(c *schemas.Contract, n int) [][][]byte {
	fields := c.Fields()
	rows := make([][][]byte, n)
	for r := range rows {
		row := make([][]byte, len(fields))
		for i, f := range fields {
			if f.Nullable && (r+i)%7 == 0 {
				continue // NULL
			}
			switch f.Type {
			case schemas.Bool:
				row[i] = []byte{byte(r % 2)}
			case schemas.Int16:
				row[i] = binary.BigEndian.AppendUint16(nil, uint16(r%100))
			case schemas.Int32:
				row[i] = binary.BigEndian.AppendUint32(nil, uint32(r%7))
			case schemas.Int64:
				row[i] = binary.BigEndian.AppendUint64(nil, uint64(r))
			case schemas.Float64:
				row[i] = binary.BigEndian.AppendUint64(nil, uint64(r)<<20)
			case schemas.Text:
				row[i] = []byte(fmt.Sprintf("value %d of %s", r, f.Name))
			case schemas.UUID:
				row[i] = binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, uint64(i)), uint64(r))
			case schemas.JSON:
				row[i] = append([]byte{1}, `{"personal_details":"completed","degrees":"in_progress"}`...)
			case schemas.Date:
				row[i] = binary.BigEndian.AppendUint32(nil, uint32(8000+r%5000))
			case schemas.Timestamp:
				row[i] = binary.BigEndian.AppendUint64(nil, uint64(700_000_000_000_000+int64(r)*1_000_003))
			}
		}
		rows[r] = row
	}
	return rows
}

func wireDecoders(c *schemas.Contract) []decoder {
	var fds []pgconn.FieldDescription
	for _, f := range c.Fields() {
		fds = append(fds, pgconn.FieldDescription{DataTypeOID: wireFor(f).oid, Format: 1})
	}
	d, err := checkWire(c.Fields(), fds)
	if err != nil {
		panic(err)
	}
	return d
}

// BenchmarkDecodeTrainees measures binary row → Arrow builders, per row,
// from a UTF8 source (whose text needs no UTF-8 check).
func BenchmarkDecodeTrainees(b *testing.B) {
	c := &schemas.Trainees
	rows := syntheticRows(c, 4096)
	rb := newRowBuilder(c, wireDecoders(c), DefaultBatchSize, memory.DefaultAllocator)
	rb.trustText()
	defer rb.release()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := rb.add(rows[i%len(rows)]); err != nil {
			b.Fatal(err)
		}
		if rb.full() {
			rb.flush().Release()
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func TestSyntheticRowsDecode(t *testing.T) {
	t.Parallel()
	c := &schemas.Trainees
	rb := newRowBuilder(c, wireDecoders(c), 100, memory.DefaultAllocator)
	defer rb.release()
	for _, row := range syntheticRows(c, 100) {
		q, err := rb.add(row)
		if err != nil || q != nil {
			t.Fatalf("add: %v %v", q, err)
		}
	}
	rec := rb.flush()
	defer rec.Release()
	if rec.NumRows() != 100 || int(rec.NumCols()) != len(c.Fields()) {
		t.Fatalf("got %d rows × %d columns", rec.NumRows(), rec.NumCols())
	}
}
