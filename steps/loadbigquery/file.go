package loadbigquery

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/extensions"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/spool"
)

// loadFile writes the file BigQuery loads, from the entity's spool file:
// PII columns hashed or left out as the policy says, and JSON columns
// marked with Parquet's JSON logical type so that they land as JSON. The
// spool itself keeps every value for the warehouse.
func loadFile(ctx context.Context, src spool.File, dst string, c *schemas.Contract, pii PIIPolicy, key []byte, batchSize int, mem memory.Allocator) (spool.File, error) {
	cols := columns(c, pii)
	fields := make([]arrow.Field, len(cols))
	jsonType, err := extensions.NewJSONType(arrow.BinaryTypes.String)
	if err != nil {
		return spool.File{}, err
	}
	for i, col := range cols {
		fields[i] = arrow.Field{Name: col.Name, Type: col.ArrowType(), Nullable: col.Nullable}
		switch {
		case col.hashed:
			fields[i].Type = arrow.BinaryTypes.String
		case col.Type == schemas.JSON:
			fields[i].Type = jsonType
		}
	}
	schema := arrow.NewSchema(fields, nil)

	rr, closeSrc, err := spool.Open(ctx, src.Path, batchSize, mem)
	if err != nil {
		return spool.File{}, err
	}
	defer func() { _ = closeSrc() }()
	w, err := spool.CreateFile(dst, schema, nil, mem)
	if err != nil {
		return spool.File{}, err
	}
	index := map[string]int{}
	for i, f := range rr.Schema().Fields() {
		index[f.Name] = i
	}
	mac := hmac.New(sha256.New, key)
	for rr.Next() {
		in := rr.RecordBatch()
		out := make([]arrow.Array, len(cols))
		for i, col := range cols {
			arr := in.Column(index[col.Name])
			switch {
			case col.hashed:
				out[i] = hashColumn(arr, mac, mem)
			case col.Type == schemas.JSON:
				out[i] = array.NewExtensionArrayWithStorage(jsonType, arr)
			default:
				arr.Retain()
				out[i] = arr
			}
		}
		rec := array.NewRecordBatch(schema, out, in.NumRows())
		for _, a := range out {
			a.Release()
		}
		err := w.Write(rec)
		rec.Release()
		if err != nil {
			w.Abort()
			return spool.File{}, err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		w.Abort()
		return spool.File{}, fmt.Errorf("read spool %s: %w", src.Path, err)
	}
	return w.Close()
}

// hashColumn replaces every value by the hex HMAC-SHA256 of its text.
func hashColumn(arr arrow.Array, mac hash.Hash, mem memory.Allocator) arrow.Array {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.Reserve(arr.Len())
	var text, sum []byte
	var hexed [64]byte
	for i := 0; i < arr.Len(); i++ {
		if arr.IsNull(i) {
			b.AppendNull()
			continue
		}
		text = valueText(text[:0], arr, i)
		mac.Reset()
		mac.Write(text)
		sum = mac.Sum(sum[:0])
		hex.Encode(hexed[:], sum)
		b.BinaryBuilder.Append(hexed[:])
	}
	return b.NewArray()
}

// valueText is the text a value is hashed as: the same as PostgreSQL
// prints it, so that a hash can be recomputed from the warehouse.
func valueText(buf []byte, arr arrow.Array, i int) []byte {
	switch a := arr.(type) {
	case *array.String:
		return append(buf, a.Value(i)...)
	case *array.Date32:
		return a.Value(i).ToTime().AppendFormat(buf, "2006-01-02")
	case *array.Timestamp:
		return time.UnixMicro(int64(a.Value(i))).UTC().AppendFormat(buf, "2006-01-02 15:04:05.999999")
	case *array.Int16:
		return strconv.AppendInt(buf, int64(a.Value(i)), 10)
	case *array.Int32:
		return strconv.AppendInt(buf, int64(a.Value(i)), 10)
	case *array.Int64:
		return strconv.AppendInt(buf, a.Value(i), 10)
	}
	return append(buf, arr.ValueStr(i)...)
}
