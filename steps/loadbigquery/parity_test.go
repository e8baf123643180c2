package loadbigquery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/steps/spool"
)

// The withheld statuses are left out wherever they fall in a batch (first,
// last, a run of them, a whole batch), and every other row is kept, in
// order.
func TestWithoutStatusesLeavesOutExactlyTheWithheld(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "entity_type", Type: arrow.BinaryTypes.String},
		{Name: "entity_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "status", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	dir := t.TempDir()
	w, err := spool.CreateFile(filepath.Join(dir, "statuses.parquet"), schema, []string{"entity_type", "status"}, mem)
	require.NoError(t, err)
	b := array.NewRecordBuilder(mem, schema)
	for id := int64(1); id <= 20; id++ {
		typ := "trainee"
		if id%2 == 0 {
			typ = "declaration_payment"
		}
		b.Field(0).(*array.StringBuilder).Append(typ)
		b.Field(1).(*array.Int64Builder).Append(id)
		b.Field(2).(*array.StringBuilder).Append(fmt.Sprint("s", id))
	}
	rec := b.NewRecordBatch()
	b.Release()
	require.NoError(t, w.Write(rec))
	rec.Release()
	src, err := w.Close()
	require.NoError(t, err)

	// Read 4 rows at a time: 1 starts a batch, 4 ends one, 5-8 are a whole
	// one, 10 and 11 a run; 3 is withheld under another type, so kept.
	withheld := map[string]bool{"trainee/1": true, "declaration_payment/4": true, "trainee/5": true, "declaration_payment/6": true,
		"trainee/7": true, "declaration_payment/8": true, "declaration_payment/10": true, "trainee/11": true, "declaration_payment/3": true, "trainee/99": true}
	out, left, err := WithoutStatuses(ctx, src, filepath.Join(dir, "statuses.withheld.parquet"), withheld, []string{"entity_type", "status"}, 4, mem)
	require.NoError(t, err)
	require.EqualValues(t, 8, left)
	require.EqualValues(t, 12, out.Rows)
	rr, closeFile, err := spool.Open(ctx, out.Path, 100, mem)
	require.NoError(t, err)
	defer func() { require.NoError(t, closeFile()) }()
	var kept []string
	for rr.Next() {
		r := rr.RecordBatch()
		for i := 0; i < int(r.NumRows()); i++ {
			kept = append(kept, fmt.Sprint(r.Column(0).ValueStr(i), "/", r.Column(1).(*array.Int64).Value(i), "=", r.Column(2).ValueStr(i)))
		}
	}
	if err := rr.Err(); !errors.Is(err, io.EOF) {
		require.NoError(t, err)
	}
	require.Equal(t, []string{"declaration_payment/2=s2", "trainee/3=s3", "trainee/9=s9", "declaration_payment/12=s12", "trainee/13=s13",
		"declaration_payment/14=s14", "trainee/15=s15", "declaration_payment/16=s16", "trainee/17=s17", "declaration_payment/18=s18",
		"trainee/19=s19", "declaration_payment/20=s20"}, kept)
}

// BigQuery's status_history is made of the migration's columns, with the
// migration's descriptions: a column added there and not here fails.
func TestHistoryMirrorIsTheMigrationsTable(t *testing.T) {
	t.Parallel()
	ms, err := mirrors("reporting")
	require.NoError(t, err)
	require.Equal(t, []string{HistoryTable, QuarantineTable, FreshnessTable}, []string{ms[0].table, ms[1].table, ms[2].table})
	h := ms[0]
	require.Len(t, h.schema, 10)
	for _, f := range h.schema {
		require.NotEmpty(t, f.Description, f.Name)
	}
	require.Contains(t, h.query, `FROM "reporting"."status_history"`)
	for _, m := range ms {
		_, err := arrowSchema(m.schema)
		require.NoError(t, err, m.table)
		for _, col := range m.shape(PIIDrop).cols {
			require.False(t, col.hashed, "%s.%s", m.table, col.Name)
		}
		require.Len(t, m.shape(PIIDrop).cols, len(m.schema), "%s: nothing personal, nothing dropped", m.table)
	}
}
