package spool

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Verify checks that the file on disk is the one the extract wrote, so that
// a retried or resumed load never loads a truncated or replaced file.
func Verify(f File) error {
	fh, err := os.Open(f.Path)
	if err != nil {
		return fmt.Errorf("spool verify: %w", err)
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, fh)
	if err != nil {
		return fmt.Errorf("spool verify %s: %w", f.Path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != f.Bytes || got != f.SHA256 {
		return fmt.Errorf("spool verify %s: file has %d bytes with sha256 %s, the extract wrote %d bytes with sha256 %s", f.Path, n, got, f.Bytes, f.SHA256)
	}
	return nil
}

// Open returns a reader of the file's record batches, batchSize rows at a
// time, and a function that closes the file.
func Open(ctx context.Context, path string, batchSize int, mem memory.Allocator) (pqarrow.RecordReader, func() error, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, nil, fmt.Errorf("spool open %s: %w", path, err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: int64(batchSize)}, mem)
	if err != nil {
		_ = pf.Close()
		return nil, nil, fmt.Errorf("spool open %s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		_ = pf.Close()
		return nil, nil, fmt.Errorf("spool open %s: %w", path, err)
	}
	return rr, func() error { rr.Release(); return pf.Close() }, nil
}
