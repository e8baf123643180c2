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
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// DefaultBatchSize is the number of rows per record batch, and so per
// Parquet row group: large enough for efficient columnar encoding, small
// enough to keep a wide entity's batch in a few tens of megabytes.
const DefaultBatchSize = 65536

// Querier is what Stream needs of a source transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Stream runs the contract's extract query and hands each full batch to
// emit, which takes ownership of it and must Release it. It returns the
// number of rows read.
func Stream(ctx context.Context, q Querier, c *schemas.Contract, batchSize int, mem memory.Allocator, emit func(arrow.RecordBatch) error) (int64, error) {
	if batchSize <= 0 {
		batchSize = DefaultBatchSize
	}
	// Every column in binary, whatever pgx would prefer for its type: the
	// decoders read binary only.
	rows, err := q.Query(ctx, c.SelectSQL(), pgx.QueryResultFormats{pgx.BinaryFormatCode})
	if err != nil {
		return 0, fmt.Errorf("extract %s: query: %w", c.Entity, err)
	}
	defer rows.Close()

	fields := c.Fields()
	decoders, err := checkWire(fields, rows.FieldDescriptions())
	if err != nil {
		return 0, fmt.Errorf("extract %s: %w", c.Entity, err)
	}

	rb := array.NewRecordBuilder(mem, c.ArrowSchema())
	defer rb.Release()
	builders := rb.Fields()
	rb.Reserve(batchSize)

	var total int64
	pending := 0
	flush := func() error {
		rec := rb.NewRecordBatch()
		pending = 0
		return emit(rec)
	}
	for rows.Next() {
		for i, raw := range rows.RawValues() {
			if raw == nil {
				builders[i].AppendNull()
				continue
			}
			if err := decoders[i](builders[i], raw); err != nil {
				return total, fmt.Errorf("extract %s: row %d, column %s: %w", c.Entity, total+1, fields[i].Name, err)
			}
		}
		total++
		pending++
		if pending == batchSize {
			if err := flush(); err != nil {
				return total, err
			}
			rb.Reserve(batchSize)
		}
	}
	if err := rows.Err(); err != nil {
		return total, fmt.Errorf("extract %s: after %d rows: %w", c.Entity, total, err)
	}
	if pending > 0 {
		if err := flush(); err != nil {
			return total, err
		}
	}
	return total, nil
}

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
		w := wireFor(col.Type)
		if f.DataTypeOID != w.oid || f.Format != pgx.BinaryFormatCode {
			return nil, fmt.Errorf("column %s arrives as type OID %d in format %d, want OID %d in binary", col.Name, f.DataTypeOID, f.Format, w.oid)
		}
		decoders[i] = w.decode
	}
	return decoders, nil
}
