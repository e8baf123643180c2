package loadwarehouse

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dfe-nightshift/nightshift/internal/synthetic"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/spool"
)

const benchBatch = 8192

// BenchmarkEncodeTrainees measures Arrow → binary COPY (with the row
// digest), one 8,192-row batch per op: the path of every load.
func BenchmarkEncodeTrainees(b *testing.B) { benchmarkEncode(b, &schemas.Trainees) }

// BenchmarkEncodeDeclarations is the same for a narrow, long table.
func BenchmarkEncodeDeclarations(b *testing.B) { benchmarkEncode(b, &schemas.Declarations) }

func benchmarkEncode(b *testing.B, c *schemas.Contract) {
	b.Helper()
	rec := synthetic.Batch(c, 0, benchBatch, memory.DefaultAllocator)
	defer rec.Release()
	// One stream for every op, as a load has: its buffer is reused.
	s := newCopyStream(c, func() (arrow.RecordBatch, error) {
		rec.Retain()
		return rec, nil
	}, nil)
	buf := make([]byte, 64<<10)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		for s.rows < int64(n*benchBatch) {
			if _, err := s.Read(buf); err != nil {
				b.Fatal(err)
			}
		}
	}
	s.close()
	b.ReportMetric(float64(n*benchBatch)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkParquetToCopyTrainees measures a spool file → binary COPY: the
// path of a retried load, which reads the spool instead of the source. One
// op is a file of 65,536 rows.
func BenchmarkParquetToCopyTrainees(b *testing.B) {
	c := &schemas.Trainees
	w, err := spool.Create(b.TempDir(), 1, c, memory.DefaultAllocator)
	if err != nil {
		b.Fatal(err)
	}
	const batches = 8
	for i := range batches {
		rec := synthetic.Batch(c, i*benchBatch, benchBatch, memory.DefaultAllocator)
		err := w.Write(rec)
		rec.Release()
		if err != nil {
			b.Fatal(err)
		}
	}
	file, err := w.Close()
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		rr, closeFile, err := spool.Open(context.Background(), file.Path, benchBatch, memory.DefaultAllocator)
		if err != nil {
			b.Fatal(err)
		}
		s := newCopyStream(c, func() (arrow.RecordBatch, error) {
			if !rr.Next() {
				return nil, io.EOF
			}
			rec := rr.RecordBatch()
			rec.Retain()
			return rec, nil
		}, nil)
		for {
			if _, err := s.Read(buf); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		_ = closeFile()
		if s.rows != batches*benchBatch {
			b.Fatalf("encoded %d rows", s.rows)
		}
		n++
	}
	b.ReportMetric(float64(n*batches*benchBatch)/b.Elapsed().Seconds(), "rows/s")
}
