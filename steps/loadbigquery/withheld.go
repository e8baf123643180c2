package loadbigquery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dfe-nightshift/nightshift/steps/spool"
)

// WithoutStatuses writes dst, a copy of a statuses entity's spool file
// without the statuses whose key ("<entity_type>/<entity_id>", as the
// warehouse's publish records them in nightshift.quarantine) is in
// withheld, and returns it with the rows it left out. The publish leaves
// those statuses out of the warehouse's table because the rows they
// describe are quarantined; BigQuery's table, loaded from the spool file,
// must leave out the same, so this copy is what its load reads. The spool
// file itself is not changed: it is what the extract read.
func WithoutStatuses(ctx context.Context, src spool.File, dst string, withheld map[string]bool, dictionary []string, batchSize int, mem memory.Allocator) (spool.File, int64, error) {
	rr, closeSrc, err := spool.Open(ctx, src.Path, batchSize, mem)
	if err != nil {
		return spool.File{}, 0, err
	}
	defer func() { _ = closeSrc() }()
	types, ids := rr.Schema().FieldIndices("entity_type"), rr.Schema().FieldIndices("entity_id")
	if len(types) != 1 || len(ids) != 1 {
		return spool.File{}, 0, fmt.Errorf("spool %s: a statuses file has entity_type and entity_id", src.Path)
	}
	w, err := spool.CreateFile(dst, rr.Schema(), dictionary, mem)
	if err != nil {
		return spool.File{}, 0, err
	}
	var left int64
	for rr.Next() {
		rec := rr.RecordBatch()
		id, ok := rec.Column(ids[0]).(*array.Int64)
		if !ok {
			w.Abort()
			return spool.File{}, 0, fmt.Errorf("spool %s: entity_id is %s, not int64", src.Path, rec.Column(ids[0]).DataType())
		}
		typ := rec.Column(types[0])
		// Kept rows are written in runs, slices of the batch: withheld
		// rows are few.
		start := 0
		flush := func(end int) error {
			if end <= start {
				return nil
			}
			slice := rec.NewSlice(int64(start), int64(end))
			defer slice.Release()
			return w.Write(slice)
		}
		var werr error
		for i := 0; i < int(rec.NumRows()) && werr == nil; i++ {
			if typ.IsNull(i) || id.IsNull(i) || !withheld[typ.ValueStr(i)+"/"+strconv.FormatInt(id.Value(i), 10)] {
				continue
			}
			werr = flush(i)
			start = i + 1
			left++
		}
		if werr == nil {
			werr = flush(int(rec.NumRows()))
		}
		if werr != nil {
			w.Abort()
			return spool.File{}, 0, werr
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		w.Abort()
		return spool.File{}, 0, fmt.Errorf("read spool %s: %w", src.Path, err)
	}
	out, err := w.Close()
	return out, left, err
}
