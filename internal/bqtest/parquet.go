package bqtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/big"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	bq "google.golang.org/api/bigquery/v2"
)

// Date is a DATE value, YYYY-MM-DD.
type Date string

// decodeParquet reads every row of a Parquet file as the columns of schema
// would hold them: int64, float64, bool, string (STRING and JSON), Date,
// time.Time (TIMESTAMP, UTC, microseconds), *big.Rat (NUMERIC,
// BIGNUMERIC), []any (REPEATED), nil (NULL). A column of the wrong type, or
// a NULL in a REQUIRED column, fails the load as BigQuery would. A DECIMAL
// column converts to the first of NUMERIC, BIGNUMERIC and STRING that is
// in decimalTargets (the load's decimalTargetTypes) and holds its
// precision and scale, and its values are stored as BigQuery stores them:
// rounded to the field's scale, refused beyond its precision (decimal.go).
func decodeParquet(data []byte, schema *bq.TableSchema, decimalTargets []string) ([]map[string]any, error) {
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		return nil, invalid("Error while reading data: not a Parquet file: %v", err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 4096}, memory.DefaultAllocator)
	if err != nil {
		return nil, invalid("Error while reading data: %v", err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return nil, invalid("Error while reading data: %v", err)
	}
	defer rr.Release()

	index := map[string]int{}
	for i, f := range rr.Schema().Fields() {
		index[f.Name] = i
	}
	for _, f := range schema.Fields {
		i, ok := index[f.Name]
		if !ok {
			if f.Mode == "REQUIRED" {
				return nil, invalid("Required field %s is missing from the file", f.Name)
			}
			continue
		}
		if !compatible(rr.Schema().Field(i).Type, f, decimalTargets) {
			return nil, invalid("Provided schema is not compatible with the file: field %s has Parquet type %s, not %s", f.Name, rr.Schema().Field(i).Type, f.Type)
		}
	}
	var rows []map[string]any
	for rr.Next() {
		rec := rr.RecordBatch()
		for r := 0; r < int(rec.NumRows()); r++ {
			row := map[string]any{}
			for _, f := range schema.Fields {
				i, ok := index[f.Name]
				if !ok {
					row[f.Name] = nil
					continue
				}
				v := value(rec.Column(i), r)
				if v == nil && f.Mode == "REQUIRED" {
					return nil, invalid("Required field %s cannot be null", f.Name)
				}
				if d, ok := v.(*big.Rat); ok {
					if v, err = storeDecimal(d, rec.Column(i).DataType(), f, decimalTargets); err != nil {
						return nil, err
					}
				}
				row[f.Name] = v
			}
			rows = append(rows, row)
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, invalid("Error while reading data: %v", err)
	}
	return rows, nil
}

func compatible(t arrow.DataType, f *bq.TableFieldSchema, decimalTargets []string) bool {
	if f.Mode == "REPEATED" {
		l, ok := t.(*arrow.ListType)
		return ok && compatible(l.Elem(), &bq.TableFieldSchema{Type: f.Type}, decimalTargets)
	}
	if d, ok := t.(arrow.DecimalType); ok {
		return decimalFits(decimalTarget(int(d.GetPrecision()), int(d.GetScale()), decimalTargets), f.Type)
	}
	if ext, ok := t.(arrow.ExtensionType); ok {
		return ext.ExtensionName() == "arrow.json" && f.Type == "JSON"
	}
	switch f.Type {
	case "INTEGER", "INT64":
		return t.ID() == arrow.INT64 || t.ID() == arrow.INT32 || t.ID() == arrow.INT16
	case "FLOAT", "FLOAT64":
		return t.ID() == arrow.FLOAT64 || t.ID() == arrow.FLOAT32
	case "BOOLEAN", "BOOL":
		return t.ID() == arrow.BOOL
	case "STRING":
		return t.ID() == arrow.STRING
	case "JSON":
		// Parquet's JSON logical type reads back as binary.
		return t.ID() == arrow.STRING || t.ID() == arrow.BINARY
	case "DATE":
		return t.ID() == arrow.DATE32
	case "TIMESTAMP":
		ts, ok := t.(*arrow.TimestampType)
		return ok && ts.TimeZone != ""
	case "DATETIME":
		ts, ok := t.(*arrow.TimestampType)
		return ok && ts.TimeZone == ""
	}
	return false
}

func value(col arrow.Array, i int) any {
	if col.IsNull(i) {
		return nil
	}
	switch a := col.(type) {
	case *array.Int64:
		return a.Value(i)
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int16:
		return int64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Binary:
		return string(a.Value(i))
	case *array.Date32:
		return Date(a.Value(i).ToTime().Format("2006-01-02"))
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit).UTC()
	case *array.Decimal32, *array.Decimal64, *array.Decimal128, *array.Decimal256:
		return decimalValue(col, i)
	case *array.List:
		start, end := a.ValueOffsets(i)
		out := []any{}
		for j := start; j < end; j++ {
			out = append(out, value(a.ListValues(), int(j)))
		}
		return out
	case array.ExtensionArray:
		return value(a.Storage(), i)
	}
	return col.ValueStr(i)
}
