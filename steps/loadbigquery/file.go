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

	"cloud.google.com/go/bigquery"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/extensions"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/spool"
)

// upload is a file bound for BigQuery and the schema that declares it.
// prepare is the one maker of uploads, and applies the PII policy to every
// column as it writes the file; a load job takes an upload (loadFrom),
// never a path, so it can only send what the policy has seen. The spool
// file itself keeps every value, for the warehouse.
// TestOnlyPrepareMakesWhatLeavesForBigQuery holds the module to it.
type upload struct {
	spool.File
	schema bigquery.Schema
}

// uploadShape is what of an input leaves for BigQuery: its columns, each
// kept, hashed or left out under the policy (PIIPolicy.apply), and,
// for a day's partition of a history, the day, stamped as observed_on
// ahead of them. entityShape, dailyShape and classifiedShape make them.
type uploadShape struct {
	cols       []column
	observedOn *time.Time
}

// observedOnField leads every row of a <entity>_daily table.
var observedOnField = &bigquery.FieldSchema{Name: "observed_on", Type: bigquery.DateFieldType, Required: true,
	Description: "Day the statuses were observed (the run's snapshot, UTC); the table is partitioned by it."}

func entityShape(c *schemas.Contract, pii PIIPolicy) uploadShape {
	return uploadShape{cols: columns(c, pii)}
}

func dailyShape(c *schemas.Contract, pii PIIPolicy, day time.Time) uploadShape {
	return uploadShape{cols: columns(c, pii), observedOn: &day}
}

// classified is a BigQuery field of a table nightshift fills without a
// contract (the run ledger), with how personal its values are: the policy
// needs both, as it does of a contract's columns.
type classified struct {
	field *bigquery.FieldSchema
	pii   schemas.PII
}

// classifiedShape is what of such a table leaves under the policy.
func classifiedShape(fields []classified, pii PIIPolicy) uploadShape {
	var s uploadShape
	for _, c := range fields {
		if f, hashed := pii.apply(c.field, c.pii); f != nil {
			s.cols = append(s.cols, column{Column: schemas.Column{Name: f.Name, PII: c.pii}, hashed: hashed, field: f})
		}
	}
	return s
}

// schema is the BigQuery schema of the file the shape gives.
func (s uploadShape) schema() bigquery.Schema {
	var out bigquery.Schema
	if s.observedOn != nil {
		out = append(out, observedOnField)
	}
	for _, col := range s.cols {
		out = append(out, col.field)
	}
	return out
}

// loadFile writes the file BigQuery loads for an entity, from its spool
// file.
func loadFile(ctx context.Context, src spool.File, dst string, c *schemas.Contract, pii PIIPolicy, key []byte, batchSize int, mem memory.Allocator) (upload, error) {
	return prepareSpool(ctx, src, dst, entityShape(c, pii), key, batchSize, mem)
}

// prepareSpool is prepare from a spool file.
func prepareSpool(ctx context.Context, src spool.File, dst string, shape uploadShape, key []byte, batchSize int, mem memory.Allocator) (upload, error) {
	rr, closeSrc, err := spool.Open(ctx, src.Path, batchSize, mem)
	if err != nil {
		return upload{}, err
	}
	defer func() { _ = closeSrc() }()
	u, err := prepare(rr, dst, shape, key, mem)
	if err != nil {
		return upload{}, fmt.Errorf("spool %s: %w", src.Path, err)
	}
	return u, nil
}

// prepare writes dst, the file BigQuery gets, from the rows of src as shape
// says: personal columns hashed (HMAC-SHA256 with key, in hex) or left
// out, and so the personal keys of a JSON column whose keys the contract
// classifies (keys.go), JSON columns marked with Parquet's JSON logical type so that they
// land as JSON, and observed_on first for a day's partition — added here,
// to what the policy let through, never to the input. It is the only way
// to an upload, and so to a load job.
func prepare(src array.RecordReader, dst string, shape uploadShape, key []byte, mem memory.Allocator) (upload, error) {
	jsonType, err := extensions.NewJSONType(arrow.BinaryTypes.String)
	if err != nil {
		return upload{}, err
	}
	index := map[string]int{}
	for i, f := range src.Schema().Fields() {
		index[f.Name] = i
	}
	var fields []arrow.Field
	if shape.observedOn != nil {
		fields = append(fields, arrow.Field{Name: observedOnField.Name, Type: arrow.FixedWidthTypes.Date32})
	}
	mac := hmac.New(sha256.New, key)
	inputs := make([]int, len(shape.cols))
	rewriters := make([]*keyRewriter, len(shape.cols))
	bys := make([]int, len(shape.cols))
	for i, col := range shape.cols {
		in, ok := index[col.Name]
		if !ok {
			return upload{}, pipeline.MarkPermanent(fmt.Errorf("column %s is not in the file", col.Name))
		}
		inputs[i], bys[i] = in, -1
		if col.keys != keyNone {
			if col.keys == keyHash && len(key) == 0 {
				return upload{}, pipeline.MarkPermanent(fmt.Errorf("column %s has keys to be hashed, and there is no key", col.Name))
			}
			rewriters[i] = newKeyRewriter(col.Keys, col.keys, mac)
			if col.Keys.By != "" {
				if bys[i], ok = index[col.Keys.By]; !ok {
					return upload{}, pipeline.MarkPermanent(fmt.Errorf("column %s, which classifies the keys of %s, is not in the file", col.Keys.By, col.Name))
				}
			}
		}
		f := arrow.Field{Name: col.Name, Type: src.Schema().Field(in).Type, Nullable: !col.field.Required}
		switch {
		case col.hashed:
			if len(key) == 0 {
				// An HMAC without a key is a plain hash anyone can
				// recompute from a guess: refuse rather than pseudonymise
				// in name only.
				return upload{}, pipeline.MarkPermanent(fmt.Errorf("column %s is to be hashed, and there is no key", col.Name))
			}
			f.Type = arrow.BinaryTypes.String
		case col.field.Type == bigquery.JSONFieldType && arrow.TypeEqual(f.Type, arrow.BinaryTypes.String):
			f.Type = jsonType
		}
		fields = append(fields, f)
	}
	schema := arrow.NewSchema(fields, nil)

	w, err := spool.CreateFile(dst, schema, nil, mem)
	if err != nil {
		return upload{}, err
	}
	for src.Next() {
		rec, err := shapeBatch(src.RecordBatch(), schema, shape, batchInputs{cols: inputs, bys: bys, rewriters: rewriters}, mac, mem)
		if err == nil {
			err = w.Write(rec)
			rec.Release()
		}
		if err != nil {
			w.Abort()
			return upload{}, err
		}
	}
	if err := src.Err(); err != nil && !errors.Is(err, io.EOF) {
		w.Abort()
		return upload{}, fmt.Errorf("read: %w", err)
	}
	file, err := w.Close()
	if err != nil {
		return upload{}, err
	}
	return upload{File: file, schema: shape.schema()}, nil
}

// batchInputs says where each column of the shape comes from: its input
// column, and for a column whose JSON keys are classified, the input
// column that says whose (-1: none) and the rewriter of its keys.
type batchInputs struct {
	cols, bys []int
	rewriters []*keyRewriter
}

// shapeBatch is one batch of the input as it leaves: see prepare.
func shapeBatch(in arrow.RecordBatch, schema *arrow.Schema, shape uploadShape, inputs batchInputs, mac hash.Hash, mem memory.Allocator) (arrow.RecordBatch, error) {
	out := make([]arrow.Array, 0, schema.NumFields())
	defer func() {
		for _, a := range out {
			a.Release()
		}
	}()
	if shape.observedOn != nil {
		day := arrow.Date32FromTime(*shape.observedOn)
		b := array.NewDate32Builder(mem)
		for range in.NumRows() {
			b.Append(day)
		}
		out = append(out, b.NewArray())
		b.Release()
	}
	for i, col := range shape.cols {
		arr := in.Column(inputs.cols[i])
		if w := inputs.rewriters[i]; w != nil && !col.hashed {
			var by arrow.Array
			if inputs.bys[i] >= 0 {
				by = in.Column(inputs.bys[i])
			}
			rewritten, err := w.rewrite(arr, by, mem)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", col.Name, err)
			}
			defer rewritten.Release()
			arr = rewritten
		}
		switch want := schema.Field(len(out)).Type; {
		case col.hashed:
			out = append(out, hashColumn(arr, mac, mem))
		case !arrow.TypeEqual(want, arr.DataType()):
			if _, ok := want.(*extensions.JSONType); !ok {
				return nil, fmt.Errorf("column %s is %s in the input, not %s", col.Name, arr.DataType(), want)
			}
			out = append(out, array.NewExtensionArrayWithStorage(want.(arrow.ExtensionType), arr))
		default:
			arr.Retain()
			out = append(out, arr)
		}
	}
	return array.NewRecordBatch(schema, out, in.NumRows()), nil
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
