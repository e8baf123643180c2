package versions

import (
	"context"
	"encoding/binary"
	"io"
	"path/filepath"
	"testing"

	"github.com/dfe-nightshift/nightshift/steps/rowdigest"
)

// BenchmarkDiff diffs two saved sets of a million bigint keys, 1 % of them
// changed: the work of a publish that found little new, per row. The
// changed rows come last in the staged set, as a source's UPDATE moves a
// row to the end of its table; moved=0 leaves them in place.
func BenchmarkDiff(b *testing.B) {
	for _, moved := range []bool{true, false} {
		name := "moved=1%"
		if !moved {
			name = "moved=0"
		}
		b.Run(name, func(b *testing.B) { benchmarkDiff(b, moved) })
	}
}

func benchmarkDiff(b *testing.B, moved bool) {
	b.Helper()
	const rows = 1_000_000
	dir := b.TempDir()
	changed := func(id int) bool { return id%100 == 0 }
	save := func(name string, ids []int, change bool) {
		s := rowdigest.New(filepath.Join(dir, name))
		var key [12]byte
		binary.BigEndian.PutUint32(key[:4], 8)
		for _, id := range ids {
			binary.BigEndian.PutUint64(key[4:], uint64(id)) //nolint:gosec // a test id
			digest := uint64(id) * 0x9e3779b97f4a7c15       //nolint:gosec // a test id
			if change && changed(id) {
				digest++
			}
			if err := s.Add(key[:], digest, true); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Save(); err != nil {
			b.Fatal(err)
		}
	}
	inOrder := make([]int, rows)
	for id := range rows {
		inOrder[id] = id
	}
	staged := inOrder
	if moved {
		staged = make([]int, 0, rows)
		for _, id := range inOrder {
			if !changed(id) {
				staged = append(staged, id)
			}
		}
		for _, id := range inOrder {
			if changed(id) {
				staged = append(staged, id)
			}
		}
	}
	save("current", inOrder, false)
	save("staged", staged, true)
	b.ResetTimer()
	for range b.N {
		current, _ := rowdigest.Open(filepath.Join(dir, "current"))
		staged, _ := rowdigest.Open(filepath.Join(dir, "staged"))
		var d Diff
		if err := diffBuckets(context.Background(), current, staged, io.Discard, 1, &d); err != nil {
			b.Fatal(err)
		}
		current.Close()
		staged.Close()
		if d.Changed != rows/100 {
			b.Fatalf("%d changed", d.Changed)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
}
