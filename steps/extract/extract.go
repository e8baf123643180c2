// Package extract reads an entity from its source database as a stream of
// Arrow record batches, inside a read-only transaction at one snapshot.
//
// Values arrive in PostgreSQL's binary format and are decoded straight into
// reused Arrow builders: no row is ever materialised as Go values, so the
// cost per row is a few byte-order conversions and memory is bounded by one
// batch.
package extract

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/pgbinary"
	"github.com/dfe-nightshift/nightshift/steps/reconcile"
)

// DefaultBatchSize is the number of rows per record batch: a few megabytes
// for the widest entity. Larger batches do not encode faster; they only
// make the garbage collector work harder (65,536-row batches took twice the
// CPU of 8,192-row ones for a million trainees).
const DefaultBatchSize = 8192

// Querier is what Stream needs of a source transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Options tune a Stream.
type Options struct {
	// BatchSize is rows per record batch (DefaultBatchSize when zero).
	BatchSize int
	Mem       memory.Allocator
	// Quarantine receives each row set aside: a row with a value no target
	// can hold exactly. The row is not emitted.
	Quarantine func(Quarantined) error
	// Query and Args replace the contract's extract query, for a query
	// derived from it (a backfill chunk).
	Query string
	Args  []any
}

// Stream runs the contract's extract query and hands each full batch to
// emit, which takes ownership of it and must Release it. It returns the
// number of rows emitted and their digest (reconcile.Digest), taken from
// the bytes the source sent.
func Stream(ctx context.Context, q Querier, c *schemas.Contract, opts Options, emit func(arrow.RecordBatch) error) (reconcile.Checksum, error) {
	batchSize := opts.BatchSize
	if batchSize <= 0 {
		batchSize = DefaultBatchSize
	}
	mem := opts.Mem
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	// Every column in binary, whatever pgx would prefer for its type: the
	// decoders read binary only.
	query := c.SelectSQL()
	if opts.Query != "" {
		query = opts.Query
	}
	rows, err := q.Query(ctx, query, append([]any{pgx.QueryResultFormats{pgx.BinaryFormatCode}}, opts.Args...)...)
	if err != nil {
		return reconcile.Checksum{}, fmt.Errorf("extract %s: query: %w", c.Entity, err)
	}
	defer rows.Close()

	fields := c.Fields()
	if len(rows.FieldDescriptions()) == 0 {
		// pgx reports a query the server refused (a revoked grant, a
		// missing column, a lost connection) only when the rows are read:
		// surface the server's error, with its SQLSTATE, rather than the
		// empty column list it leaves behind.
		rows.Close()
		if err := rows.Err(); err != nil {
			return reconcile.Checksum{}, fmt.Errorf("extract %s: query: %w", c.Entity, err)
		}
	}
	decoders, err := checkWire(fields, rows.FieldDescriptions())
	if err != nil {
		return reconcile.Checksum{}, pipeline.MarkPermanent(fmt.Errorf("extract %s: %w", c.Entity, err))
	}
	rb := newRowBuilder(c, decoders, batchSize, mem)
	if utf8Source(q) {
		rb.trustText()
	}
	defer rb.release()

	for rows.Next() {
		q, err := rb.add(rows.RawValues())
		if err != nil {
			return rb.digest.Checksum(), fmt.Errorf("extract %s: row %d: %w", c.Entity, rb.digest.Rows()+1, err)
		}
		if q != nil {
			if opts.Quarantine == nil {
				return rb.digest.Checksum(), fmt.Errorf("extract %s: row %s, column %s: %s: %s", c.Entity, q.Key, q.Column, q.Reason, q.Value)
			}
			if err := opts.Quarantine(*q); err != nil {
				return rb.digest.Checksum(), err
			}
			continue
		}
		if rb.full() {
			if err := emit(rb.flush()); err != nil {
				return rb.digest.Checksum(), err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return rb.digest.Checksum(), fmt.Errorf("extract %s: after %d rows: %w", c.Entity, rb.digest.Rows(), err)
	}
	if rb.pending > 0 {
		if err := emit(rb.flush()); err != nil {
			return rb.digest.Checksum(), err
		}
	}
	return rb.digest.Checksum(), nil
}

// rowBuilder turns binary rows into record batches with reused builders.
type rowBuilder struct {
	fields   []schemas.Column
	decoders []decoder
	checks   []check
	// required are the columns the warehouse declares NOT NULL: a NULL
	// there would fail the whole COPY, so its row is quarantined.
	required []int
	key      int
	rb       *array.RecordBuilder
	builders []array.Builder
	size     int
	pending  int
	// digest covers the rows added; row is the scratch space a row's
	// fields are gathered in to be digested.
	digest reconcile.Digest
	row    []byte
	// numeric lists the numeric columns: their bytes are digested in the
	// column's scale, as the warehouse COPY writes them, since the source
	// may send each value in its own.
	numeric []int
}

// check is a column whose values some target cannot hold.
type check struct {
	col   int
	valid validator
}

// firstReserve is how many rows the first batch's buffers are made for.
const firstReserve = 1024

func newRowBuilder(c *schemas.Contract, decoders []decoder, batchSize int, mem memory.Allocator) *rowBuilder {
	fields := c.Fields()
	b := &rowBuilder{fields: fields, decoders: decoders, size: batchSize, rb: array.NewRecordBuilder(mem, c.ArrowSchema())}
	for i, f := range fields {
		if v := validatorFor(f); v != nil {
			b.checks = append(b.checks, check{i, v})
		}
		if !f.Nullable {
			b.required = append(b.required, i)
		}
		if f.Type == schemas.Numeric {
			b.numeric = append(b.numeric, i)
		}
	}
	b.key = slices.IndexFunc(fields, func(f schemas.Column) bool { return f.Name == c.PrimaryKey[0] })
	b.builders = b.rb.Fields()
	// Most entities are small: a full batch's buffers for a table of a few
	// dozen rows cost more than reading it. The first batch grows as rows
	// come; once one batch has filled, the next ones are reserved whole.
	b.rb.Reserve(min(batchSize, firstReserve))
	return b
}

// add appends a row, or returns why it must be quarantined. Values that
// some target cannot hold are checked before any value of the row is
// appended, so that a quarantined row leaves no trace.
func (b *rowBuilder) add(raws [][]byte) (*Quarantined, error) {
	for _, i := range b.required {
		if raws[i] == nil {
			return b.quarantine(raws, i, "NULL", "NULL in a column the contract and the warehouse declare NOT NULL"), nil
		}
	}
	for _, ch := range b.checks {
		if raws[ch.col] == nil {
			continue
		}
		if reason, text := ch.valid(raws[ch.col]); reason != "" {
			return b.quarantine(raws, ch.col, text, reason), nil
		}
	}
	b.row = b.row[:0]
	for i, raw := range raws {
		if raw == nil {
			b.builders[i].AppendNull()
			b.row = binary.BigEndian.AppendUint32(b.row, 0xffffffff)
			continue
		}
		if err := b.decoders[i](b.builders[i], raw); err != nil {
			return nil, fmt.Errorf("column %s: %w", b.fields[i].Name, err)
		}
		if len(b.numeric) > 0 && slices.Contains(b.numeric, i) {
			// Decoded above, so it is a number the column holds exactly.
			n, _, _ := pgbinary.NumericToDecimal(raw, b.fields[i].Precision, b.fields[i].Scale)
			b.row = pgbinary.AppendNumeric(b.row, n, b.fields[i].Scale)
			continue
		}
		b.row = append(binary.BigEndian.AppendUint32(b.row, uint32(len(raw))), raw...)
	}
	b.digest.Add(b.row)
	b.pending++
	return nil, nil
}

// quarantine describes the row set aside because of column col. A
// personal value is not copied into the quarantine table: its digest is,
// enough to find it again in the source.
func (b *rowBuilder) quarantine(raws [][]byte, col int, text, reason string) *Quarantined {
	if b.fields[col].PII != schemas.PIINone && text != "NULL" {
		sum := sha256.Sum256([]byte(text))
		text = "sha256:" + hex.EncodeToString(sum[:8])
	}
	return &Quarantined{Key: rowKey(b.fields[b.key].Type, raws[b.key]), Column: b.fields[col].Name, Value: text, Reason: reason}
}

// trustText drops the UTF-8 checks of text: a source whose server encoding
// is UTF8 has checked every byte already, and checking again costs a tenth
// of the decode.
func (b *rowBuilder) trustText() {
	b.checks = slices.DeleteFunc(b.checks, func(ch check) bool {
		t := b.fields[ch.col].Type
		return t == schemas.Text || t == schemas.JSON
	})
}

// utf8Source says whether the source's server encoding is UTF8, as the
// server reported it when the connection started.
func utf8Source(q Querier) bool {
	tx, ok := q.(interface{ Conn() *pgx.Conn })
	if !ok || tx.Conn() == nil {
		return false
	}
	return tx.Conn().PgConn().ParameterStatus("server_encoding") == "UTF8"
}

func (b *rowBuilder) full() bool { return b.pending >= b.size }

// flush returns the batch built so far; the caller owns it. The next
// batch's string buffers are sized from this one's, so that they do not
// grow by doubling and copying row after row.
func (b *rowBuilder) flush() arrow.RecordBatch {
	filled := b.full()
	var sizes []int
	for _, bld := range b.builders {
		if sb, ok := bld.(*array.StringBuilder); ok {
			sizes = append(sizes, sb.DataLen())
		}
	}
	rec := b.rb.NewRecordBatch()
	b.pending = 0
	if !filled {
		// The last batch: no other follows.
		return rec
	}
	b.rb.Reserve(b.size)
	i := 0
	for _, bld := range b.builders {
		if sb, ok := bld.(*array.StringBuilder); ok {
			sb.ReserveData(sizes[i] + sizes[i]/8)
			i++
		}
	}
	return rec
}

func (b *rowBuilder) release() { b.rb.Release() }

// checkWire makes sure every column arrives in binary with the type its
// decoder expects. The extract query casts each column, so a mismatch is a
// bug in the contract or in the source, and is reported before any row.
func checkWire(cols []schemas.Column, fields []pgconn.FieldDescription) ([]decoder, error) {
	if len(fields) != len(cols) {
		return nil, fmt.Errorf("query returned %d columns, the contract has %d", len(fields), len(cols))
	}
	decoders := make([]decoder, len(fields))
	for i, f := range fields {
		col := cols[i]
		w := wireFor(col)
		if f.DataTypeOID != w.oid || f.Format != pgx.BinaryFormatCode {
			return nil, fmt.Errorf("column %s arrives as type OID %d in format %d, want OID %d in binary", col.Name, f.DataTypeOID, f.Format, w.oid)
		}
		decoders[i] = w.decode
	}
	return decoders, nil
}
