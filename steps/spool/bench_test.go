package spool_test

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dfe-nightshift/nightshift/internal/synthetic"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/spool"
)

// BenchmarkWriteTrainees measures Arrow → Parquet (snappy, dictionaries on
// low-cardinality columns), one 8,192-row batch per op.
func BenchmarkWriteTrainees(b *testing.B) { benchmarkWrite(b, &schemas.Trainees) }

// BenchmarkWriteDeclarations is the same for a narrow, long table.
func BenchmarkWriteDeclarations(b *testing.B) { benchmarkWrite(b, &schemas.Declarations) }

func benchmarkWrite(b *testing.B, c *schemas.Contract) {
	b.Helper()
	const rows = 8192
	batches := make([]arrow.RecordBatch, 4)
	for i := range batches {
		batches[i] = synthetic.Batch(c, i*rows, rows, memory.DefaultAllocator)
		defer batches[i].Release()
	}
	w, err := spool.Create(b.TempDir(), 1, c, memory.DefaultAllocator)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := w.Write(batches[n%len(batches)]); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.StopTimer()
	b.ReportMetric(float64(n*rows)/b.Elapsed().Seconds(), "rows/s")
	if _, err := w.Close(); err != nil {
		b.Fatal(err)
	}
}
