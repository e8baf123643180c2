package steps

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"golang.org/x/sync/errgroup"

	"github.com/dfe-nightshift/nightshift/schemas"
	"github.com/dfe-nightshift/nightshift/steps/extract"
	"github.com/dfe-nightshift/nightshift/steps/loadwarehouse"
	"github.com/dfe-nightshift/nightshift/steps/reconcile"
	"github.com/dfe-nightshift/nightshift/steps/spool"
)

// streamed is what one read of the source produced.
type streamed struct {
	file spool.File
	// source is the digest of the rows read, staged that of the rows
	// copied into the staging table; the load compares them.
	source, staged reconcile.Checksum
	quarantined    []extract.Quarantined
}

// spoolQueue is how many batches may wait for the Parquet writer.
const spoolQueue = 2

// stream reads the source once and sends every batch two ways: into the
// spool file, which BigQuery and any retried load read, and straight into
// the warehouse staging table, so that the warehouse loads while the
// source is read instead of after. Reading and decoding, Parquet encoding
// and COPY encoding each run in their own goroutine; memory is bounded by
// the batches queued between them. On error the spool file and the staging
// table are thrown away.
func stream(ctx context.Context, q extract.Querier, c *schemas.Contract, opts extract.Options, w *spool.Writer, st *loadwarehouse.Stage) (streamed, error) {
	var out streamed
	opts.Quarantine = func(q extract.Quarantined) error {
		out.quarantined = append(out.quarantined, q)
		return nil
	}
	toSpool := make(chan arrow.RecordBatch, spoolQueue)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(toSpool)
		var err error
		out.source, err = extract.Stream(gctx, q, c, opts, func(rec arrow.RecordBatch) error {
			rec.Retain() // one reference each for the COPY and the spool
			if err := st.Write(gctx, rec); err != nil {
				rec.Release()
				return err
			}
			select {
			case toSpool <- rec:
				return nil
			case <-gctx.Done():
				rec.Release()
				return gctx.Err()
			}
		})
		return err
	})
	g.Go(func() error {
		for rec := range toSpool {
			err := w.Write(rec)
			rec.Release()
			if err != nil {
				return err
			}
		}
		return nil
	})
	err := g.Wait()
	for rec := range toSpool { // what a failed writer left
		rec.Release()
	}
	if err != nil {
		w.Abort()
		st.Abort(ctx)
		return streamed{}, err
	}
	if out.file, err = w.Close(); err != nil {
		st.Abort(ctx)
		return streamed{}, err
	}
	if out.staged, err = st.Close(ctx); err != nil {
		return streamed{}, err
	}
	return out, nil
}
