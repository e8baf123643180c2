// Package pqtest reads Parquet files for tests with arrow-go alone, so that
// what a test checks in a spool file does not depend on the code that wrote
// it.
package pqtest

import (
	"context"
	"os"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// Decimal is a DECIMAL column of a Parquet file.
type Decimal struct {
	// Precision and Scale are the column's logical type, DECIMAL(p,s).
	Precision, Scale int
	// Values are the column's values by the row's key: the exact decimal
	// written at Scale places, or "" for NULL.
	Values map[int64]string
}

// Decimals reads the named columns of the Parquet file at path, each of
// which must have the DECIMAL logical type, keyed by the int64 column key.
func Decimals(t testing.TB, path, key string, columns ...string) map[string]Decimal {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("pqtest: %v", err)
	}
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatalf("pqtest: %s: %v", path, err)
	}
	defer pf.Close()
	out := map[string]Decimal{}
	scales := map[string]int32{}
	sc := pf.MetaData().Schema
	for _, name := range columns {
		i := sc.ColumnIndexByName(name)
		if i < 0 {
			t.Fatalf("pqtest: %s has no column %s", path, name)
		}
		dec, ok := sc.Column(i).LogicalType().(schema.DecimalLogicalType)
		if !ok {
			t.Fatalf("pqtest: %s: column %s is %s, not a DECIMAL", path, name, sc.Column(i).LogicalType())
		}
		out[name] = Decimal{Precision: int(dec.Precision()), Scale: int(dec.Scale()), Values: map[int64]string{}}
		scales[name] = dec.Scale()
	}

	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 4096}, memory.DefaultAllocator)
	if err != nil {
		t.Fatalf("pqtest: %s: %v", path, err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("pqtest: %s: %v", path, err)
	}
	defer tbl.Release()
	tr := array.NewTableReader(tbl, 4096)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		ids, ok := column(t, rec, key).(*array.Int64)
		if !ok {
			t.Fatalf("pqtest: %s: key %s is not int64", path, key)
		}
		for _, name := range columns {
			col := column(t, rec, name)
			for r := 0; r < int(rec.NumRows()); r++ {
				out[name].Values[ids.Value(r)] = decimalText(t, col, r, scales[name])
			}
		}
	}
	return out
}

func column(t testing.TB, rec arrow.RecordBatch, name string) arrow.Array {
	t.Helper()
	i := rec.Schema().FieldIndices(name)
	if len(i) != 1 {
		t.Fatalf("pqtest: no single column %s", name)
	}
	return rec.Column(i[0])
}

func decimalText(t testing.TB, col arrow.Array, r int, scale int32) string {
	t.Helper()
	if col.IsNull(r) {
		return ""
	}
	switch a := col.(type) {
	case *array.Decimal128:
		return a.Value(r).ToString(scale)
	case *array.Decimal256:
		return a.Value(r).ToString(scale)
	}
	t.Fatalf("pqtest: column of %s read as %T", col.DataType(), col)
	return ""
}
